"""The market simulator: wire shapes, book consistency, determinism, realism, `gabagool sim`."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import zstandard
from gabagool import _core
from gabagool.cli import main
from gabagool.recording import read_recording, read_sources
from gabagool.sim import (
    DEFAULT_START,
    TWAP_SECONDS,
    UnderlyingPath,
    WindowSimulator,
    run_frames,
    simulate,
)
from gabagool.types import WINDOW_SECONDS

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
SEEDS = range(6)
HASH = re.compile(r"[0-9a-f]{40}")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@cache
def window(seed: int, asset: str = "btc") -> tuple[WindowSimulator, tuple[tuple[int, str], ...]]:
    sim = WindowSimulator(asset, DEFAULT_START, seed)
    return sim, tuple(sim.frames())


def messages(text: str) -> list[dict[str, Any]]:
    decoded = json.loads(text)
    return decoded if isinstance(decoded, list) else [decoded]


class PlainBook:
    """A reference book: price text -> size, compared as exact decimals."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def snapshot(self, book: dict[str, Any]) -> None:
        self.bids = {Decimal(lv["price"]): Decimal(lv["size"]) for lv in book["bids"]}
        self.asks = {Decimal(lv["price"]): Decimal(lv["size"]) for lv in book["asks"]}

    def set(self, side: str, price: str, size: str) -> None:
        levels = self.bids if side == "BUY" else self.asks
        if Decimal(size) == 0:
            levels.pop(Decimal(price), None)
        else:
            levels[Decimal(price)] = Decimal(size)

    @property
    def best_bid(self) -> Decimal:
        return max(self.bids)

    @property
    def best_ask(self) -> Decimal:
        return min(self.asks)


class Replay:
    """Both tokens' books and the tick, frame by frame, as a consumer would keep them."""

    def __init__(self, sim: WindowSimulator) -> None:
        self.sim = sim
        self.books = {sim.up_token: PlainBook(), sim.down_token: PlainBook()}
        self.tick = Decimal(sim.header.tick_size)

    @property
    def up(self) -> PlainBook:
        return self.books[self.sim.up_token]

    @property
    def down(self) -> PlainBook:
        return self.books[self.sim.down_token]

    def apply(self, message: dict[str, Any]) -> None:
        kind = message["event_type"]
        if kind == "book":
            self.books[message["asset_id"]].snapshot(message)
        elif kind == "price_change":
            for change in message["price_changes"]:
                book = self.books[change["asset_id"]]
                book.set(change["side"], change["price"], change["size"])
        elif kind == "tick_size_change":
            self.tick = Decimal(message["new_tick_size"])


def replayed(seed: int) -> list[tuple[dict[str, Any], Replay]]:
    """Every message of a window with the replay state after it (a shared, mutated Replay)."""
    sim, frames = window(seed)
    replay = Replay(sim)
    out = []
    for _, text in frames:
        for message in messages(text):
            replay.apply(message)
            out.append((message, replay))
    return out


def up_tops(seed: int) -> list[tuple[Decimal, Decimal]]:
    """(best bid, best ask) of Up after each price_change frame."""
    sim, frames = window(seed)
    replay = Replay(sim)
    tops = []
    for _, text in frames:
        for message in messages(text):
            replay.apply(message)
            if message["event_type"] == "price_change":
                tops.append((replay.up.best_bid, replay.up.best_ask))
    return tops


# ---- determinism and time --------------------------------------------------------------


def test_same_seed_gives_the_same_frames_and_a_rerun_repeats_them() -> None:
    first = WindowSimulator("btc", DEFAULT_START, 7)
    second = WindowSimulator("btc", DEFAULT_START, 7)
    frames = list(first.frames())
    assert frames == list(second.frames())
    assert frames == list(first.frames())
    assert first.header == second.header


def test_different_seeds_give_different_windows() -> None:
    (a, frames_a), (b, frames_b) = window(0), window(1)
    assert a.up_token != b.up_token and a.header.condition_id != b.header.condition_id
    assert frames_a != frames_b


