"""The market channel through the core: `Market.apply_frame` and friends, against a
plain-Python reference replay, and the parser against hostile bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gabagool._core import FrameSummary, Market, Replay
from gabagool.errors import FrameError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
UP = "1" * 77
DOWN = "2" * 77
TOKENS = {"up": UP, "down": DOWN}
BIT = {"up": 1, "down": 2}


def price_text(micros: int) -> str:
    return f"{micros / 1e6:.4f}".rstrip("0").rstrip(".") if micros % 100 == 0 else str(micros)


def micros(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 1_000_000 + int((frac + "000000")[:6])


Levels = list[tuple[str, str]]


def book_frame(token: str, ts: int, bids: Levels, asks: Levels) -> str:
    return json.dumps(
        {
            "event_type": "book",
            "asset_id": token,
            "market": "0x1",
            "bids": [{"price": p, "size": s} for p, s in bids],
            "asks": [{"price": p, "size": s} for p, s in asks],
            "timestamp": str(ts),
            "hash": f"h{ts}",
        }
    )


def live_market() -> Market:
    market = Market(UP, DOWN)
    frame = "[" + ",".join(
        [
            book_frame(UP, 1, [("0.48", "100"), ("0.49", "200")], [("0.51", "150")]),
            book_frame(DOWN, 1, [("0.49", "150")], [("0.51", "200"), ("0.52", "100")]),
        ]
    ) + "]"
    assert market.apply_frame(frame).changed == 3
    return market


def change(token: str, side: str, price: str, size: str, bid: str, ask: str) -> dict[str, str]:
    return {"asset_id": token, "price": price, "size": size, "side": side, "hash": "x",
            "best_bid": bid, "best_ask": ask}


def price_change(ts: int, *changes: dict[str, str]) -> bytes:
    return json.dumps({"market": "0x1", "price_changes": list(changes), "timestamp": str(ts),
                       "event_type": "price_change"}).encode()


def test_a_plain_delta_returns_a_shared_summary_with_the_moved_token() -> None:
    market = live_market()
    first = market.apply_frame(price_change(2, change(UP, "BUY", "0.50", "5", "0.50", "0.51")))
    second = market.apply_frame(price_change(3, change(UP, "BUY", "0.50", "7", "0.50", "0.51")))
    assert isinstance(first, FrameSummary)
    assert (first.changed, first.needs_resync, first.problems, first.trades) == (1, 0, [], [])
    assert second.changed == 0
    assert market.best_bid("up") == (500_000, 7_000_000)
    third = market.apply_frame(price_change(4, change(UP, "BUY", "0.50", "9", "0.50", "0.51")))
    assert third is second


def test_trades_quotes_and_resolution_are_reported() -> None:
    market = live_market()
    frame = json.dumps([
        {"event_type": "last_trade_price", "asset_id": DOWN, "price": "0.51", "size": "25.5",
         "side": "SELL", "fee_rate_bps": "0", "timestamp": "9"},
        {"event_type": "best_bid_ask", "asset_id": UP, "best_bid": "0.49", "best_ask": "0.51",
         "timestamp": "9"},
        {"event_type": "market_resolved", "winning_asset_id": UP, "timestamp": "10"},
        {"event_type": "new_market", "slug": "btc-updown-15m-1767226500", "timestamp": "10"},
    ])
    summary = market.apply_frame(frame)
    assert summary.trades == [("down", 510_000, 25_500_000, "sell")]
    assert summary.quotes == [("up", 490_000, 510_000)]
    assert summary.resolved == "up"
    assert summary.new_markets == ["btc-updown-15m-1767226500"]


def test_a_mismatch_sends_only_that_token_to_resync_until_a_snapshot() -> None:
    market = live_market()
    market.apply_frame(price_change(2, change(UP, "BUY", "0.50", "5", "0.47", "0.51")))
    summary = market.end_batch()
    assert summary.problems == ["up:best_mismatch"]
    assert summary.needs_resync == 1 and market.needs_resync() == 1
    assert market.best_bid("up") is None
    assert market.best_ask("down") == (510_000, 200_000_000)
    market.apply_frame(price_change(3, change(UP, "BUY", "0.40", "5", "0.40", "0.51")))
    assert market.counters()["up_ignored_deltas"] == 1
    summary = market.apply_frame(book_frame(UP, 4, [("0.45", "1")], [("0.55", "1")]))
    assert summary.needs_resync == 0
    counters = market.counters()
    assert counters["up_best_mismatch"] == 1
    assert (counters["up_resyncs"], counters["down_problems"]) == (1, 0)


def test_rest_resync_replays_buffered_updates_newer_than_the_snapshot() -> None:
    market = live_market()
    market.begin_resync("up")
    market.apply_frame(price_change(100, change(UP, "BUY", "0.40", "7", "0.50", "0.51")))
    market.apply_frame(price_change(300, change(UP, "BUY", "0.505", "9", "0.505", "0.51")))
    body = (FIXTURES / "clob_book_response.json").read_text()
    body = body.replace("12345678901234567890", UP).replace("1703875200000", "200")
    summary = market.apply_rest_book("up", body.encode())
    assert summary.needs_resync == 0
    assert market.best_bid("up") == (505_000, 9_000_000)
    assert market.best_ask("up") == (510_000, 120_000_000)
    assert (400_000, 7_000_000) not in market.levels("up", "bid")
    assert market.end_batch().problems == []
    with pytest.raises(FrameError, match="not the down token"):
        market.apply_rest_book("down", body)


@pytest.mark.parametrize(
    "frame",
    [b"", b"PONG", b"\xff\x00garbage", b'[{"event_type":"book"', b"[" * 100_000, b"[1]", b"7",
     b'{"a":1,}', b'{"x": "\\q"}', b"{} []"],
)
def test_unreadable_frames_raise_frame_error_and_change_nothing(frame: bytes) -> None:
    market = live_market()
    before = market.levels("up", "bid")
    with pytest.raises(FrameError):
        market.apply_frame(frame)
    assert market.levels("up", "bid") == before
    assert market.counters()["frame_errors"] == 1


def test_a_ten_megabyte_frame_is_refused() -> None:
    market = live_market()
    with pytest.raises(FrameError, match="over the 8388608-byte limit"):
        market.apply_frame(b'{"pad":"' + b"x" * 10_000_000 + b'"}')


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(data: bytes) -> None:
    market = live_market()
    try:
        market.apply_frame(data)
    except FrameError:
        pass
    assert market.needs_resync() in (0, 1, 2, 3)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.sampled_from([UP, DOWN, "0.5", "BUY", "SELL", "book", "price_change", "0.001", "0"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["event_type", "asset_id", "price", "size", "side", "bids", "asks",
                         "price_changes", "timestamp", "best_bid", "best_ask", "new_tick_size",
                         "winning_asset_id", "tick_size", "hash", "x"]), inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_wrong_types_anywhere_are_answered_without_a_crash(value: object) -> None:
    market = live_market()
    try:
        summary = market.apply_frame(json.dumps(value))
    except FrameError:
        return
    assert all(code.split(":")[0] in ("up", "down", "market") for code in summary.problems)


# ---- reference replay ---------------------------------------------------------------------

class RefToken:
    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.snapshot = False
        self.resync = False
        self.pending: tuple[str, str] | None = None

    def best(self) -> tuple[int | None, int | None]:
        return (max(self.bids) if self.bids else None, min(self.asks) if self.asks else None)

    def distrust(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.resync = True
        self.pending = None


class Reference:
    """The exchange's rules written plainly: dict books, bursts by timestamp, dedupe."""

    def __init__(self) -> None:
        self.tokens = {"up": RefToken(), "down": RefToken()}
        self.burst = 0
        self.seen: set[tuple[int, str]] = set()
        self.problems: list[str] = []
        self.trades: list[tuple[str, int, int, str]] = []

    def close_burst(self) -> None:
        for name, token in self.tokens.items():
            if token.pending is None or token.resync:
                token.pending = None
                continue
            bid, ask = token.best()
            want_bid, want_ask = token.pending
            token.pending = None
            if bid is not None and ask is not None and bid >= ask:
                self.problems.append(f"{name}:crossed")
                token.distrust()
            elif (bid or 0, ask or 1_000_000) != (micros(want_bid), micros(want_ask)):
                self.problems.append(f"{name}:best_mismatch")
                token.distrust()

    def apply(self, ts: int, event: dict) -> None:
        name = "up" if event.get("asset_id") == UP else "down"
        token = self.tokens[name]
        wanted = event["event_type"] == "book" and (token.resync or not token.snapshot)
        # A change is named by its token, level and the exchange's hash; the best prices it
        # reports follow from those, so they are not part of what makes it a duplicate.
        content = (
            [(c["asset_id"], c["price"], c["size"], c["side"], c["hash"])
             for c in event["price_changes"]]
            if event["event_type"] == "price_change"
            else {k: v for k, v in event.items() if k != "timestamp"}
        )
        key = (ts, json.dumps(content))
        if key in self.seen and not wanted:
            return
        self.seen.add(key)
        if ts != self.burst:
            self.close_burst()
            self.burst = ts
        kind = event["event_type"]
        if kind == "book":
            token.bids = {micros(lv["price"]): micros(lv["size"]) for lv in event["bids"]}
            token.asks = {micros(lv["price"]): micros(lv["size"]) for lv in event["asks"]}
            token.bids = {p: s for p, s in token.bids.items() if s}
            token.asks = {p: s for p, s in token.asks.items() if s}
            token.snapshot, token.resync, token.pending = True, False, None
        elif kind == "price_change":
            for ch in event["price_changes"]:
                tname = "up" if ch["asset_id"] == UP else "down"
                t = self.tokens[tname]
                if ch["price"] == "0.5x":
                    self.problems.append(f"{tname}:bad_number")
                    t.distrust()
                    continue
                if t.resync:
                    continue
                if not t.snapshot:
                    self.problems.append(f"{tname}:no_snapshot")
                    t.distrust()
                    continue
                side = t.bids if ch["side"] == "BUY" else t.asks
                p, s = micros(ch["price"]), micros(ch["size"])
                if s:
                    side[p] = s
                else:
                    side.pop(p, None)
                t.pending = (ch["best_bid"], ch["best_ask"])
        elif kind == "last_trade_price":
            self.trades.append((name, micros(event["price"]), micros(event["size"]),
                                event["side"].lower()))
        elif kind == "tick_size_change":
            token.distrust()
            token.snapshot = False


