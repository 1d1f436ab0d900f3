"""`gabagool run --feed live` end to end: the engine, on the paper venue, trading the fake
Polymarket's windows through discovery and the market socket, as `run` wires it; and the
one-line failure when the exchange cannot be reached."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from clirun import assert_one_line_failure, gabagool
from fakes.fake_polymarket import FakePolymarket, FakeWindow
from gabagool.commands import run as run_command
from gabagool.config import Settings, load_settings
from gabagool.engine.summary import Summary
from gabagool.engine.supervisor import Engine
from gabagool.engine.view import summary_table
from gabagool.store import open_journal
from gabagool.types import NS
from gabagool.venues.base import OrderAck, OrderRequest
from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.live_feed import LiveMarketData
from rich.console import Console
from test_engine_store import DirectStore

START = 1_767_225_600
OUTCOMES = ("up", "down")
BIT = {"up": 1, "down": 2}


def live_settings(fake: FakePolymarket, tmp_path: Path, **env: str) -> Settings:
    values = {
        "engine_feed": "live",
        "engine_assets": "btc",
        "engine_data_dir": str(tmp_path),
        "engine_view": "false",
        "polymarket_gamma_url": fake.gamma_url,
        "polymarket_clob_url": fake.clob_url,
        "polymarket_market_ws_url": fake.ws_url,
        "reference_source": "off",  # the reference feed's own run test: test_run_live_reference
        **env,
    }
    return load_settings(
        environ={f"GABAGOOL_{k.upper()}": v for k, v in values.items()}, dotenv=None
    )


class StaleWatch:
    """An events sink: every order the engine places, with whether the book it priced was one
    the feed distrusted (after a socket drop, until the snapshot rebuilt it)."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.placed: list[tuple[float, str]] = []
        self.stale: list[tuple[float, str]] = []
        self.windows: dict[str, Any] = {}  # by slug: the feed and book outlive the run

    def attach(self, engine: Engine) -> None:
        self.engine = engine
        self.engine.events.sinks = (*engine.events.sinks, self)  # type: ignore[attr-defined]

    def order_placed(self, request: OrderRequest, ack: OrderAck) -> None:
        assert self.engine is not None
        window = next(w for w in self.engine.windows if w.market_id == request.market_id)
        self.windows[window.slug] = window
        now = trio.current_time()
        self.placed.append((now, request.outcome))
        shadow = window.feed.shadow  # type: ignore[attr-defined]
        core = window.core.market
        if request.action == "buy" and (
            shadow.needs_resync() & BIT[request.outcome]
            or core.needs_resync() & BIT[request.outcome]
            or not core.has_snapshot(request.outcome)
        ):
            self.stale.append((now, request.outcome))

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None  # the other events: nothing to check


async def run_engine_live(
    fake: FakePolymarket, tmp_path: Path, clock_start: int, fault: Any = None, **env: str
) -> tuple[Summary, LiveMarketData, StaleWatch]:
    watch = StaleWatch()
    async with trio.open_nursery() as nursery:
        clock = UnixClock.starting_at(clock_start * NS)
        await nursery.start(fake.run, clock)
        settings = live_settings(fake, tmp_path, **env)
        data = LiveMarketData(
            settings.polymarket,
            list(settings.engine.assets),
            clock=clock,
            resolution_wait=float(settings.engine.resolution_wait),
        )
        if fault is not None:
            nursery.start_soon(fault, fake, clock)
        summary = await run_command._main(
            settings,
            data,
            0,
            False,
            Console(file=None, force_terminal=False),
            1.0,
            run_command.Signals(),
            on_engine=watch.attach,
        )
        nursery.cancel_scope.cancel()
    return summary, data, watch


@pytest.fixture
def direct_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal's calls in the Trio thread (the loopback clock would wait for a worker
    thread's every call, in real time)."""

    async def open_store(location: str | None, *, data_dir: Any) -> DirectStore:
        return DirectStore(open_journal(location, data_dir=data_dir))

    monkeypatch.setattr(run_command, "open_store", open_store)