def test_frames_run_in_time_order_from_the_window_start_to_its_end() -> None:
    for seed in SEEDS:
        sim, frames = window(seed)
        times = [t for t, _ in frames]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert sim.start * 10**9 <= times[0] and times[-1] <= sim.end * 10**9
        stamps = [int(m["timestamp"]) for _, text in frames for m in messages(text)]
        assert stamps == sorted(stamps)
        assert sim.start * 1000 <= stamps[0] and stamps[-1] <= sim.end * 1000
        # each frame is received after the exchange stamped it
        for t, text in frames:
            assert all(int(m["timestamp"]) * 10**6 <= t for m in messages(text))


# ---- the header ------------------------------------------------------------------------


def test_header_describes_the_window_like_the_exchange() -> None:
    sim = WindowSimulator("eth", DEFAULT_START + 900, 3)
    header = sim.header
    assert header.asset == "eth" and header.slug == f"eth-updown-15m-{DEFAULT_START + 900}"
    assert header.end - header.start == WINDOW_SECONDS
    assert re.fullmatch(r"0x[0-9a-f]{64}", header.condition_id)
    for token in (header.up_token, header.down_token):
        assert re.fullmatch(r"[1-9][0-9]{76}", token)
    assert header.up_token != header.down_token
    assert (header.tick_size, header.min_order_size) == ("0.01", "5")
    fees = header.fee_schedule
    assert (fees.rate, fees.exponent, fees.taker_only, fees.rebate_rate) == (
        "0.072",
        1,
        True,
        "0.2",
    )


def test_bad_inputs_are_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="unknown asset 'doge'"):
        WindowSimulator("doge", DEFAULT_START, 0)
    with pytest.raises(ValueError, match="window start 1767225601"):
        WindowSimulator("btc", DEFAULT_START + 1, 0)
    with pytest.raises(ValueError, match="window count -1"):
        list(simulate("btc", -1, 0))
    with pytest.raises(ValueError, match="unknown asset 'doge'"):
        list(simulate("doge", 1, 0))


def test_consecutive_windows_chain_and_start_at_a_fixed_default() -> None:
    sims = list(simulate("sol", 3, 5))
    assert [s.start for s in sims] == [DEFAULT_START + k * WINDOW_SECONDS for k in range(3)]
    for previous, following in zip(sims, sims[1:], strict=False):
        assert following.open_price == previous.close_price
    again = list(simulate("sol", 3, 5))
    assert [s.header for s in again] == [s.header for s in sims]
    later = list(simulate("sol", 1, 5, start=DEFAULT_START + 9000))
    assert later[0].start == DEFAULT_START + 9000


# ---- wire shapes -----------------------------------------------------------------------

KEYS = {
    "book": set(fixture("ws_book_snapshot_captured.json")),
    "price_change": set(fixture("ws_market_price_change_crossing_burst.json")[1]),
    "last_trade_price": set(fixture("ws_market_last_trade_msg.json")),
    "tick_size_change": set(fixture("ws_market_tick_size_msg.json")),
    "market_resolved": set(fixture("ws_market_resolved_msg.json")),
}
CHANGE_KEYS = set(fixture("ws_market_price_change_crossing_burst.json")[1]["price_changes"][0])


def assert_price(text: str, tick: Decimal) -> None:
    assert isinstance(text, str)
    micros = _core.parse_price(text)
    assert micros % int(tick * 1_000_000) == 0, f"price {text} off the {tick} tick"


def assert_size(text: str, positive: bool = True) -> None:
    assert isinstance(text, str)
    micros = _core.parse_size(text)
    assert micros % 10_000 == 0, f"size {text} has more than 2 decimals"
    assert micros > 0 or not positive


