"""Fair value in the engine: reference frames through the feeds into the window core, the
gate on the accumulator's buys, a stale or missing reference, and the resolution check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from design_rules import DESIGN_PAIR_RULES
from gabagool.cli import main
from gabagool.config import load_settings
from gabagool.core import parse_reference_price
from gabagool.engine.backtest_loop import run_window
from gabagool.engine.core import Notice, OrderIntent, Place, WindowCore
from gabagool.engine.core.commands import ResolutionEntry, WindowOpenEntry
from gabagool.engine.core.fair import ReferenceFrame
from gabagool.engine.summary import summarize
from gabagool.engine.supervisor import Engine
from gabagool.engine.view import _cents, _fair, summary_table
from gabagool.recording import MarketHeader, read_recording, write_recording
from gabagool.sim import WindowSimulator
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import ReplayMarketData, SimMarketData, sim_frames
from test_engine_scenarios import END, START, Recorder, at, books, header, resolved, stamped

MS = 1_000_000


def _fair_text(up: int) -> str:
    return _cents(up)


def _settings(**env: str) -> Any:
    environ = {**DESIGN_PAIR_RULES, **{f"GABAGOOL_{k.upper()}": v for k, v in env.items()}}
    return load_settings(environ=environ, dotenv=None)


def _header_beat(price: str) -> MarketHeader:
    h = header()
    return type(h)(**{**{f: getattr(h, f) for f in h.__struct_fields__}, "price_to_beat": price})


class Ref:
    """PolyBolt frames of one subscription: consecutive `seq` per channel."""

    def __init__(self) -> None:
        self.seq = {"price.crypto": 0, "price.crypto.twap": 0}

    def frame(self, ts_ms: int, price: str, channel: str = "price.crypto") -> ReferenceFrame:
        self.seq[channel] += 1
        payload: dict[str, Any] = {
            "symbol": "btcusd",
            "timestamp": ts_ms,
            "value": price,
            "full_accuracy_value": price,
        }
        if channel.endswith("twap"):
            payload["window_seconds"] = 60
        return ReferenceFrame(
            json.dumps(
                {
                    "v": 1,
                    "channel": channel,
                    "seq": self.seq[channel],
                    "ts": ts_ms,
                    "payload": payload,
                }
            )
        )


class Scripted:
    """A core on scripted books and reference ticks; commands collected, not executed."""

    def __init__(self, settings: Any, beat: str | None = "100000") -> None:
        h = _header_beat(beat) if beat is not None else header()
        self.core = WindowCore(h, settings, fallback_outcome=lambda: "up")
        self.ref = Ref()
        self.out: list[Any] = []

    def book(self, seconds: float, bid: str = "0.40", ask: str = "0.41") -> None:
        t = at(seconds)
        self.out += self.core.on_frame(t, stamped([(t, books(bid, ask))])[0][1].encode())
        self.out += self.core.on_timer(t)

    def spot(
        self, seconds: float, price: str, channel: str = "price.crypto", stamp: float | None = None
    ) -> None:
        t = at(seconds)
        ts_ms = at(stamp if stamp is not None else seconds - 0.5) // MS
        self.out += self.core.on_frame(t, self.ref.frame(ts_ms, price, channel))
        self.out += self.core.on_timer(t)

    def tick(self, seconds: float) -> list[Any]:
        commands = self.core.on_timer(at(seconds))
        self.out += commands
        return commands

    def buys(self, outcome: str, since: int = 0) -> list[int]:
        return [
            c.request.price
            for c in self.out[since:]
            if isinstance(c, Place) and c.request.outcome == outcome and c.request.action == "buy"
        ]

    def notices(self, action: str) -> list[Notice]:
        return [c for c in self.out if isinstance(c, Notice) and c.action == action]


def _falling(settings: Any, keep_first: bool = False) -> Scripted:
    """Up's book at 0.40/0.41 while the underlying falls 0.2% below the open: Up's fair
    value drops far under the book."""
    s = Scripted(settings)
    s.book(0.2)  # before the first tick: the pair rules alone
    if not keep_first:
        s.out.clear()
    s.spot(0.6, "100000")
    s.spot(1.6, "99800")
    s.tick(3)
    return s


# ---- the gate ----------------------------------------------------------------------------


def test_the_gate_keeps_every_up_buy_at_or_below_fair_minus_the_edge() -> None:
    s = _falling(_settings())
    value = s.core.fair_value()
    # far under Up's 0.40 bid (the model's half of the mix says 0.38, the anchored half less)
    assert value is not None and not value.stale and value.up < 350_000
    limit = value.up - 10_000
    ungated = _falling(_settings(reference_source="off"), keep_first=True)
    assert ungated.buys("up") and max(ungated.buys("up")) > limit  # the test can fail
    assert s.buys("up") and all(price <= limit for price in s.buys("up"))
    # Down's fair value is high: its bid (placed before the first tick) stays
    assert any(o.request.outcome == "down" for o in s.core.orders.working())
    assert s.core.snapshot().gate_blocks >= 1


def test_a_buy_with_no_tick_left_under_the_limit_is_dropped() -> None:
    s = _falling(_settings(reference_fair_edge="0.4"))
    value = s.core.fair_value()
    assert value is not None and value.up - 400_000 < 10_000  # under one tick
    assert s.buys("up") == []
    assert not any(o.request.outcome == "up" for o in s.core.orders.working())
    assert any(o.request.outcome == "down" for o in s.core.orders.working())


# ---- a stale reference ---------------------------------------------------------------------


def test_a_stale_reference_falls_back_to_the_pair_rules_and_says_so_once() -> None:
    s = _falling(_settings())
    gated = max(s.buys("up"))
    for second in range(8, 14):  # no reference tick since 1.1 s: stale after 5 s
        s.book(second, "0.40" if second % 2 else "0.39", "0.41")
    assert len(s.notices("reference_stale")) == 1
    assert "pair rules alone" in s.notices("reference_stale")[0].detail
    assert max(s.buys("up")) > gated  # bid at the pair rules' price again
    s.spot(14.2, "99800")
    assert len(s.notices("reference_fresh")) == 1
    assert s.core.snapshot().stale_episodes == 1


def test_a_stale_reference_pauses_the_accumulator_when_asked() -> None:
    s = _falling(_settings(reference_when_stale="pause"))
    placed = len(s.buys("up")) + len(s.buys("down"))
    assert placed
    for second in range(8, 14):
        s.book(second, "0.40" if second % 2 else "0.39", "0.41")
    assert len(s.notices("reference_stale")) == 1
    assert "paused" in s.notices("reference_stale")[0].detail
    assert len(s.buys("up")) + len(s.buys("down")) == placed  # nothing new
    assert s.core.fair_value().stale  # type: ignore[union-attr]


def test_no_reference_at_all_runs_on_the_pair_rules_and_says_so_once() -> None:
    s = Scripted(_settings(reference_when_stale="pause"), beat=None)
    for second in range(1, 12):
        s.book(second, "0.40" if second % 2 else "0.39", "0.41")
    assert len(s.notices("fair_value_absent")) == 1
    assert s.buys("up") and s.buys("down")  # not paused: there was never a reference
    assert s.core.snapshot().fair_up is None


# ---- the resolution check -------------------------------------------------------------------


def _to_the_end(exchange_winner: str, settlement: str) -> Scripted:
    s = Scripted(_settings())
    s.book(0.2)
    s.spot(0.6, "100000")
    s.spot(899.0, "100010")
    t = at(899.9)
    s.out += s.core.on_frame(t, stamped([(t, resolved(exchange_winner))])[0][1].encode())
    s.tick(900)
    s.tick(900.2)
    # the TWAP stamped at the end, a little after it on its own feed
    s.spot(900.8, settlement, "price.crypto.twap", stamp=900)
    return s


def test_the_resolution_check_warns_when_the_exchange_disagrees() -> None:
    s = _to_the_end("up", "99990")  # the reference TWAP ends below the open: Down by ours
    assert s.core.winner == "up"
    (warning,) = s.notices("resolution_disagrees")
    assert "reference says down, exchange says up" in warning.detail
    (entry,) = [e for e in s.core.journal if isinstance(e, ResolutionEntry)]
    assert (entry.ours, entry.exchange) == ("down", "up")
    assert entry.settlement == parse_reference_price("99990")
    summary = summarize([s.core.snapshot()])
    assert summary.totals.resolution_disagreements == 1
    assert summary.windows[0].reference_winner == "down"


def test_the_resolution_check_agrees_on_a_tie_going_up() -> None:
    s = _to_the_end("up", "100000")
    assert s.notices("resolution_disagrees") == []
    assert len(s.notices("resolution_check")) == 1
    assert summarize([s.core.snapshot()]).totals.resolution_disagreements == 0


def test_without_the_settlement_twap_the_check_uses_our_average_at_the_deadline() -> None:
    s = Scripted(_settings(engine_resolution_wait="30"))
    s.book(0.2)
    s.spot(0.6, "100000")
    s.spot(870.0, "99000")
    s.spot(901.0, "99000", stamp=900.5)  # spot past the end, but no TWAP tick
    s.tick(900)
    s.tick(930)  # nobody said who won: settled at the resolution wait's end
    assert s.core.winner == "up"  # the fallback's
    assert s.core.next_deadline() == (END + 60) * 1_000_000_000
    s.tick(960)
    (check,) = s.notices("resolution_check") or s.notices("resolution_disagrees")
    entry = [e for e in s.core.journal if isinstance(e, ResolutionEntry)][0]
    assert entry.ours == "down" and entry.exchange is None
    assert check is not None


# ---- whole windows: the plain loop, Trio, a recording ------------------------------------------


def test_a_simulated_window_in_the_plain_loop_uses_its_reference_frames() -> None:
    sim = WindowSimulator("btc", START, 2)
    result = run_window(list(sim_frames(sim)), sim.header, _settings(), outcome=sim.outcome)
    snap = result.snapshot
    assert snap is not None and snap.reference_ticks > 800
    assert snap.fair_up is not None
    (opened,) = [e for e in result.journal if isinstance(e, WindowOpenEntry)]
    assert sim.header.price_to_beat is not None
    assert (opened.open, opened.how) == (
        parse_reference_price(sim.header.price_to_beat),
        "price to beat",
    )
    (check,) = [e for e in result.journal if isinstance(e, ResolutionEntry)]
    assert check.exchange == sim.outcome and check.ours == sim.outcome
    # the journal puts each order's and fill's fair value beside its price
    intents = [e for e in result.journal if isinstance(e, OrderIntent)]
    assert intents and any(i.fair is not None for i in intents)
    assert all(f.fair is not None for f in result.fills if f.t_ns > at(60))
    window = summarize([snap]).windows[0]
    assert window.fair_up is not None and window.reference_open is not None
    assert _fair(snap) == _fair_text(snap.fair_up)
    assert window.reference_ticks == snap.reference_ticks


async def test_a_simulated_window_under_trio_on_the_mock_clock_shows_fair_value(
    autojump_clock: Any,
) -> None:
    settings = _settings(engine_assets="btc", engine_duration="960")
    engine = Engine(
        settings,
        exchange=PaperExchange(),
        market_data=SimMarketData(seed=7),
        events=Recorder(),
        first_start=START,
    )
    with trio.fail_after(5000):
        await engine.run()
    first = engine.windows[0]
    summary = summarize(engine.results())
    assert summary.windows[0].fair_up is not None and summary.totals.with_fair_value >= 1
    assert summary.windows[0].reference_ticks > 800
    # the same reference, the same open and resolution as the plain loop's
    sim = WindowSimulator("btc", START, 7)
    plain = run_window(list(sim_frames(sim)), sim.header, settings, outcome=sim.outcome)

    def fair_entries(journal: list[Any]) -> list[Any]:
        return [e for e in journal if isinstance(e, WindowOpenEntry | ResolutionEntry)]

    assert fair_entries(first.core.journal) == fair_entries(plain.journal)
    assert len(fair_entries(plain.journal)) == 2
    table = summary_table(summary)
    assert "fair" in [c.header for c in table.columns]


def _recording(tmp_path: Path) -> Path:
    path = tmp_path / "btc.zst"
    assert main(["sim", "--out", str(path), "--windows", "1", "--seed", "5"]) == 0
    return path


def test_a_recording_with_reference_frames_feeds_them_to_the_window(tmp_path: Path) -> None:
    data = ReplayMarketData(str(_recording(tmp_path)))
    assert data.reference_frames > 800
    feed = data.window("btc", data.first_start)
    frames = feed._frames
    assert any(isinstance(f, ReferenceFrame) for _, f in frames)
    assert [t for t, _ in frames] == sorted(t for t, _ in frames)
    result = run_window(frames, feed.header, _settings())
    assert result.snapshot is not None and result.snapshot.fair_up is not None
    assert [a for _, a, _ in result.notices if a == "fair_value_absent"] == []


def test_a_recording_without_reference_frames_runs_on_the_pair_rules(tmp_path: Path) -> None:
    header, frames = read_recording(_recording(tmp_path))  # market frames only
    old = tmp_path / "old.zst"
    write_recording(old, header, [(f.t, f.frame) for f in frames])
    data = ReplayMarketData(str(old))
    assert data.reference_frames == 0
    feed = data.window("btc", data.first_start)
    result = run_window(feed._frames, feed.header, _settings())
    assert result.winner in ("up", "down") and result.settlement_pnl is not None
    assert [a for _, a, _ in result.notices if a == "fair_value_absent"] == ["fair_value_absent"]
    assert result.snapshot is not None and result.snapshot.fair_up is None
    assert summarize([result.snapshot]).windows[0].fair_up is None


def test_replay_json_reports_the_reference_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _recording(tmp_path)
    capsys.readouterr()
    assert main(["replay", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reference"]["frames"] == ReplayMarketData(str(path)).reference_frames > 800


def test_live_ticks_and_a_late_price_to_beat_reach_the_window() -> None:
    """The live run hands windows ticks its socket client read (`TickFrame`), and Gamma's
    price to beat when discovery learnt it after the window's feed started: it replaces
    the open read from the feed, and is journaled as such."""
    from gabagool.venues.polymarket.reference_frames import ReferenceTick, TickFrame

    s = Scripted(_settings(), beat=None)
    start_ms = at(0) // MS

    def tick(offset_ms: int, price: str) -> ReferenceTick:
        return ReferenceTick("btc", "polybolt", "spot", parse_reference_price(price),
                             start_ms + offset_ms)

    s.out += s.core.on_frame(at(1), TickFrame((tick(-500, "99990"), tick(400, "100020"))))
    state = s.core.reference
    assert state is not None and state.ticks == 2
    assert state.fair.open_price == parse_reference_price("100020")
    opens = [e for e in s.core.journal if isinstance(e, WindowOpenEntry)]
    assert [e.how for e in opens] == ["reference"]
    s.out += s.core.on_frame(at(5), TickFrame(price_to_beat=parse_reference_price("100000")))
    assert state.fair.open_price == parse_reference_price("100000")
    s.out += s.core.on_frame(at(6), TickFrame(price_to_beat=parse_reference_price("100001")))
    assert state.fair.open_price == parse_reference_price("100000")  # final once known
    opens = [e for e in s.core.journal if isinstance(e, WindowOpenEntry)]
    assert [(e.how, e.open) for e in opens] == [
        ("reference", parse_reference_price("100020")),
        ("price to beat", parse_reference_price("100000")),
    ]
    value = s.core.fair_value()
    assert value is not None and value.open == parse_reference_price("100000")
