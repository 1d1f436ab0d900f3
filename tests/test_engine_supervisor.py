"""The supervisor: rollover, settlement, the control channel, stop, and `gabagool run`."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import trio
from gabagool.cli import main
from gabagool.engine.supervisor import Engine
from gabagool.types import NS
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import ListWindowFeed, SimMarketData
from test_engine_scenarios import (
    START,
    Recorder,
    books,
    header,
    resolved,
    settings,
    stamped,
    trade,
)


class ScriptedMarketData:
    """The same scripted book for every window: an Up dip, then nothing new."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, int, float]] = []

    def window(self, asset: str, start: int) -> ListWindowFeed:
        self.opened.append((asset, start, trio.current_time()))
        h = header()
        h = type(h)(
            **{
                **{f: getattr(h, f) for f in h.__struct_fields__},
                "start": start,
                "end": start + 900,
                "asset": asset,
                "slug": f"{asset}-updown-15m-{start}",
                "condition_id": f"0x{asset}{start}",
            }
        )
        t0 = start * NS
        frames = [(t0 + NS, books("0.39", "0.41")), (t0 + 10 * NS, trade("up", "0.39"))]
        frames += [(t0 + s * NS, books("0.39", "0.41")) for s in range(20, 890, 5)]
        frames += [(t0 + 899 * NS, resolved("up"))]
        return ListWindowFeed(h, stamped(frames))


# The design's pair rules, under which this test's windows trade; the defaults add the
# backtests' bounds on unpaired risk and sit out many windows (docs/STRATEGY.md).
DESIGN_PAIR_RULES = {
    "GABAGOOL_STRATEGY_ENTRY_MAX_PRICE": "0.45",
    "GABAGOOL_STRATEGY_OPEN_CUTOFF": "120",
    "GABAGOOL_STRATEGY_EXCESS_MIN_MID": "0",
    "GABAGOOL_STRATEGY_UNHEDGED_CAP": "0",
    "GABAGOOL_STRATEGY_DELTA_PER_PAIR_PCT": "0",
}


def engine_for(data, **env: str) -> tuple[Engine, PaperExchange, Recorder]:  # type: ignore[no-untyped-def]
    exchange, events = PaperExchange(), Recorder()
    engine = Engine(
        settings(**env), exchange=exchange, market_data=data, events=events, first_start=START
    )
    return engine, exchange, events


async def test_rollover_opens_the_next_window_before_the_current_ends(autojump_clock) -> None:
    data = ScriptedMarketData()
    engine, exchange, events = engine_for(data, engine_assets="btc,eth", engine_duration="1000")
    with trio.fail_after(5000):
        await engine.run()
    opened = sorted((start, asset) for asset, start, _ in data.opened)
    assert opened == [(START, "btc"), (START, "eth"), (START + 900, "btc"), (START + 900, "eth")]
    end_of_first = engine.clock.trio_time((START + 900) * NS)  # type: ignore[union-attr]
    assert all(t < end_of_first for _, start, t in data.opened if start == START + 900)
    first = engine.windows[:2]
    assert all(w.winner == "up" and w.settlement_pnl is not None for w in first)
    assert len(events.settled) == 2
    assert engine.stopped_by == "duration"
    assert exchange.open_orders() == []


async def test_halt_cancels_everything_and_resume_trades_again(autojump_clock) -> None:
    engine, exchange, events = engine_for(ScriptedMarketData(), engine_assets="btc")

    async def drive() -> None:
        await engine.clock.sleep_until((START + 5) * NS)  # type: ignore[union-attr]
        assert exchange.open_orders()
        await engine.control.send("halt")
        await trio.sleep(0.5)
        assert exchange.open_orders() == [] and engine.portfolio.halted
        await trio.sleep(5)
        assert exchange.open_orders() == []
        await engine.control.send("resume")
        await trio.sleep(6)
        assert not engine.portfolio.halted and exchange.open_orders()
        await engine.control.send("stop")

    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            nursery.start_soon(drive)
    assert engine.stopped_by == "stop"
    assert exchange.open_orders() == []
    assert ("halt", "manual halt") in events.risk


async def test_panic_halts_and_flattens_every_window(autojump_clock) -> None:
    engine, exchange, events = engine_for(ScriptedMarketData(), engine_assets="btc,eth")

    async def drive() -> None:
        await engine.clock.sleep_until((START + 15) * NS)  # type: ignore[union-attr]
        assert all(w.position.delta > 0 for w in engine.open_windows())
        await engine.control.send("panic")
        await trio.sleep(1)
        assert all(w.position.delta == 0 for w in engine.open_windows())
        await trio.sleep(30)
        assert exchange.open_orders() == []
        engine.stop("test")

    with trio.fail_after(100):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            nursery.start_soon(drive)
    assert engine.portfolio.halt_reason == "panic"
    assert [a for a, _ in events.risk].count("liquidate") == 2


async def test_simulated_windows_settle_with_the_simulators_outcome(autojump_clock) -> None:
    data = SimMarketData(seed=7)
    engine, exchange, events = engine_for(data, engine_assets="btc", engine_duration="960")
    with trio.fail_after(5000):
        await engine.run()
    first = engine.windows[0]
    assert first.core.frames > 100
    assert first.winner == first.feed.fallback_outcome()  # type: ignore[attr-defined]
    assert first.resolved == first.winner
    assert exchange.open_orders() == []