async def test_two_live_windows_traded_on_paper_rolled_over_and_a_drop_survived(
    tmp_path: Path,
    loopback_clock: trio.abc.Clock,
    direct_store: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakePolymarket(["btc"], START, windows=2)
    dropped_at: list[float] = []

    async def drop(fake: FakePolymarket, clock: UnixClock) -> None:
        await trio.sleep_until(clock.trio_time((START + 300) * NS))
        assert fake.drop_connections() == 1  # the loopback clock: subscribed long before
        dropped_at.append(trio.current_time())

    # from a little into the first window, past the second's settlement
    summary, data, watch = await run_engine_live(
        fake, tmp_path, START + 5, drop, engine_duration=str(1800 + 60 + 60 - 5)
    )

    assert not summary.failure
    # timers (cutoffs, equalizer, risk) run when due, not when the next frame comes along:
    # only the catch-up at start-up (discovery ran on the jumping clock) and the reconnect
    # may be reported as lag; a pump that waited for frames reported it hundreds of times
    lagging = [r for r in caplog.records if getattr(r, "event", None) == "lagging"]
    assert len(lagging) <= 2, [r.getMessage() for r in lagging]
    assert [w.slug for w in summary.windows] == [
        f"btc-updown-15m-{START}",
        f"btc-updown-15m-{START + 900}",
    ]
    for window in summary.windows:
        truth = fake.window_at("btc", window.start)
        assert window.winner == truth.outcome
    assert sum(w.fills for w in summary.windows) > 0
    # the drop: reconnected, every book dropped until its snapshot, nothing priced on one stale
    assert data.socket is not None and data.socket.reconnects >= 1 and dropped_at
    first = data.feeds.get(("btc", START))
    assert first is None or first.epochs == 1  # (forgotten once detached)
    assert watch.placed and watch.stale == []
    assert any(t > dropped_at[0] for t, _ in watch.placed)  # and it traded again after
    # the journal holds what the summary says, as a simulated run's does
    journal = open_journal(None, data_dir=tmp_path)
    try:
        windows = {w.window_id: w for w in journal.windows()}
        assert set(windows) == {w.slug for w in summary.windows}
        for window in summary.windows:
            record = windows[window.slug]
            assert window.status == "settled" and record.winner == window.winner
            assert len(journal.fills(window.slug)) == window.fills
        assert journal.resting_orders() == []
    finally:
        journal.close()
    # and the summary renders as the simulator's does
    console = Console(record=True, width=200)
    console.print(summary_table(summary))
    text = console.export_text()
    assert "btc 00:00" in text and "btc 00:15" in text and "2/2" in text


# ---- one fault a run: the engine, through the feed, past settlement -------------------------

# one window, the engine started half a minute before it opens; the fault comes a few minutes
# in, leaving time to trade after recovery; the run ends after settlement
JOIN = START - 30
FAULT_AT = START + 200
SPAN = str(30 + 900 + 60 + 60)


async def subscribed(fake: FakePolymarket, clock: UnixClock, unix_s: int) -> FakeWindow:
    """At `unix_s`: the window to fault, on the engine's one subscribed connection (on the
    loopback clock the start-up handshakes take no virtual time)."""
    await trio.sleep_until(clock.trio_time(unix_s * NS))
    assert [conn.subscribed for conn in fake.connections] == [True]
    return fake.window_at("btc", START)


def assert_settled_cleanly(
    fake: FakePolymarket, tmp_path: Path, summary: Summary, watch: StaleWatch
) -> None:
    """What a trader needs after any fault: no failure, the window settled with the right
    winner, nothing resting, and no buy priced on a book the feed or the core distrusted."""
    assert not summary.failure, summary.failure
    [window] = summary.windows
    assert window.slug == f"btc-updown-15m-{START}"
    assert window.status == "settled"
    assert window.winner == fake.window_at("btc", START).outcome
    assert watch.placed and watch.stale == []
    journal = open_journal(None, data_dir=tmp_path)
    try:
        [record] = journal.windows()
        assert record.winner == window.winner
        assert len(journal.fills(window.slug)) == window.fills
        assert journal.resting_orders() == []
    finally:
        journal.close()


def traded_after(watch: StaleWatch, when: list[float]) -> bool:
    return bool(when) and any(t > when[0] for t, _ in watch.placed)


async def test_silent_stall_replaces_the_link_and_trading_resumes(
    tmp_path: Path, loopback_clock: trio.abc.Clock, direct_store: None
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    stalled_at: list[float] = []

    async def stall(fake: FakePolymarket, clock: UnixClock) -> None:
        await subscribed(fake, clock, FAULT_AT)
        fake.stall_connections()  # PONGs keep coming, book frames stop
        stalled_at.append(trio.current_time())

    summary, data, watch = await run_engine_live(fake, tmp_path, JOIN, stall, engine_duration=SPAN)
    assert_settled_cleanly(fake, tmp_path, summary, watch)
    socket = data.socket
    assert socket is not None
    assert socket.stalls == 1 and socket.dead_links == 0 and socket.reconnects == 1
    [window] = watch.windows.values()
    assert window.feed.epochs == 1
    assert traded_after(watch, stalled_at)


async def test_malformed_frames_are_counted_the_book_resynced_and_the_run_goes_on(
    tmp_path: Path, loopback_clock: trio.abc.Clock, direct_store: None
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    garbled_at: list[float] = []

    async def garble(fake: FakePolymarket, clock: UnixClock) -> None:
        window = await subscribed(fake, clock, FAULT_AT)
        up = window.sim.up_token
        fake.inject(window, json.dumps({"asset_id": up, "event_type": "price_change"})[:-5])
        bad = {
            "event_type": "price_change",
            "market": window.header.condition_id,
            "timestamp": str(window.last_ms),
            "price_changes": [
                {
                    "asset_id": up,
                    "price": "1.7",
                    "size": "10",
                    "side": "BUY",
                    "hash": "x",
                    "best_bid": "0.5",
                    "best_ask": "0.51",
                }
            ],
        }
        fake.inject(window, json.dumps(bad))
        garbled_at.append(trio.current_time())

    summary, data, watch = await run_engine_live(fake, tmp_path, JOIN, garble, engine_duration=SPAN)
    assert_settled_cleanly(fake, tmp_path, summary, watch)
    [window] = watch.windows.values()
    assert window.feed.malformed == 1  # the unreadable one, not handed on
    counters = window.core.market.counters()
    assert counters["frame_errors"] == 0 and counters["up_bad_number"] == 1
    assert window.feed.rest_resyncs >= 1 and data.book_fetches >= 1
    assert traded_after(watch, garbled_at)


async def test_tick_size_change_opens_a_new_book_epoch_and_trading_resumes(
    tmp_path: Path, loopback_clock: trio.abc.Clock, direct_store: None
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    changed_at: list[float] = []

    async def tick(fake: FakePolymarket, clock: UnixClock) -> None:
        window = await subscribed(fake, clock, FAULT_AT)
        fake.tick_size_change(window, window.sim.down_token)
        changed_at.append(trio.current_time())

    summary, data, watch = await run_engine_live(fake, tmp_path, JOIN, tick, engine_duration=SPAN)
    assert_settled_cleanly(fake, tmp_path, summary, watch)
    down = fake.window_at("btc", START).sim.down_token
    resubscribed = [
        m
        for m in fake.subscribe_messages
        if m.get("operation") == "subscribe" and m.get("assets_ids") == [down]
    ]
    assert resubscribed and resubscribed[0]["initial_dump"]
    [window] = watch.windows.values()
    assert window.core.market.counters()["down_tick_changes"] >= 1
    assert window.core.market.tick("down") == 1_000  # the new tick, in micro-dollars
    assert traded_after(watch, changed_at)


async def test_gamma_errors_at_start_up_are_retried_and_the_run_trades(
    tmp_path: Path, loopback_clock: trio.abc.Clock, direct_store: None
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    fake.gamma_errors = [500, 429, 500]
    summary, data, watch = await run_engine_live(fake, tmp_path, JOIN, engine_duration=SPAN)
    assert_settled_cleanly(fake, tmp_path, summary, watch)
    assert fake.gamma_errors == [] and fake.gamma_requests >= 4


async def test_missing_market_resolved_settles_on_gammas_winner_with_a_warning(
    tmp_path: Path,
    loopback_clock: trio.abc.Clock,
    direct_store: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakePolymarket(["btc"], START, windows=1)
    fake.drop_resolution = True
    summary, data, watch = await run_engine_live(fake, tmp_path, JOIN, engine_duration=SPAN)
    assert_settled_cleanly(fake, tmp_path, summary, watch)
    [window] = watch.windows.values()
    assert window.feed.resolved is None  # settled on Gamma's word alone
    assert len(data.resolution_warnings) == 1
    assert "market_resolved never came" in data.resolution_warnings[0]
    warned = [
        r
        for r in caplog.records
        if r.levelname == "WARNING" and "market_resolved never came" in r.getMessage()
    ]
    assert warned


# ---- no exchange: one line, non-zero, quickly ---------------------------------------------


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe goes


@pytest.mark.parametrize("endpoints", ["closed-port", "defaults"])
def test_run_feed_live_without_the_exchange_fails_in_one_line(
    tmp_path: Path, endpoints: str
) -> None:
    env = {}
    if endpoints == "closed-port":
        port = closed_port()
        env = {
            "GABAGOOL_POLYMARKET_GAMMA_URL": f"http://127.0.0.1:{port}",
            "GABAGOOL_POLYMARKET_CLOB_URL": f"http://127.0.0.1:{port}",
            "GABAGOOL_POLYMARKET_MARKET_WS_URL": f"ws://127.0.0.1:{port}/ws/market",
        }
    else:
        # the real endpoints; the test machine has no route to them (and a name that does
        # not resolve fails the same way where it has)
        env = {"HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9"}
    began = time.monotonic()
    result = gabagool(
        "run",
        "--feed",
        "live",
        "--assets",
        "btc",
        "--no-view",
        "--data-dir",
        str(tmp_path),
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    elapsed = time.monotonic() - began
    assert_one_line_failure(result, "gabagool run:", code=1)
    assert elapsed < 30, elapsed


def test_venue_live_is_not_built_yet(tmp_path: Path) -> None:
    result = gabagool(
        "run",
        "--venue",
        "live",
        "--feed",
        "live",
        "--no-view",
        "--data-dir",
        str(tmp_path),
        cwd=tmp_path,
    )
    assert_one_line_failure(result, "--venue live", "not built yet", code=2)