def test_every_frame_has_the_exchange_shape() -> None:
    for seed in SEEDS:
        sim, frames = window(seed)
        tokens = {sim.up_token, sim.down_token}
        tick = Decimal("0.01")
        for _, text in frames:
            for m in messages(text):
                kind = m["event_type"]
                assert set(m) == KEYS[kind], kind
                assert m["market"] == sim.header.condition_id
                assert m["timestamp"].isdigit() and len(m["timestamp"]) == 13
                if kind == "book":
                    assert m["asset_id"] in tokens and HASH.fullmatch(m["hash"])
                    assert m["tick_size"] in ("0.01", "0.001")
                    for level in m["bids"] + m["asks"]:
                        assert_price(level["price"], Decimal(m["tick_size"]))
                        assert_size(level["size"])
                    assert_price(m["last_trade_price"], Decimal("0.001"))
                elif kind == "price_change":
                    changes = m["price_changes"]
                    assert changes and len(changes) % 2 == 0
                    for change in changes:
                        assert set(change) == CHANGE_KEYS and change["asset_id"] in tokens
                        assert change["side"] in ("BUY", "SELL") and HASH.fullmatch(change["hash"])
                        assert_price(change["price"], tick)
                        assert_size(change["size"], positive=False)
                        assert_price(change["best_bid"], tick)
                        assert_price(change["best_ask"], tick)
                elif kind == "last_trade_price":
                    assert m["asset_id"] in tokens and m["side"] in ("BUY", "SELL")
                    assert_price(m["price"], tick)
                    assert_size(m["size"])
                    assert m["fee_rate_bps"] == "720"
                elif kind == "tick_size_change":
                    assert (m["old_tick_size"], m["new_tick_size"]) == ("0.01", "0.001")
                    tick = Decimal("0.001")
                else:
                    assert m["assets_ids"] == [sim.up_token, sim.down_token]


def test_window_opens_with_one_frame_holding_both_books() -> None:
    sim, frames = window(0)
    first = json.loads(frames[0][1])
    assert isinstance(first, list) and [b["event_type"] for b in first] == ["book", "book"]
    assert [b["asset_id"] for b in first] == [sim.up_token, sim.down_token]
    assert all(b["bids"] and b["asks"] and b["tick_size"] == "0.01" for b in first)


def test_prices_are_written_like_the_exchange_writes_them() -> None:
    # the captured frames drop trailing zeros ("0.5", "0.29"), at either tick
    prices = {
        change["price"]
        for seed in SEEDS
        for _, text in window(seed)[1]
        for m in messages(text)
        if m["event_type"] == "price_change"
        for change in m["price_changes"]
    }
    assert all(re.fullmatch(r"0\.\d*[1-9]", p) for p in prices)
    assert {"0.5", "0.52"} & prices and any(len(p) == 5 for p in prices)


# ---- book consistency ------------------------------------------------------------------


def test_best_prices_in_each_change_match_the_book_after_its_frame() -> None:
    for seed in SEEDS:
        sim, frames = window(seed)
        replay = Replay(sim)
        for _, text in frames:
            for m in messages(text):
                replay.apply(m)
                if m["event_type"] != "price_change":
                    continue
                for change in m["price_changes"]:
                    book = replay.books[change["asset_id"]]
                    assert Decimal(change["best_bid"]) == book.best_bid
                    assert Decimal(change["best_ask"]) == book.best_ask


def test_down_book_mirrors_up_book_after_every_frame() -> None:
    one = Decimal(1)
    for seed in SEEDS:
        for message, replay in replayed(seed):
            if message["event_type"] not in ("book", "price_change"):
                continue
            if message["event_type"] == "book" and message["asset_id"] == replay.sim.up_token:
                continue  # the Down snapshot of the same dump follows in the same frame
            assert replay.down.bids == {one - p: s for p, s in replay.up.asks.items()}
            assert replay.down.asks == {one - p: s for p, s in replay.up.bids.items()}


def test_each_change_for_up_comes_with_its_mirror_for_down() -> None:
    sim, frames = window(2)
    for _, text in frames:
        for m in messages(text):
            if m["event_type"] != "price_change":
                continue
            changes = m["price_changes"]
            for up, down in zip(changes[::2], changes[1::2], strict=True):
                assert (up["asset_id"], down["asset_id"]) == (sim.up_token, sim.down_token)
                assert Decimal(up["price"]) + Decimal(down["price"]) == 1
                assert up["size"] == down["size"] and up["side"] != down["side"]


def test_books_are_never_left_crossed_or_one_sided() -> None:
    for seed in SEEDS:
        for message, replay in replayed(seed):
            if message["event_type"] == "price_change":
                for book in replay.books.values():
                    assert book.bids and book.asks
                    assert book.best_bid < book.best_ask


