"""The fee schedule: every captured on-chain taker fee, and a Fraction reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gabagool import _core
from gabagool.errors import ParamsError
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import taker_fee

FIXTURES = Path(__file__).parent / "fixtures" / "polymarket"
I64_MAX = 2**63 - 1


def test_reproduces_every_on_chain_taker_fee() -> None:
    fills = json.loads((FIXTURES / "chain_order_filled_taker_fees.json").read_text())
    assert len(fills) == 21
    for fill in fills:
        schedule = _core.FeeSchedule.parse(fill["fee_rate"])
        # The taker of a BUY receives the shares (taker amount); a SELL's taker gives them.
        shares = (
            fill["taker_amount_filled"] if fill["side"] == "BUY" else fill["maker_amount_filled"]
        )
        price = _core.parse_price(fill["price"])
        assert schedule.taker_fee(price, int(shares)) == int(fill["fee"]), fill


def test_fee_truncates_to_five_decimals() -> None:
    schedule = _core.FeeSchedule(72_000)
    assert schedule.taker_fee(500_000, 10_000_000) == 180_000  # 10 x 0.072 x 0.25
    assert schedule.taker_fee(10_000, 1_000_000) == 710  # 0.0007128 -> 0.00071
    assert schedule.taker_fee(500_000, 1) == 0


def test_makers_pay_nothing_when_only_takers_pay() -> None:
    assert _core.FeeSchedule(72_000).fee(500_000, 10_000_000, maker=True) == 0
    assert _core.FeeSchedule(72_000).fee(500_000, 10_000_000, maker=False) == 180_000
    assert (
        _core.FeeSchedule(72_000, taker_only=False).fee(500_000, 10_000_000, maker=True) == 180_000
    )


def test_exponent_two_is_exact_at_extreme_sizes() -> None:
    schedule = _core.FeeSchedule(1_000_000, exponent=2)
    for price in (1, 500_000, 999_999, 123_457):
        assert schedule.taker_fee(price, I64_MAX) == taker_fee(1_000_000, 2, price, I64_MAX)
    quarter = _core.FeeSchedule.parse("0.25", exponent=2)
    assert quarter.taker_fee(300_000, 100_000_000) == 1_102_500  # 100 x 0.25 x 0.21^2


@given(
    rate=st.integers(0, 1_000_000),
    exponent=st.sampled_from([1, 2]),
    price=st.integers(1, 999_999),
    size=st.one_of(st.integers(0, 10**12), st.integers(0, I64_MAX)),
)
@settings(max_examples=300, deadline=None)
def test_fee_matches_the_fraction_reference(
    rate: int, exponent: int, price: int, size: int
) -> None:
    schedule = _core.FeeSchedule(rate, exponent)
    assert schedule.taker_fee(price, size) == taker_fee(rate, exponent, price, size)


def test_bad_schedules_raise_params_error_naming_the_value() -> None:
    with pytest.raises(ParamsError, match="fee exponent 3 is not 1 or 2"):
        _core.FeeSchedule(72_000, exponent=3)
    with pytest.raises(ParamsError, match=r"fee rate 1\.5 out of range"):
        _core.FeeSchedule(1_500_000)
    with pytest.raises(ParamsError, match='"0.07x"'):
        _core.FeeSchedule.parse("0.07x")


def test_schedule_properties_are_read_only() -> None:
    schedule = _core.FeeSchedule.parse("0.072", exponent=1, taker_only=True)
    assert (schedule.rate, schedule.exponent, schedule.taker_only) == (72_000, 1, True)
    with pytest.raises(AttributeError):
        schedule.rate = 1  # type: ignore[misc]
