"""Position math against the Fraction reference: quantities, costs, averages, PnL bounds."""

from __future__ import annotations

from fractions import Fraction

import pytest
from gabagool import _core
from gabagool.errors import PositionError
from gabagool.types import decimal, ratio_decimal
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import MICRO, PICO, RefPosition, dollars, picos, taker_fee

SHARE = MICRO
MAX_QTY = 10**14  # the core's per-side cap: 100 million shares

fills = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(["up", "down"]),
        st.integers(-10, 1_000_010),  # price, a few outside (0, 1)
        st.one_of(st.integers(-5, 200 * SHARE), st.integers(1, 10**14)),  # size
        st.booleans(),  # charge the taker fee, or nothing
    ),
    max_size=25,
)


def assert_matches(pos: _core.Position, ref: RefPosition) -> None:
    assert Fraction(pos.qty_up, MICRO) == ref.qty["up"]
    assert Fraction(pos.qty_down, MICRO) == ref.qty["down"]
    assert pos.cost_up == picos(ref.cost["up"])
    assert pos.cost_down == picos(ref.cost["down"])
    assert pos.realized == picos(ref.realized)
    assert pos.delta == pos.qty_up - pos.qty_down
    assert Fraction(pos.hedged, MICRO) == ref.hedged
    assert pos.avg("up") == ref.avg("up")
    assert pos.avg("down") == ref.avg("down")
    assert pos.pair_cost == ref.pair_cost
    ratio = pos.pair_cost_ratio
    assert (Fraction(*ratio) if ratio else None) == ref.pair_cost
    assert ratio_decimal(ratio, 4) == decimal(ref.pair_cost, 4)
    assert pos.locked_profit == ref.locked_profit
    assert pos.worst_case_pnl == picos(ref.worst_case_pnl)
    assert pos.best_case_pnl == picos(ref.best_case_pnl)


@given(fills)
@settings(max_examples=200, deadline=None)
def test_position_math_matches_fractions(ops: list[tuple[str, str, int, int, bool]]) -> None:
    pos, ref = _core.Position(), RefPosition()
    fees_paid = 0
    for action, outcome, price, size, charged in ops:
        valid_price = 0 < price < MICRO
        fee = taker_fee(72_000, 1, price, size) if charged and valid_price and size > 0 else 0
        held = ref.qty[outcome] * MICRO
        fits = held + size <= MAX_QTY if action == "buy" else size <= held
        valid = valid_price and size > 0 and fits
        before = pos.copy()
        if not valid:
            with pytest.raises(PositionError):
                getattr(pos, action)(outcome, price, size, fee)
            assert_matches(pos, ref)
            assert (pos.cost_up, pos.qty_up) == (before.cost_up, before.qty_up)
            continue
        getattr(pos, action)(outcome, price, size, fee)
        getattr(ref, action)(outcome, price, size, fee)
        fees_paid += fee
        assert_matches(pos, ref)
    assert pos.fees_paid == fees_paid


def test_hand_worked_pair() -> None:
    pos = _core.Position()
    pos.buy("up", 400_000, 10 * SHARE, 0)
    pos.buy("down", 550_000, 10 * SHARE, 0)
    assert pos.pair_cost == Fraction(95, 100)
    assert pos.locked_profit == Fraction(1, 2)
    assert pos.worst_case_pnl == pos.best_case_pnl == PICO // 2
    pos.buy("down", 500_000, 4 * SHARE, 0)
    assert pos.locked_profit == Fraction(9, 14)  # 10 x (1 - 0.4 - 7.5/14)
    assert (pos.worst_case_pnl, pos.best_case_pnl) == (-3 * PICO // 2, 5 * PICO // 2)


def test_a_sell_removes_average_cost_and_realizes_the_rest() -> None:
    pos = _core.Position()
    pos.buy("up", 300_000, 3 * SHARE, 0)
    pos.sell("up", 500_000, SHARE, 20_000)
    assert (pos.qty_up, pos.cost_up) == (2 * SHARE, 600_000 * MICRO)
    assert pos.realized == (500_000 - 20_000 - 300_000) * MICRO
    assert pos.fees_paid == 20_000


@pytest.mark.parametrize(
    ("price", "size", "fee", "message"),
    [
        (400_000, 0, 0, "fill size 0 is not positive"),
        (0, SHARE, 0, r"fill price 0 out of range \(0, 1\)"),
        (1_000_000, SHARE, 0, r"fill price 1 out of range \(0, 1\)"),
        (400_000, SHARE, -1, "fill fee -0.000001 is negative"),
    ],
)
def test_bad_fill_raises_and_changes_nothing(price: int, size: int, fee: int, message: str) -> None:
    pos = _core.Position()
    pos.buy("up", 400_000, SHARE, 0)
    with pytest.raises(PositionError, match=message):
        pos.buy("up", price, size, fee)
    assert (pos.qty_up, pos.cost_up, pos.fees_paid) == (SHARE, 400_000 * MICRO, 0)
    with pytest.raises(PositionError, match="cannot sell 2 up shares holding 1"):
        pos.sell("up", 400_000, 2 * SHARE, 0)


def test_mark_pnl_values_holdings_at_best_bids() -> None:
    market = _core.Market("u", "d")
    market.apply_snapshot("up", [(450_000, SHARE)], [(470_000, SHARE)])
    market.apply_snapshot("down", [], [(550_000, SHARE)])
    pos = _core.Position()
    pos.buy("up", 400_000, 10 * SHARE, 0)
    pos.buy("down", 500_000, 10 * SHARE, 0)
    assert pos.mark_pnl(market) == picos(10 * dollars(450_000) - 9)


def test_copy_is_independent() -> None:
    pos = _core.Position()
    pos.buy("up", 400_000, SHARE, 0)
    twin = pos.copy()
    twin.buy("up", 400_000, SHARE, 0)
    assert (pos.qty_up, twin.qty_up) == (SHARE, 2 * SHARE)