PRICES = ["0.47", "0.48", "0.49", "0.5", "0.51", "0.52", "0.53"]
SIZES = ["0", "1", "2.5", "10"]


EPOCH_MS = 1_767_225_600_000  # stamps as the exchange writes them: 13 digits
CONDITION = "0x" + "5e" * 32


def as_sent(event: dict) -> str:
    """The event as the exchange writes it (its key order, compact, a 66-byte condition id):
    the shape the core's canonical readers take; anything else goes to its general reader."""
    kind = event["event_type"]
    if kind == "price_change":
        keys = {"market": CONDITION, "price_changes": event["price_changes"]}
        shaped = {**keys, "timestamp": event["timestamp"], "event_type": kind}
    elif kind == "last_trade_price":
        shaped = {"event_type": kind, "market": CONDITION, "asset_id": event["asset_id"],
                  "fee_rate_bps": "720", "price": event["price"], "side": event["side"],
                  "size": event["size"], "timestamp": event["timestamp"]}
    else:
        shaped = event
    return json.dumps(shaped, separators=(",", ":"))


def ref_best_texts(token: RefToken) -> tuple[str, str]:
    bid, ask = token.best()
    return (price_text(bid) if bid else "0", price_text(ask) if ask else "1")


def draw_event(data: st.DataObject, ref: Reference, ts: int) -> dict:
    """A random event at `ts`; a change states the best prices of `ref`'s book after it."""
    kind = data.draw(st.sampled_from(["book", "pc", "pc", "pc", "trade", "tick"]))
    name = data.draw(st.sampled_from(["up", "down"]))
    if kind == "book":
        levels = st.lists(st.tuples(st.sampled_from(PRICES), st.sampled_from(SIZES[1:])),
                          max_size=4)
        event = json.loads(book_frame(TOKENS[name], ts, data.draw(levels), data.draw(levels)))
        event["hash"] = "h"
    elif kind == "pc":
        # Best prices as the frame would state them: the reference's book after each change.
        shadow = Reference()
        shadow.tokens = {k: _copy(v) for k, v in ref.tokens.items()}
        changes = []
        for _ in range(data.draw(st.integers(1, 3))):
            tname = data.draw(st.sampled_from(["up", "down"]))
            side = data.draw(st.sampled_from(["BUY", "SELL"]))
            price = data.draw(st.sampled_from([*PRICES, "0.5x"]))
            size = data.draw(st.sampled_from(SIZES))
            ch = change(TOKENS[tname], side, price, size, "0", "1")
            ch["hash"] = data.draw(st.sampled_from(["x", "5e72df1c0ffee" * 3 + "1"]))
            t = shadow.tokens[tname]
            if price != "0.5x" and not t.resync and t.snapshot:
                book = t.bids if side == "BUY" else t.asks
                if micros(size):
                    book[micros(price)] = micros(size)
                else:
                    book.pop(micros(price), None)
            ch["best_bid"], ch["best_ask"] = ref_best_texts(t)
            if data.draw(st.sampled_from([False] * 9 + [True]), label="stale best bid"):
                ch["best_bid"] = "0.01"  # as after a missed update: found at burst end
            changes.append(ch)
        event = {"event_type": "price_change", "market": "0x1", "price_changes": changes}
    elif kind == "trade":
        event = {"event_type": "last_trade_price", "asset_id": TOKENS[name],
                 "price": data.draw(st.sampled_from(PRICES)), "size": "3", "side": "BUY"}
    else:
        event = {"event_type": "tick_size_change", "asset_id": TOKENS[name],
                 "old_tick_size": "0.01", "new_tick_size": "0.01"}
    event["timestamp"] = str(EPOCH_MS + ts)
    return event