def test_the_core_book_replays_the_window_to_the_same_tops() -> None:
    sim, frames = window(1)
    market = _core.Market(sim.up_token, sim.down_token)
    outcome = {sim.up_token: "up", sim.down_token: "down"}
    replay = Replay(sim)
    for _, text in frames:
        for m in messages(text):
            replay.apply(m)
            if m["event_type"] == "book":
                levels = [
                    [(_core.parse_price(lv["price"]), _core.parse_size(lv["size"])) for lv in side]
                    for side in (m["bids"], m["asks"])
                ]
                market.apply_snapshot(outcome[m["asset_id"]], *levels)
            elif m["event_type"] == "price_change":
                for change in m["price_changes"]:
                    market.set_level(
                        outcome[change["asset_id"]],
                        "bid" if change["side"] == "BUY" else "ask",
                        _core.parse_price(change["price"]),
                        _core.parse_size(change["size"]),
                    )
                bid, ask = market.best_bid("up"), market.best_ask("up")
                assert bid is not None and ask is not None
                assert (bid[0], ask[0]) == (
                    _core.parse_price(str(replay.up.best_bid)),
                    _core.parse_price(str(replay.up.best_ask)),
                )


# ---- ticks and resolution --------------------------------------------------------------


def test_tick_turns_fine_exactly_when_the_price_passes_the_extremes() -> None:
    switched = 0
    for seed in SEEDS:
        sim, frames = window(seed)
        replay = Replay(sim)
        kinds = [[m["event_type"] for m in messages(text)] for _, text in frames]
        passed_at = None
        for index, (_, text) in enumerate(frames):
            for m in messages(text):
                replay.apply(m)
            if passed_at is None:
                up = replay.up
                if up.best_bid > Decimal("0.96") or up.best_ask < Decimal("0.04"):
                    passed_at = index
        first_change = next((i for i, k in enumerate(kinds) if k == ["tick_size_change"]), None)
        if passed_at is None:
            assert first_change is None and replay.tick == Decimal("0.01")
            continue
        switched += 1
        assert first_change is not None and first_change > passed_at
        # after the frame that passed, only the trades of the same match, then a tick change
        # per token and fresh snapshots of both books
        assert all(k == ["last_trade_price"] for k in kinds[passed_at + 1 : first_change])
        changes = [messages(text)[0] for _, text in frames[first_change : first_change + 2]]
        assert [c["event_type"] for c in changes] == ["tick_size_change"] * 2
        assert [c["asset_id"] for c in changes] == [sim.up_token, sim.down_token]
        books = messages(frames[first_change + 2][1])
        assert [b["event_type"] for b in books] == ["book", "book"]
        assert all(b["tick_size"] == "0.001" for b in books)
        assert sum(k == ["tick_size_change"] for k in kinds) == 2
        # and the makers then quote on the fine grid, when the window goes on long enough
        later = "".join(text for _, text in frames[first_change + 3 :])
        if len(frames) - first_change > 50:
            assert re.search(r'"price":"0\.\d\d[1-9]"', later)
    assert switched >= 3, "most windows end near 0 or 1 and so switch ticks"


def reference_messages(sim: WindowSimulator) -> list[dict[str, Any]]:
    return [json.loads(text) for _, text in sim.reference_frames()]


def test_window_ends_with_the_resolution_naming_the_winner() -> None:
    for seed in SEEDS:
        sim = WindowSimulator("btc", DEFAULT_START, seed)
        frames = list(sim.frames())
        last = json.loads(frames[-1][1])
        assert last["event_type"] == "market_resolved"
        assert frames[-1][0] == sim.end * 10**9
        # the settlement: the reference's 60 s TWAP at the end against the open
        twaps = [m for m in reference_messages(sim) if m["channel"] == "price.crypto.twap"]
        final = twaps[-1]["payload"]
        assert final["timestamp"] == sim.end * 1000
        assert final["full_accuracy_value"] == sim.settlement_price
        assert sim.header.price_to_beat is not None
        up = Decimal(final["full_accuracy_value"]) >= Decimal(sim.header.price_to_beat)
        expected = "up" if up else "down"
        assert sim.outcome == expected
        winner = sim.up_token if expected == "up" else sim.down_token
        assert last["winning_asset_id"] == winner
        assert last["winning_outcome"] == expected.capitalize()


