"""One window of the engine on scripted books, on Trio's MockClock: one test per rule."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from fractions import Fraction
from typing import Any

import trio
from design_rules import DESIGN_PAIR_RULES as DESIGN_ENV
from gabagool.config import Settings, load_settings, micros, picos
from gabagool.engine.clock import MarketClock
from gabagool.engine.portfolio import Portfolio
from gabagool.engine.window import Window
from gabagool.recording import FeeScheduleHeader, MarketHeader
from gabagool.types import NS
from gabagool.venues.base import Fill, OrderAck, OrderRequest
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import ListWindowFeed

START = 1_767_225_600
END = START + 900
UP, DOWN = "1001", "2002"
CONDITION = "0xc0ffee"


def header(rate: str = "0.072") -> MarketHeader:
    return MarketHeader(
        asset="btc",
        slug=f"btc-updown-15m-{START}",
        condition_id=CONDITION,
        up_token=UP,
        down_token=DOWN,
        start=START,
        end=END,
        tick_size="0.01",
        min_order_size="5",
        fee_schedule=FeeScheduleHeader(rate=rate, exponent=1, taker_only=True, rebate_rate="0"),
    )


TS = "@TS@"  # replaced by each frame's own ms time: the core drops repeated (timestamp, hash)


def stamped(frames: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [(t, text.replace(TS, str(t // 1_000_000))) for t, text in frames]


def at(seconds: float) -> int:
    return START * NS + int(seconds * NS)


def _levels(levels: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"price": p, "size": s} for p, s in levels]


def books(up_bid: str, up_ask: str, *, size: str = "200", depth: str = "500", t_ms: int = 0) -> str:
    """Both books, mirrored (an Up bid at p is a Down ask at 1 - p), deep one cent away."""

    def one(token: str, bid: str, ask: str) -> dict[str, Any]:
        b, a = int(round(float(bid) * 100)), int(round(float(ask) * 100))
        return {
            "event_type": "book",
            "market": CONDITION,
            "asset_id": token,
            "timestamp": TS,
            "hash": f"h{TS}{token}",
            "bids": _levels([(f"0.{b - 1:02d}", depth), (bid, size)]),
            "asks": _levels([(f"0.{a + 1:02d}", depth), (ask, size)]),
            "tick_size": "0.01",
        }

    down_bid = f"0.{100 - int(round(float(up_ask) * 100)):02d}"
    down_ask = f"0.{100 - int(round(float(up_bid) * 100)):02d}"
    return json.dumps([one(UP, up_bid, up_ask), one(DOWN, down_bid, down_ask)])


def trade(outcome: str, price: str, size: str = "1000", side: str = "SELL") -> str:
    return json.dumps(
        {
            "event_type": "last_trade_price",
            "market": CONDITION,
            "asset_id": UP if outcome == "up" else DOWN,
            "price": price,
            "size": size,
            "side": side,
            "fee_rate_bps": "720",
            "timestamp": TS,
        }
    )


def resolved(winner: str) -> str:
    token = UP if winner == "up" else DOWN
    return json.dumps(
        {
            "event_type": "market_resolved",
            "market": CONDITION,
            "assets_ids": [UP, DOWN],
            "winning_asset_id": token,
            "winning_outcome": "Up" if winner == "up" else "Down",
            "timestamp": str(END * 1000),
        }
    )


DESIGN_PAIR_RULES = {
    k.removeprefix("GABAGOOL_").lower(): v for k, v in DESIGN_ENV.items()
}


def settings(**env: str) -> Settings:
    """The design's pair rules, and a stop-loss only where a test is about it: at 2% of the
    capital in the window it fires on the first tick against a lone opening leg (its exit fee
    included)."""
    env = {"risk_stop_loss_pct": "50", **DESIGN_PAIR_RULES, **env}
    return load_settings(environ={f"GABAGOOL_{k.upper()}": v for k, v in env.items()}, dotenv=None)


class Recorder:
    """An `EngineEvents` sink that keeps everything for assertions."""

    def __init__(self) -> None:
        self.orders: list[tuple[OrderRequest, OrderAck]] = []
        self.order_times: list[tuple[OrderRequest, float]] = []
        self.fills: list[Fill] = []
        self.cancels: list[tuple[str, str]] = []
        self.risk: list[tuple[str, str]] = []
        self.failures: list[tuple[str, BaseException]] = []
        self.settled: list[tuple[str | None, int]] = []

    def window_opened(self, market_id: str, slug: str, start: int, end: int) -> None:
        pass

    def order_placed(self, request: OrderRequest, ack: OrderAck) -> None:
        self.orders.append((request, ack))
        self.order_times.append((request, trio.current_time()))

    def order_cancelled(self, market_id: str, order_id: str, reason: str) -> None:
        self.cancels.append((order_id, reason))

    def fill(self, fill: Fill, delta: int, pair_cost: str | None) -> None:
        self.fills.append(fill)

    def risk_action(self, market_id: str, action: str, detail: str) -> None:
        self.risk.append((action, detail))

    def task_failed(self, market_id: str, task: str, error: BaseException) -> None:
        self.failures.append((task, error))

    def window_settled(self, market_id: str, slug: str, winner: str | None, pnl: int) -> None:
        self.settled.append((winner, pnl))

    def actions(self) -> list[str]:
        return [action for action, _ in self.risk]


class Run:
    def __init__(self, window: Window, exchange: PaperExchange, events: Recorder) -> None:
        self.window, self.exchange, self.events = window, exchange, events


async def run_window(
    frames: list[tuple[int, str]],
    *,
    config: Settings | None = None,
    rate: str = "0.072",
    during: Callable[[Run], Awaitable[None]] | None = None,
    prepare: Callable[[Window], None] | None = None,
    outcome: str | None = None,
    keepalive: bool = True,
) -> Run:
    """The window from its start to its settlement, `during` running beside it."""
    config = config or settings()
    exchange = PaperExchange()
    events = Recorder()
    portfolio = Portfolio(
        max_capital=picos(config.risk.max_capital, "max_capital"),
        max_unhedged=micros(config.risk.max_unhedged, "max_unhedged"),
        daily_loss_limit=picos(config.risk.daily_loss_limit, "daily_loss_limit"),
        events=events,
    )
    clock = MarketClock.starting_now(START * NS)
    feed = ListWindowFeed(header(rate), stamped(frames), outcome=outcome, keepalive=keepalive)  # type: ignore[arg-type]
    window = Window(
        feed=feed,
        exchange=exchange,
        settings=config,
        portfolio=portfolio,
        events=events,
        clock=clock,
    )
    if prepare is not None:
        prepare(window)
    run = Run(window, exchange, events)
    with trio.fail_after(3600):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(window.run)
            if during is not None:
                await during(run)
    return run


def fills_by_rule(run: Run, rule: str) -> list[Fill]:
    return [f for f in run.events.fills if f.rule == rule]


# ---- accumulation -------------------------------------------------------------------------


async def test_up_dips_to_40_opens_then_down_dips_to_pair_under_target(autojump_clock) -> None:
    frames = [
        (at(1), books("0.49", "0.51")),
        (at(10), books("0.39", "0.41")),  # Up cheap: an opening bid rests
        (at(12), trade("up", "0.39")),
        (at(100), books("0.60", "0.62")),  # Up rallied, so Down is cheap now
        (at(102), trade("down", "0.38")),
        (at(899), resolved("up")),
    ]
    run = await run_window(frames)
    opening, pairing = fills_by_rule(run, "opening"), fills_by_rule(run, "pairing")
    assert opening and all(f.outcome == "up" and f.price <= 450_000 and f.maker for f in opening)
    assert pairing and all(f.outcome == "down" for f in pairing)
    p = run.window.position
    assert p.qty_up == p.qty_down == 10_000_000
    assert p.pair_cost is not None and p.pair_cost <= Fraction(98, 100)
    assert run.window.stats.breaches == 0
    assert run.events.settled[0][0] == "up"
    # paid below $0.98 a pair, $1 a pair back
    assert run.window.settlement_pnl == 10 * 10**12 - p.cost_up - p.cost_down
    assert run.window.settlement_pnl > 0
    assert run.exchange.cash == run.window.settlement_pnl
    assert run.exchange.open_orders() == []


async def test_no_opening_leg_while_both_sides_are_dear(autojump_clock) -> None:
    frames = [
        (at(1), books("0.49", "0.51")),
        (at(5), trade("up", "0.49")),
        (at(899), resolved("up")),
    ]
    run = await run_window(frames)
    assert run.events.fills == []
    assert all(req.price <= 450_000 for req, _ in run.events.orders)


async def test_delta_at_the_limit_places_nothing_more_on_that_side(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41"))]
    frames += [(at(10 + i), trade("up", "0.39")) for i in range(0, 60, 5)]
    frames += [(at(899), resolved("down"))]
    run = await run_window(frames, config=settings(strategy_max_delta="20"))
    p = run.window.position
    assert p.qty_up == 20_000_000 and p.qty_down == 0
    late_up_orders = [
        r
        for r, ack in run.events.orders
        if r.outcome == "up" and r.action == "buy" and ack.accepted
    ]
    assert len(late_up_orders) == 2  # two clips of 10, then nothing on Up


async def test_inside_the_open_cutoff_no_opening_leg_is_placed(autojump_clock) -> None:
    frames = [
        (at(1), books("0.49", "0.51")),
        (at(800), books("0.39", "0.41")),  # cheap, but T-100 s
        (at(805), trade("up", "0.39")),
        (at(899), resolved("up")),
    ]
    run = await run_window(frames)
    assert run.events.fills == []  # the 0.45 bid resting since t=1 was gone by then
    cutoff = run.window.clock.trio_time(at(900 - 120))
    assert not [r for r, t in run.events.order_times if r.rule == "opening" and t >= cutoff]


async def test_quote_cutoff_cancels_every_resting_order(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41")), (at(10), trade("up", "0.39"))]
    frames += [(at(t), books("0.44", "0.46")) for t in range(20, 900, 5)]  # pairing bid on Down
    frames += [(at(899), resolved("up"))]

    async def watch(run: Run) -> None:
        await run.window.clock.sleep_until(at(900 - 9))
        assert run.exchange.open_orders() == []
        assert "quote_cutoff" in run.events.actions()

    await run_window(frames, during=watch)


# ---- equalizer and risk ---------------------------------------------------------------------


async def test_unhedged_leg_at_the_open_cutoff_is_repaired_under_max_pair_cost(
    autojump_clock,
) -> None:
    frames = [(at(1), books("0.39", "0.41")), (at(10), trade("up", "0.39"))]
    # Down never gets cheap enough to pair at 0.98, but can be bought under 1.00
    frames += [(at(t), books("0.42", "0.44")) for t in range(20, 890, 10)]
    frames += [(at(899), resolved("down"))]
    run = await run_window(frames)
    p = run.window.position
    repairs = [f for f in run.events.fills if f.rule.startswith("equalize")]
    assert repairs and all(f.outcome == "down" for f in repairs)
    assert p.delta == 0
    assert p.pair_cost is not None and p.pair_cost < 1


async def test_frames_stop_orders_cancelled_and_trading_pauses(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41")), (at(100), books("0.39", "0.41"))]
    frames += [(at(899), resolved("up"))]

    async def watch(run: Run) -> None:
        await run.window.clock.sleep_until(at(5))
        assert run.exchange.open_orders(), "an opening bid rests while frames flow"
        await run.window.clock.sleep_until(at(1 + 10.5))  # stale_after 10 s
        assert run.window.feed_stale and run.exchange.open_orders() == []
        await run.window.clock.sleep_until(at(50))
        assert run.exchange.open_orders() == []  # still paused
        await run.window.clock.sleep_until(at(102))
        assert not run.window.feed_stale and run.exchange.open_orders()

    run = await run_window(frames, during=watch, keepalive=False)
    assert "feed_stale" in run.events.actions() and "feed_resumed" in run.events.actions()


async def test_stop_loss_flattens_the_unhedged_excess(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41")), (at(10), trade("up", "0.39"))]
    frames += [(at(30), books("0.20", "0.22"))]  # Up collapses: the leg is 0.19 under water
    frames += [(at(899), resolved("down"))]
    run = await run_window(frames, config=settings(risk_stop_loss_pct="2"))
    assert "liquidate" in run.events.actions()
    p = run.window.position
    assert p.delta == 0  # sold the Up excess or bought the Down leg, whichever was cheaper
    assert run.window.halt_reason.startswith("stop loss")
    assert any(f.rule.startswith("stop_loss") for f in run.events.fills)


async def test_over_max_delta_stops_accumulation_and_equalizes(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41"))]
    frames += [(at(t), books("0.39", "0.41")) for t in range(5, 60, 5)]
    frames += [(at(899), resolved("up"))]

    def inherited(window: Window) -> None:  # a position rebuilt after a restart
        window.position.buy("up", 400_000, 60_000_000, 0)

    async def watch(run: Run) -> None:
        await run.window.clock.sleep_until(at(7))
        assert run.window.delta_blocked
        resting = run.exchange.open_orders()
        assert resting and all(o.request.outcome == "down" for o in resting)

    run = await run_window(frames, prepare=inherited, during=watch)
    assert "max_delta" in run.events.actions()


async def test_exit_liquidity_short_halts_when_configured(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41", size="5", depth="5")), (at(899), resolved("up"))]

    def inherited(window: Window) -> None:
        window.position.buy("up", 400_000, 40_000_000, 0)

    run = await run_window(frames, config=settings(risk_exit_liquidity="halt"), prepare=inherited)
    assert "exit_liquidity" in run.events.actions()
    assert run.window.halt_reason == "exit liquidity short"


async def test_capital_cap_blocks_new_orders(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41")), (at(10), trade("up", "0.39"))]
    frames += [(at(899), resolved("up"))]
    run = await run_window(frames, config=settings(risk_max_capital="1"))
    assert run.events.fills == [] and run.events.orders == []


async def test_daily_loss_beyond_the_limit_halts_everything(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41"))]
    frames += [(at(t), books("0.10", "0.12")) for t in range(5, 60, 5)]
    frames += [(at(899), resolved("down"))]

    def inherited(window: Window) -> None:
        window.position.buy("up", 400_000, 20_000_000, 0)  # $8 at cost, $2 at the bid later

    config = settings(risk_daily_loss_limit="5", risk_stop_loss_pct="100")
    run = await run_window(frames, config=config, prepare=inherited)
    assert run.window.portfolio.halted
    assert "daily loss" in run.window.portfolio.halt_reason


async def test_settlement_pays_the_winner_and_nothing_rests_after_the_end(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41")), (at(10), trade("up", "0.39"))]
    frames += [(at(899), resolved("down"))]
    run = await run_window(frames)
    p = run.window.position
    assert p.qty_up == 10_000_000
    assert run.window.winner == "down"
    assert run.window.settlement_pnl == -(p.cost_up + p.cost_down)
    assert run.exchange.open_orders() == []
    assert run.window.venue.winner == "down"  # the paper venue read the resolution itself
    assert run.exchange.cash == run.window.settlement_pnl


async def test_winner_falls_back_to_the_feed_when_resolution_never_comes(autojump_clock) -> None:
    frames = [(at(1), books("0.49", "0.51"))]
    run = await run_window(frames, outcome="up")
    assert run.window.winner == "up" and run.window.resolved is None


# ---- supervision --------------------------------------------------------------------------


async def test_unparseable_frames_are_counted_and_never_stop_the_feed_or_the_settlement(
    autojump_clock,
) -> None:
    frames = [(at(1), books("0.49", "0.51"))]
    frames += [(at(2 + i), "{not json") for i in range(4)]
    frames += [(at(20), books("0.39", "0.41")), (at(22), trade("up", "0.39"))]
    frames += [(at(899), resolved("up"))]
    run = await run_window(frames, config=settings(risk_task_restarts="2"))
    assert run.events.failures == []
    assert run.window.core.bad_frames == 4
    assert run.events.actions().count("bad_frame") == 4
    assert fills_by_rule(run, "opening")  # the frames after the bad ones still trade
    assert run.window.winner == "up" and run.window.settlement_pnl is not None


async def test_a_failing_decision_halts_and_liquidates_the_window(autojump_clock) -> None:
    frames = [(at(1), books("0.39", "0.41")), (at(10), trade("up", "0.39"))]
    frames += [(at(t), books("0.39", "0.41")) for t in range(15, 100, 5)]
    frames += [(at(899), resolved("up"))]

    def sabotage(window: Window) -> None:
        core = window.core
        original = core.on_timer
        exploded: list[int] = []

        def on_timer(t_ns: int) -> list:  # type: ignore[type-arg]
            if core.position.qty_up and not exploded:
                exploded.append(t_ns)
                raise RuntimeError("risk model exploded")
            return original(t_ns)

        core.on_timer = on_timer  # type: ignore[method-assign]

    run = await run_window(frames, prepare=sabotage)
    assert [task for task, _ in run.events.failures] == ["window"]
    assert run.window.halt_reason.startswith("window step failed")
    assert run.window.position.delta == 0
    assert run.window.winner == "up"  # and it still settles
