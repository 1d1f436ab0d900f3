"""The engine judges fills and counts live buys with the core's own rules (`_core`), so a
bound's edge is where the scan put it: equalizing strictly below max_pair_cost, pairing and
opening at their bound allowed, a FAK counted with the fee where it peaks."""

from __future__ import annotations

import random

import pytest
from gabagool import core
from gabagool.engine.core import FillEntry
from gabagool.venues.base import OrderRequest
from test_engine_core import SHARE, Script, _placed

PICO = 10**12


def _after_up_fill() -> tuple[Script, dict[str, str]]:
    """A core holding 10 Up at 0.40, with its next scan's Down orders by rule."""
    s = Script()
    up = next(p for p in _placed(s.tick(1)) if p.request.outcome == "up")
    s.event(s.fill(up.request.client_id, "up-1", price=400_000))
    down = {p.request.rule: p.request.client_id for p in _placed(s.tick(2))}
    assert {"pairing", "equalize_maker"} <= set(down)
    return s, down


def _breach(s: Script, client_id: str, price: int, fee: int = 0) -> bool:
    s.event(s.fill(client_id, f"f-{price}-{fee}", outcome="down", price=price, fee=fee))
    entry = [e for e in s.core.journal if isinstance(e, FillEntry)][-1]
    assert entry.breach == (s.core.orders.stats.breaches == 1)
    return entry.breach


@pytest.mark.parametrize(("price", "breach"), [(600_000, True), (599_999, False)])
def test_an_equalizing_fill_at_exactly_max_pair_cost_is_a_breach(price: int, breach: bool) -> None:
    # 0.60 + 0.40 = 1.00 = max_pair_cost: `<` fails where the old Python `<=` passed
    s, down = _after_up_fill()
    assert _breach(s, down["equalize_maker"], price) is breach


@pytest.mark.parametrize(("price", "fee", "breach"), [(580_000, 0, False), (580_000, 1, True)])
def test_a_pairing_fill_at_exactly_the_target_keeps_the_rule(
    price: int, fee: int, breach: bool
) -> None:
    # 0.58 + 0.40 = 0.98 = target_pair_cost is allowed; one micro-dollar of fee is not
    s, down = _after_up_fill()
    assert _breach(s, down["pairing"], price, fee) is breach


def test_a_fill_no_rule_asked_for_is_no_breach_and_an_unknown_rule_is_an_error() -> None:
    params = core.StrategyParams()
    fill = {"price": 990_000, "size": SHARE, "fee": 0, "qty_self": 0, "cost_self": 0}
    assert core.buy_within_rule("", params, **fill, qty_other=SHARE, cost_other=PICO // 2)
    with pytest.raises(core.ParamsError, match="unknown rule"):
        core.buy_within_rule("equalise", params, **fill, qty_other=SHARE, cost_other=0)


def _request(price: int, order_type: str, post_only: bool) -> OrderRequest:
    return OrderRequest(
        market_id="m",
        outcome="up",
        action="buy",
        price=price,
        size=10 * SHARE,
        order_type=order_type,  # type: ignore[arg-type]
        post_only=post_only,
    )


def test_the_cores_committed_capital_counts_a_live_fak_at_the_peak_fee() -> None:
    from gabagool.engine.core.rules import worst_buy_cost

    fees = core.FeeSchedule(72_000)
    # post-only GTC at 0.70: a maker pays no fee here
    assert worst_buy_cost(fees, _request(700_000, "GTC", True), 10 * SHARE) == 7 * PICO
    # FAK at 0.70 may fill lower, where the fee is higher: 10 x 0.072 x 0.25 = $0.18
    fak = worst_buy_cost(fees, _request(700_000, "FAK", False), 10 * SHARE)
    assert fak == 7 * PICO + 180_000 * 10**6
    assert worst_buy_cost(fees, _request(700_000, "FOK", False), 10 * SHARE) == fak
    # the remainder only: 4 shares left of the order
    assert worst_buy_cost(fees, _request(400_000, "GTC", True), 4 * SHARE) == 16 * PICO // 10


def _old_python_check(rule: str, params: core.StrategyParams, **k: int) -> bool:
    """The engine's own copy before the export (rules.py), kept as the oracle that the
    opening and pairing edges did not move."""
    paid = k["price"] * k["size"] + k["fee"] * 10**6
    q, c, size = k["qty_other"], k["cost_other"], k["size"]
    if rule == "opening":
        return paid <= params.entry_max_price * size
    if q == 0:
        return True
    return paid * q + c * size <= params.target_pair_cost * size * q


def test_opening_and_pairing_judge_as_the_engine_did_before() -> None:
    params = core.StrategyParams()
    rng = random.Random(10)
    for _ in range(2_000):
        k = {
            "price": rng.randrange(1, 100) * 10_000 + rng.choice((0, 1, -1)),
            "size": rng.randrange(1, 50) * SHARE,
            "fee": rng.choice((0, 0, 1, rng.randrange(0, 200_000))),
            "qty_self": rng.randrange(0, 30) * SHARE,
            "cost_self": rng.randrange(0, 20) * PICO,
            "qty_other": rng.choice((0, rng.randrange(1, 30) * SHARE)),
            "cost_other": rng.randrange(0, 20) * PICO,
        }
        for rule in ("opening", "pairing", "instant_pair"):
            assert core.buy_within_rule(rule, params, **k) == _old_python_check(rule, params, **k)