def test_up_wins_when_the_settlement_twap_ties_the_open() -> None:
    path = UnderlyingPath("xrp", DEFAULT_START, 4)
    flat = path.open_units
    path.samples = [flat] * len(path.samples)
    path.history = (flat,) * TWAP_SECONDS
    path.twap_units = path._twap_units()
    assert path.settlement_units == flat * TWAP_SECONDS and path.up_wins
    path.samples[-1] -= 1  # one unit below: the mean is under the open
    path.twap_units = path._twap_units()
    assert not path.up_wins


def test_the_twap_is_the_mean_of_the_last_minute_of_samples() -> None:
    sims = list(simulate("btc", 2, 3))
    first, second = (s.path() for s in sims)
    assert second.history == first.tail and second.open_units == first.samples[-1]
    series = list(second.history) + second.samples
    for offset in (0, 1, 59, 60, 450, 900):
        window = series[offset + 1 : offset + 1 + TWAP_SECONDS]
        assert second.twap_units[offset] == sum(window)


def test_the_probability_of_up_knows_the_known_part_of_the_twap() -> None:
    path = UnderlyingPath("btc", DEFAULT_START, 2)
    last = path.steps - 1  # half a second before the end: all but one sample are known
    assert abs(path.probability(last) - (1.0 if path.up_wins else 0.0)) < 0.05
    assert path.probability(path.steps) == (1.0 if path.up_wins else 0.0)
    assert 0.0 < path.probability(0) < 1.0


def test_up_and_down_both_win_about_half_the_time() -> None:
    windows = [WindowSimulator("btc", DEFAULT_START, seed) for seed in range(60)]
    ups = sum(sim.outcome == "up" for sim in windows)
    assert 15 <= ups <= 45


# ---- what the strategy needs ----------------------------------------------------------


def test_each_side_gets_cheap_and_cheapest_moments_pair_below_098() -> None:
    both_cheap = cheap_pairs = 0
    for seed in SEEDS:
        tops = up_tops(seed)
        cheapest_up = min(ask for _, ask in tops)
        cheapest_down = min(1 - bid for bid, _ in tops)
        both_cheap += cheapest_up < Decimal("0.45") and cheapest_down < Decimal("0.45")
        cheap_pairs += cheapest_up + cheapest_down < Decimal("0.98")
    assert both_cheap >= len(SEEDS) // 2
    assert cheap_pairs == len(SEEDS)


def test_takers_print_several_trades_a_minute_that_hit_resting_bids() -> None:
    for seed in SEEDS:
        sim, frames = window(seed)
        trades = [
            m for _, t in frames for m in messages(t) if m["event_type"] == "last_trade_price"
        ]
        minutes = WINDOW_SECONDS / 60
        for token in (sim.up_token, sim.down_token):
            prints = [m for m in trades if m["asset_id"] == token]
            assert len(prints) / minutes >= 3
            # a SELL print is a taker hitting that token's bids: a resting bid can fill
            assert sum(m["side"] == "SELL" for m in prints) / minutes >= 1


def test_a_window_is_fast_to_simulate_and_small_to_store(tmp_path: Path) -> None:
    began = time.perf_counter()
    sim = WindowSimulator("btc", DEFAULT_START, 11)
    frames = list(sim.frames())
    seconds = time.perf_counter() - began
    assert seconds < 2.0
    out = tmp_path / "w.zst"
    assert main(["sim", "--out", str(out), "--seed", "11"]) == 0
    assert out.stat().st_size < 3_000_000
    assert len(frames) > 500


# ---- against the captured data -------------------------------------------------------


def captured_ranges() -> dict[str, tuple[float, float]]:
    """Spreads, levels a side and price_change frames a minute seen in the captured data."""
    spreads: list[Decimal] = []
    levels: list[int] = []
    snapshot = fixture("ws_book_snapshot_captured.json")
    burst = fixture("ws_market_price_change_crossing_burst.json")
    for book in (snapshot, burst[0], burst[-1]):
        bids = [Decimal(lv["price"]) for lv in book["bids"]]
        asks = [Decimal(lv["price"]) for lv in book["asks"]]
        levels += [len(bids), len(asks)]
        spreads.append(min(asks) - max(bids))
    changes = burst[1:-1]
    for frame in changes:
        for change in frame["price_changes"]:
            spreads.append(Decimal(change["best_ask"]) - Decimal(change["best_bid"]))
    spreads.append(Decimal(fixture("ws_market_best_bid_ask_msg.json")["spread"]))
    seconds = (int(changes[-1]["timestamp"]) - int(changes[0]["timestamp"])) / 1000
    rate = len(changes) / (seconds / 60)
    return {
        "spread": (float(min(spreads)), float(max(spreads))),
        "levels": (min(levels), max(levels)),
        "rate": (rate, rate),
    }