def draw_stream(data: st.DataObject, ref: Reference) -> Iterator[tuple[int, dict]]:
    """Random `(ts, event)`s, each drawn against `ref` once the caller has applied the one
    before; about one in five re-sends an earlier event as it was (a duplicate)."""
    ts = 1_000
    sent: list[tuple[int, dict]] = []
    for _ in range(data.draw(st.integers(1, 25), label="frames")):
        if sent and data.draw(st.sampled_from([False] * 4 + [True]), label="re-send"):
            item = data.draw(st.sampled_from(sent), label="re-sent")
        else:
            ts += data.draw(st.sampled_from([0, 0, 1, 5]))
            item = (ts, draw_event(data, ref, ts))
        sent.append(item)
        yield item


def as_general(event: dict, data: st.DataObject) -> str:
    """The event in a drawn key order (its changes' keys too), with whitespace: the shape only
    the core's general reader takes."""
    def shuffled(obj: dict) -> dict:
        keys = data.draw(st.permutations(sorted(obj)), label="key order")
        return {k: obj[k] for k in keys}

    shaped = shuffled(event)
    if "price_changes" in shaped:
        shaped["price_changes"] = [shuffled(ch) for ch in shaped["price_changes"]]
    return json.dumps(shaped, separators=(", ", ": "))


