"""The decimals people read: exact, whatever the amount (`gabagool.types`)."""

from __future__ import annotations

from decimal import Decimal

from gabagool.types import exact_dollars, short
from hypothesis import given
from hypothesis import strategies as st

AMOUNTS = st.integers(-(10**20), 10**20)


@given(AMOUNTS)
def test_short_is_the_exact_amount_in_the_fewest_digits(micros: int) -> None:
    text = short(micros)
    assert Decimal(text) == Decimal(micros) / 10**6
    assert not text.endswith("0") or "." not in text
    assert not text.endswith(".")


@given(AMOUNTS)
def test_exact_dollars_keeps_every_digit_and_at_least_the_cents(picos: int) -> None:
    text = exact_dollars(picos)
    sign, dollars = ("-", text[2:]) if text.startswith("-$") else ("", text[1:])
    assert text.startswith(f"{sign}$")
    assert Decimal(f"{sign}{dollars}") == Decimal(picos) / 10**12
    assert len(dollars.split(".")[1]) >= 2


def test_exact_dollars_examples() -> None:
    assert exact_dollars(1_500_000_000_000) == "$1.50"
    assert exact_dollars(12_500_000) == "$0.0000125"
    assert exact_dollars(-50_000_000_000) == "-$0.05"
    assert exact_dollars(0) == "$0.00"