def test_captured_ranges_are_what_the_docs_quote() -> None:
    ranges = captured_ranges()
    assert ranges["spread"] == (0.01, 0.097)
    assert ranges["levels"] == (7, 57)
    assert round(ranges["rate"][0], 1) == 19.2


def test_simulated_spreads_levels_and_change_rates_match_the_captured_ranges() -> None:
    captured = captured_ranges()
    rates = []
    for seed in SEEDS:
        sim, frames = window(seed)
        replay = Replay(sim)
        spreads, levels, changes = [], [], 0
        for _, text in frames:
            for m in messages(text):
                replay.apply(m)
                if m["event_type"] == "price_change":
                    changes += 1
                    spreads.append(float(replay.up.best_ask - replay.up.best_bid))
                    levels += [len(replay.up.bids), len(replay.up.asks)]
        low, high = captured["spread"]
        assert low <= statistics.median(spreads) <= high
        assert sorted(spreads)[int(0.9 * len(spreads))] <= high
        low_levels, high_levels = captured["levels"]
        assert low_levels <= statistics.median(levels) <= high_levels
        rates.append(changes / (WINDOW_SECONDS / 60))
    # The captured stretch is a quiet one; a simulated window is busier, as the 15-minute
    # crypto markets are, but of the same order (docs/SIMULATOR.md).
    captured_rate = captured["rate"][0]
    assert all(captured_rate / 2 <= rate <= captured_rate * 10 for rate in rates)
    assert statistics.median(rates) <= captured_rate * 5


# ---- the command ---------------------------------------------------------------------


def test_sim_command_writes_a_readable_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "two.zst"
    assert main(["sim", "--out", str(out), "--asset", "eth", "--windows", "2", "--seed", "9"]) == 0
    line = capsys.readouterr().out.strip()
    assert "2 window(s) of eth" in line and "\n" not in line
    header, frames = read_recording(out)
    assert header.source == "sim" and header.seed == 9 and len(header.markets) == 2
    assert [m.start for m in header.markets] == [DEFAULT_START, DEFAULT_START + WINDOW_SECONDS]
    count = sum(1 for _ in frames)
    assert f"{count} frames" in line
    expected = sum(len(list(sim.frames())) for sim in simulate("eth", 2, 9))
    assert count == expected


