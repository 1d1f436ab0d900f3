"""Hypothesis over simulator seeds: the engine's invariants hold on every simulated window."""

from __future__ import annotations

import trio
import trio.testing
from gabagool.engine.core import FillEntry
from gabagool.engine.core.orders import Placement
from gabagool.engine.supervisor import Engine
from gabagool.venues.base import Fill
from gabagool.venues.paper import PaperExchange
from gabagool.venues.sim_feed import SimMarketData
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_scenarios import START, Recorder
from test_engine_scenarios import settings as engine_settings

MICROS = 1_000_000


class TimedRecorder(Recorder):
    """Also notes the Trio time of each fill and the delta after it."""

    def __init__(self) -> None:
        super().__init__()
        self.deltas: list[int] = []
        self.fill_times: list[tuple[str, float]] = []

    def fill(self, fill: Fill, delta: int, pair_cost: str | None) -> None:
        super().fill(fill, delta, pair_cost)
        self.deltas.append(delta)
        self.fill_times.append((fill.market_id, trio.current_time()))


def run_engine(
    seed: int, asset: str, mode: str = "maker"
) -> tuple[Engine, PaperExchange, TimedRecorder]:
    exchange, events = PaperExchange(), TimedRecorder()
    engine = Engine(
        engine_settings(engine_assets=asset, engine_duration="1000", strategy_mode=mode),
        exchange=exchange,
        market_data=SimMarketData(seed),
        events=events,
        first_start=START,
    )
    trio.run(engine.run, clock=trio.testing.MockClock(autojump_threshold=0))
    return engine, exchange, events


def placed_within_rule(fill: FillEntry, placed: Placement | None, params) -> bool:  # type: ignore[no-untyped-def]
    """The rule, re-derived from the position recorded when the order was placed."""
    assert placed is not None, f"fill {fill} of an order the engine did not place"
    if fill.rule == "opening":
        return placed.qty_other == 0 and fill.price * fill.size + fill.fee * MICROS <= (
            params.entry_max_price * fill.size
        )
    if fill.rule == "pairing":
        # p + fee/size + cost_other/qty_other <= target, cross-multiplied
        paid = fill.price * fill.size + fill.fee * MICROS
        return placed.qty_other > 0 and paid * placed.qty_other + placed.cost_other * fill.size <= (
            params.target_pair_cost * fill.size * placed.qty_other
        )
    return True


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    asset=st.sampled_from(["btc", "eth"]),
    mode=st.sampled_from(["maker", "taker"]),
)
def test_engine_invariants_hold_for_every_simulated_window(
    seed: int, asset: str, mode: str
) -> None:
    engine, exchange, events = run_engine(seed, asset, mode)
    window = engine.windows[0]
    params = window.params
    # |delta| never beyond max_delta plus one order
    assert all(abs(d) <= params.max_delta + params.trade_size for d in events.deltas)
    for fill in window.core.fills:
        if fill.rule in ("opening", "pairing"):
            order = window.core.orders.get(fill.client_id)
            placed = order.placement if order is not None else None
            assert placed_within_rule(fill, placed, params), fill
    # the position is the sum of its fills
    for w in engine.windows:
        for outcome, qty in (("up", w.position.qty_up), ("down", w.position.qty_down)):
            signed = sum(
                f.size if f.side == "buy" else -f.size for f in w.core.fills if f.outcome == outcome
            )
            assert signed == qty
    # nothing rests, and nothing fills, after a window ends
    assert window.settlement_pnl is not None
    assert not [task for task, _ in events.failures if task == "window"]
    assert exchange.open_orders() == []
    end_time = engine.clock.trio_time(window.end_ns)  # type: ignore[union-attr]
    assert all(t <= end_time for market, t in events.fill_times if market == window.market_id)
    # the paper exchange's cash agrees with the engine's accounts
    assert exchange.cash == window.settlement_pnl + sum(
        w.position.realized - w.position.cost_up - w.position.cost_down for w in engine.windows[1:]
    )