def check_against(ref: Reference, before: dict, summary: FrameSummary, market: Market) -> None:
    after = {k: v.best() for k, v in ref.tokens.items()}
    changed = sum(BIT[k] for k in BIT if before[k] != after[k])
    assert summary.changed == changed
    assert summary.problems == ref.problems
    assert summary.trades == ref.trades
    assert summary.needs_resync == sum(BIT[k] for k, t in ref.tokens.items() if t.resync)
    for k, t in ref.tokens.items():
        assert dict(market.levels(k, "bid")) == t.bids
        assert dict(market.levels(k, "ask")) == t.asks


def summary_of(summary: FrameSummary) -> tuple[object, ...]:
    return (summary.changed, summary.needs_resync, summary.problems, summary.trades,
            summary.quotes, summary.resolved)


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_frame_sequences_match_the_reference_replay(data: st.DataObject) -> None:
    """Each frame written as the exchange writes it or in another key order, at random: a
    re-sent event is dropped whichever form each copy came in."""
    market = Market(UP, DOWN)
    ref = Reference()
    for ts, event in draw_stream(data, ref):
        before = {k: v.best() for k, v in ref.tokens.items()}
        ref.problems.clear()
        ref.trades.clear()
        ref.apply(ts, event)
        exchange_shaped = data.draw(st.booleans(), label="written as the exchange writes it")
        frame = as_sent(event) if exchange_shaped else as_general(event, data)
        check_against(ref, before, market.apply_frame(frame), market)
    ref.problems.clear()
    ref.close_burst()
    assert market.end_batch().problems == ref.problems


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_both_forms_of_every_frame_give_the_same_events_books_and_errors(
    data: st.DataObject,
) -> None:
    """The differential test of the core's two readers: one stream written as the exchange
    writes it and again in other key orders gives, frame by frame, the same summaries,
    books and counters, and both match the reference."""
    canonical, general, ref = Market(UP, DOWN), Market(UP, DOWN), Reference()
    for ts, event in draw_stream(data, ref):
        before = {k: v.best() for k, v in ref.tokens.items()}
        ref.problems.clear()
        ref.trades.clear()
        ref.apply(ts, event)
        summary = canonical.apply_frame(as_sent(event))
        check_against(ref, before, summary, canonical)
        first = summary_of(summary)
        assert summary_of(general.apply_frame(as_general(event, data))) == first
        for side in ("bid", "ask"):
            for name in ("up", "down"):
                assert canonical.levels(name, side) == general.levels(name, side)
        assert canonical.counters() == general.counters()
    assert summary_of(canonical.end_batch()) == summary_of(general.end_batch())


def _copy(token: RefToken) -> RefToken:
    out = RefToken()
    out.bids, out.asks = dict(token.bids), dict(token.asks)
    out.snapshot, out.resync = token.snapshot, token.resync
    return out


def test_replay_routes_frames_to_the_window_whose_tokens_they_name() -> None:
    other_up, other_down = "3" * 77, "4" * 77
    replay = Replay([(UP, DOWN, 10_000), (other_up, other_down, 10_000)])
    assert replay.apply(book_frame(other_up, 1, [("0.40", "5")], [("0.60", "5")]))
    assert replay.apply(book_frame(UP, 1, [("0.45", "5")], [("0.55", "5")]))
    assert not replay.apply(b"garbage")
    assert replay.apply(book_frame("9" * 77, 1, [], []))
    replay.finish()
    rows = replay.report()
    assert [(r["outcome"], r["best_bid"], r["frames"]) for r in rows] == [
        ("up", 450_000, 1), ("down", None, 0), ("up", 400_000, 1), ("down", None, 0)]
    assert (replay.frames, replay.frame_errors, replay.unrouted) == (4, 1, 1)