def test_sim_command_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.zst", tmp_path / "b.zst", tmp_path / "c.zst"
    assert main(["sim", "--out", str(a), "--seed", "4"]) == 0
    assert main(["sim", "--out", str(b), "--seed", "4"]) == 0
    assert main(["sim", "--out", str(c), "--seed", "5"]) == 0
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_sim_command_json_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "j.zst"
    assert main(["sim", "--out", str(out), "--windows", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["windows"] == 2 and summary["bytes"] == out.stat().st_size
    assert summary["asset"] == "btc" and summary["seed"] == 0
    assert set(summary["outcomes"]) <= {"up", "down"} and len(summary["outcomes"]) == 2
    assert summary["frames"] == sum(1 for _ in read_recording(out)[1])


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--windows", "0"], "--windows 0 out of range"),
        (["--windows", "two"], "--windows 'two' is not an integer"),
        (["--seed", "-3"], "--seed -3 out of range"),
        (["--asset", "doge"], "unknown asset 'doge'"),
    ],
)
def test_sim_command_refuses_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], reason: str
) -> None:
    out = tmp_path / "x.zst"
    assert main(["sim", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gabagool sim: ") and reason in err
    assert not out.exists()


def test_sim_command_refuses_an_output_in_a_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", "--out", str(tmp_path / "nope" / "x.zst")]) == 2
    assert "does not exist" in capsys.readouterr().err


# ---- the reference price ----------------------------------------------------------------

POLYBOLT = fixture("polybolt_price_frames.json")["server"]
ENVELOPE_KEYS = {
    (m["channel"], "snapshot" in m, "dropped" in m): set(m) for m in POLYBOLT if "channel" in m
    and "v" in m
}
POINT_KEYS = {
    channel: set(m["payload"]) for m in POLYBOLT
    if "v" in m and not m.get("snapshot") for channel in [m["channel"]]
}


@cache
def reference(seed: int) -> tuple[WindowSimulator, tuple[tuple[int, dict[str, Any]], ...]]:
    sim = WindowSimulator("btc", DEFAULT_START, seed)
    return sim, tuple((t, json.loads(text)) for t, text in sim.reference_frames())


def test_reference_frames_have_the_polybolt_envelope_shape() -> None:
    for seed in SEEDS:
        _, frames = reference(seed)
        for _, m in frames:
            channel = m["channel"]
            assert channel in ("price.crypto", "price.crypto.twap")
            assert m["v"] == 1 and isinstance(m["seq"], int) and isinstance(m["ts"], int)
            if m.get("snapshot"):
                assert set(m) == ENVELOPE_KEYS[(channel, True, False)]
                points = m["payload"]["data"]
            else:
                assert set(m) - {"dropped"} == ENVELOPE_KEYS[(channel, False, False)]
                assert set(m["payload"]) == POINT_KEYS[channel]
                points = [m["payload"]]
            assert m["payload"]["symbol"] == "btcusd"
            for point in points:
                text = point["full_accuracy_value"]
                assert re.fullmatch(r"[1-9][0-9]*\.[0-9]{8}", text)
                assert Decimal(str(point["value"])) == Decimal(text)


def test_each_channel_opens_with_a_snapshot_then_counts_its_seq_with_drops_declared() -> None:
    drops = 0
    for seed in SEEDS:
        _, frames = reference(seed)
        for channel in ("price.crypto", "price.crypto.twap"):
            own = [m for _, m in frames if m["channel"] == channel]
            assert own[0]["snapshot"] is True and own[0]["seq"] == 1
            assert not any(m.get("snapshot") for m in own[1:])
            for before, after in zip(own, own[1:], strict=False):
                assert after["seq"] == before["seq"] + 1 + after.get("dropped", 0)
                drops += "dropped" in after
    assert drops > 0, "the feed drops an update now and then"


def test_the_reference_lags_the_true_price_by_a_few_hundred_ms_to_a_second_and_a_half() -> None:
    lags = []
    pauses = 0
    for seed in SEEDS:
        sim, frames = reference(seed)
        times = [t for t, _ in frames]
        assert times == sorted(times)
        spot = [(t, m) for t, m in frames if m["channel"] == "price.crypto"]
        for t, m in spot[1:]:
            lags.append(t / 1e6 - m["payload"]["timestamp"])
        stamps = [m["payload"]["timestamp"] for _, m in spot[1:]]
        pauses += sum(b - a > 1000 for a, b in zip(stamps, stamps[1:], strict=False))
        # one sample a second, from the start to the end inclusive, less the gaps
        assert stamps[-1] == sim.end * 1000 and len(stamps) > 800
    assert 250 <= min(lags) and max(lags) <= 1700
    assert 500 <= statistics.median(lags) <= 1200
    assert pauses > 0, "the feed pauses now and then"


def test_the_spot_is_near_the_settlement_source_and_the_twap_is_exact() -> None:
    sim, frames = reference(2)
    path = sim.path()
    scale = 10 ** (8 - path.decimals)
    for _, m in frames:
        if m.get("snapshot"):
            continue
        offset = m["payload"]["timestamp"] // 1000 - sim.start
        value = Decimal(m["payload"]["full_accuracy_value"])
        if m["channel"] == "price.crypto":
            true = Decimal(path.samples[offset]) / 10**path.decimals
            assert abs(value / true - 1) < Decimal("0.0002")
        else:
            exact = Decimal(path.twap_units[offset] * scale // TWAP_SECONDS) / 10**8
            assert value == exact


def test_all_frames_merge_both_sources_in_receive_order() -> None:
    sim = WindowSimulator("eth", DEFAULT_START, 1)
    tagged = list(sim.all_frames())
    assert [t for t, _, _ in tagged] == sorted(t for t, _, _ in tagged)
    assert [(t, f) for t, s, f in tagged if s == "market"] == list(sim.frames())
    assert [(t, f) for t, s, f in tagged if s == "ref"] == list(sim.reference_frames())


def test_consecutive_windows_make_one_reference_subscription() -> None:
    sims = list(simulate("btc", 3, 2))
    frames = [json.loads(text) for t, source, text in run_frames(sims) if source == "ref"]
    assert sum(bool(m.get("snapshot")) for m in frames) == 2  # one per channel
    spot = [
        m["payload"]["timestamp"]
        for m in frames
        if m["channel"] == "price.crypto" and not m.get("snapshot")
    ]
    assert len(spot) == len(set(spot)), "the second shared by two windows is sent once"
    assert spot[-1] == sims[-1].end * 1000


def test_the_market_does_not_depend_on_the_wall_clock_or_hash_seed(tmp_path: Path) -> None:
    outputs = []
    for hash_seed in ("0", "12345"):
        out = tmp_path / f"h{hash_seed}.zst"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-m", "gabagool", "sim", "--out", str(out), "--seed", "6"],
            check=True, env=env, capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_simulating_reads_no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = list(WindowSimulator("sol", DEFAULT_START, 8).all_frames())

    def no_clock(*_: object) -> float:
        raise AssertionError("the simulator read the clock")

    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter"):
        monkeypatch.setattr(time, name, no_clock)
    assert list(WindowSimulator("sol", DEFAULT_START, 8).all_frames()) == expected


def test_sim_command_records_reference_frames_and_replay_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ref.zst"
    assert main(["sim", "--out", str(out), "--windows", "2", "--seed", "3", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    _, lines = read_sources(out)
    sources = [item.source for item in lines]
    assert sources.count("ref") == summary["reference_frames"] > 3000
    assert sources.count("market") == summary["frames"]
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(out.read_bytes())
    ref_line = next(line for line in raw.split(b"\n") if b'"src":"ref"' in line)
    assert list(json.loads(ref_line)) == ["t", "src", "frame"]
    assert main(["replay", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reference"]["frames"] == summary["reference_frames"]
    assert set(report["reference"]["channels"]) == {"price.crypto", "price.crypto.twap"}
    assert not any(report["issues"].values())


# ---- calibration ---------------------------------------------------------------------------


def test_the_calibration_script_measures_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    from gabagool.sim import calibration

    assert calibration.main(["--windows", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["windows"] == 2
    assert 0.05 <= result["fifteen_minute_sd_pct"] <= 0.4
    probe = result["probe"]
    assert probe["both"] + probe["one"] + probe["none"] == 2
    assert 0 < result["sd_one_second_mid_change"] < 0.1
    assert 0 < result["cheapest_pair_before_t120_median"] < 1.1


def test_informed_takers_weigh_the_taker_fee() -> None:
    from gabagool.sim import MarketParams, agents
    from gabagool.sim.book import ASK, BID, Book

    book = Book()
    book.replace(0, {(BID, 470): 10_000, (ASK, 480): 10_000, (ASK, 490): 10_000})
    params = MarketParams()
    # fair 0.50: buying at 0.48 gains 2 cents, less a 1.8 cent fee: under the 0.5 cent edge
    assert agents.informed_taker(book, 0.500, params, 0.072, 1) is None
    # fair 0.505: 2.5 cents less 1.8 is 0.7 cent, so it takes 0.48 and stops before 0.49
    assert agents.informed_taker(book, 0.505, params, 0.072, 1) == (ASK, 482)
    blind = MarketParams(informed_pays_fee=False, informed_edge=15)
    assert agents.informed_taker(book, 0.500, blind, 0.072, 1) == (ASK, 493)


def test_a_window_chained_by_its_open_alone_has_the_same_market_and_outcome() -> None:
    # the engine's simulated feed chains windows by `open_price`; a recording by `previous`:
    # only the first minute's TWAP frames may differ (a made-up minute before the start)
    first, second = simulate("eth", 2, 5)
    alone = WindowSimulator("eth", second.start, 5, open_price=first.close_price)
    assert list(alone.frames()) == list(second.frames())
    assert alone.outcome == second.outcome and alone.settlement_price == second.settlement_price