def test_gabagool_run_writes_a_summary_and_exits_0(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in DESIGN_PAIR_RULES.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "summary.json"
    code = main(
        [
            "run",
            "--assets",
            "btc",
            "--speed",
            "100",  # behind by 0.1 s of a busy machine's time fails a run (risk.stale_after)
            "--duration",
            "1000",
            "--summary-json",
            str(out),
            "--data-dir",
            str(tmp_path),
            "--no-view",
            "--start",
            str(START),
            "--seed",
            "3",
        ]
    )
    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["totals"]["windows"] == 2 and summary["totals"]["settled"] == 1
    first = summary["windows"][0]
    assert first["status"] == "settled" and first["winner"] in ("up", "down")
    for key in (
        "fills",
        "qty_up",
        "qty_down",
        "avg_up",
        "pair_cost",
        "delta",
        "fees",
        "settlement_pnl",
    ):
        assert key in first
    # where the money went: the parts add up to the settlement PnL, to the micro-dollar
    split = first["pnl_split"]
    parts = [Decimal(split[k]) for k in ("locked", "unpaired", "sells", "fees")]
    assert abs(sum(parts) - Decimal(first["settlement_pnl"])) <= Decimal("0.000004")
    assert first["fills"] > 0 and Decimal(first["volume"]) > 0
    assert first["maker_fills"] + first["taker_fills"] == first["fills"]
    assert Decimal(first["largest_unhedged"]) >= abs(Decimal(first["delta"]))
    assert summary["totals"]["pnl_split"]["locked"] == split["locked"]  # one settled window
    second = summary["windows"][1]
    assert second["status"] == "unsettled" and second["pnl_split"]["unpaired"] is None
    logs = list((tmp_path / "logs").glob("*.jsonl"))
    entries = [json.loads(line) for line in logs[0].read_text().splitlines()]
    events = {e.get("event") for e in entries}
    assert {"window_opened", "order", "fill", "window_settled"} <= events
    assert any(e["level"] == "DEBUG" for e in entries)  # the file takes DEBUG, the console INFO
    logger = logging.getLogger("gabagool")
    assert logger.propagate and not logger.handlers  # put back as it was


def test_gabagool_run_refuses_a_venue_it_cannot_run(capsys) -> None:
    assert main(["run", "--venue", "live", "--no-view"]) == 2
    assert "not built yet" in capsys.readouterr().err


def test_sigterm_cancels_every_order_writes_the_summary_and_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gabagool",
            "run",
            "--speed",
            "20",
            "--no-view",
            "--summary-json",
            str(out),
            "--data-dir",
            str(tmp_path),
            "--start",
            str(START),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        logs = tmp_path / "logs"
        # wait until the engine has placed an order, then stop it
        while time.monotonic() < deadline:
            files = list(logs.glob("*.jsonl")) if logs.exists() else []
            if files and '"event":"order"' in files[0].read_text():
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    summary = json.loads(out.read_text())
    assert summary["totals"]["windows"] == 2
    lines = [json.loads(line) for line in next(logs.glob("*.jsonl")).read_text().splitlines()]
    placed = {e["order_id"] for e in lines if e.get("event") == "order" and e.get("resting")}
    gone = {e["order_id"] for e in lines if e.get("event") == "cancel"}
    filled = {e["order_id"] for e in lines if e.get("event") == "fill"}
    assert placed and placed <= gone | filled  # nothing left resting


class FlakyMarketData(ScriptedMarketData):
    """Discovery fails twice for the first window, then works."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def window(self, asset: str, start: int) -> ListWindowFeed:
        if self.failures < 2:
            self.failures += 1
            raise ConnectionError("gamma answered 503")
        return super().window(asset, start)


async def test_a_window_that_cannot_be_opened_is_retried_with_backoff(autojump_clock) -> None:
    data = FlakyMarketData()
    engine, exchange, events = engine_for(data, engine_assets="btc", engine_duration="100")
    with trio.fail_after(500):
        await engine.run()
    assert [task for task, _ in events.failures] == ["open_window", "open_window"]
    (_asset, start, opened_at), *_ = data.opened
    assert start == START and opened_at - engine.clock.trio_origin == 3.0  # type: ignore[union-attr]
    assert engine.windows[0].stats.placed > 0


def test_gabagool_run_replays_a_recording_to_its_end(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    recording, out = tmp_path / "eth.zst", tmp_path / "summary.json"
    assert (
        main(["sim", "--out", str(recording), "--asset", "eth", "--windows", "2", "--seed", "4"])
        == 0
    )
    code = main(
        [
            "run",
            "--feed",
            f"replay:{recording}",
            "--speed",
            "2000",
            "--no-view",
            "--summary-json",
            str(out),
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    windows = json.loads(out.read_text())["windows"]
    assert [w["slug"] for w in windows] == [
        f"eth-updown-15m-{START}",
        f"eth-updown-15m-{START + 900}",
    ]
    assert all(w["status"] == "settled" and w["winner"] in ("up", "down") for w in windows)


def test_gabagool_run_refuses_a_recording_without_the_asset(tmp_path: Path, capsys) -> None:
    recording = tmp_path / "eth.zst"
    assert main(["sim", "--out", str(recording), "--asset", "eth", "--windows", "1"]) == 0
    code = main(
        [
            "run",
            "--feed",
            f"replay:{recording}",
            "--assets",
            "btc",
            "--no-view",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "holds no btc window" in capsys.readouterr().err
