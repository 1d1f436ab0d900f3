"""Exact decimal parsing: round-trips and the rejections the exchange's strings require."""

from decimal import Decimal

import pytest
from gabagool import _core
from gabagool.errors import CoreError, ParseError
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("text", "micros"),
    [("0.5", 500_000), ("0.001", 1_000), ("0.0001", 100), ("0.999999", 999_999), ("0.52", 520_000)],
)
def test_prices_parse_exactly(text: str, micros: int) -> None:
    assert _core.parse_price(text) == micros


@pytest.mark.parametrize(
    ("text", "micros"),
    [("1234.56", 1_234_560_000), ("220045", 220_045_000_000), ("12.5", 12_500_000), ("0", 0)],
)
def test_sizes_parse_exactly(text: str, micros: int) -> None:
    assert _core.parse_size(text) == micros


@pytest.mark.parametrize(
    "text", ["-1", "1.5", "1", "0", "0.1234567", "1e3", "NaN", "", " 0.5", ".5", "5."]
)
def test_bad_prices_are_rejected_with_the_value_in_the_message(text: str) -> None:
    with pytest.raises(ParseError) as caught:
        _core.parse_price(text)
    assert isinstance(caught.value, CoreError) and isinstance(caught.value, ValueError)
    if text:
        assert repr(text)[1:-1] in str(caught.value) or text in str(caught.value)


def test_out_of_range_message_names_the_value_and_range() -> None:
    with pytest.raises(ParseError, match=r'price "1.5" out of range \(0, 1\)'):
        _core.parse_price("1.5")


@given(st.integers(min_value=1, max_value=999_999))
def test_price_round_trips_through_its_decimal_text(micros: int) -> None:
    text = _core.format_micros(micros)
    assert Decimal(text) == Decimal(micros) / 1_000_000
    assert _core.parse_price(text) == micros


@given(st.integers(min_value=0, max_value=10**17))
def test_size_round_trips_through_its_decimal_text(micros: int) -> None:
    assert _core.parse_size(_core.format_micros(micros)) == micros


@given(st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False))
def test_size_parse_agrees_with_decimal(value: Decimal) -> None:
    text = format(value, "f")
    expected = int(value * 1_000_000)
    assert _core.parse_size(text) == expected


@given(st.text(max_size=12))
def test_arbitrary_text_parses_or_raises_parse_error(text: str) -> None:
    try:
        micros = _core.parse_size(text)
    except ParseError:
        return
    assert Decimal(text) * 1_000_000 == micros
