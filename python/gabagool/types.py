"""The engine's words and units in one place: outcomes, sides, order types, the window's
length, the exact unit conversions and the decimals people read (`buy up 10 @ 0.45`, `$1.70`).

Units (DESIGN.md): prices micro-dollars a share, sizes micro-shares, money pico-dollars
(price x size), fees micro-dollars, times nanoseconds of market time.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

Outcome = Literal["up", "down"]
Side = Literal["buy", "sell"]
BookSide = Literal["bid", "ask"]
OrderType = Literal["GTC", "FAK", "FOK"]
"""What the engine places: resting GTC bids and FAK/FOK takers."""
ExchangeOrderType = Literal["GTC", "GTD", "FOK", "FAK"]
"""What the exchange may hold: GTD too (an order adopted from the exchange, a journal's)."""
Owner = Literal["accumulator", "equalizer", "risk"]
"""Which decision asked for an order: a resting bid is replaced only by its own owner's wish,
except that the equalizer's higher bid wins over the accumulator's."""

OUTCOMES: tuple[Outcome, ...] = ("up", "down")
SIDES: tuple[Side, ...] = ("buy", "sell")
EXCHANGE_ORDER_TYPES: tuple[ExchangeOrderType, ...] = ("GTC", "GTD", "FOK", "FAK")

WINDOW_SECONDS = 900  # a 15-minute market
NS = 1_000_000_000  # nanoseconds a second
MS = 1_000_000  # nanoseconds a millisecond
MICROS = 1_000_000  # micro-units a unit (a price's dollar, a size's share)
PICOS = 10**12  # pico-dollars a dollar
PICOS_PER_MICRO = 1_000_000  # a fee's micro-dollar in pico-dollars
PAYOUT_PICOS_PER_MICRO_SHARE = 1_000_000  # a winning micro-share pays 1e-6 $


def other(outcome: Outcome) -> Outcome:
    return "down" if outcome == "up" else "up"


def settlement_pnl(
    winner: Outcome, *, qty_up: int, qty_down: int, cost_up: int, cost_down: int, realized: int
) -> int:
    """Pico-dollars a window made at settlement: the winning shares' $1 each, plus what sells
    realised, minus what the shares still held cost (fees included).

    The accounting convention for a sell (the core's `Position.sell`): the sold shares leave
    the side's cost at their average cost, and proceeds minus fee minus that cost go to
    `realized`; so cost always means "what the shares still held cost"."""
    held = qty_up if winner == "up" else qty_down
    return held * PAYOUT_PICOS_PER_MICRO_SHARE + realized - cost_up - cost_down


# ---- decimals for people ------------------------------------------------------------------


def decimal(value: Fraction | None, places: int = 6) -> str | None:
    """An exact fraction as a decimal string, truncated toward zero to `places`."""
    if value is None:
        return None
    return ratio_decimal((value.numerator, value.denominator), places)


def ratio_decimal(ratio: tuple[int, int] | None, places: int = 6) -> str | None:
    """`decimal` of numerator / denominator (denominator > 0), with no `Fraction` built:
    what the core's `*_ratio` getters give to the hot paths that only print a value."""
    if ratio is None:
        return None
    numerator, denominator = ratio
    scaled = abs(numerator) * 10**places // denominator
    sign = "-" if numerator < 0 and scaled else ""
    whole, frac = divmod(scaled, 10**places)
    return f"{sign}{whole}.{frac:0{places}d}" if places else f"{sign}{whole}"


def short(micros: int) -> str:
    """Micro-units as the shortest exact decimal: 10_000_000 -> `10`, 450_000 -> `0.45`."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{f'{frac:06d}'.rstrip('0')}"


def shares(micros: int) -> str:
    """Micro-shares as shares, six places: the summary's fixed format."""
    return decimal(Fraction(micros, MICROS)) or "0"


def format_picos(picos: int, places: int = 6) -> str:
    """Pico-dollars as a decimal dollar string, truncated toward zero to `places`."""
    sign = "-" if picos < 0 else ""
    whole, frac = divmod(abs(picos), 10**12)
    digits = f"{frac:012d}"[:places]
    return f"{sign}{whole}.{digits}" if places else f"{sign}{whole}"


def dollars(picos: int) -> str:
    """Pico-dollars for people: `$1.70`, `-$0.05` (cents, truncated toward zero)."""
    text = format_picos(picos, 2)
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


def exact_dollars(picos: int) -> str:
    """Pico-dollars for people, every digit kept (at least cents): `$1.50`, `$0.0000125`."""
    whole, frac = divmod(abs(picos), 10**12)
    digits = f"{frac:012d}".rstrip("0").ljust(2, "0")
    return f"{'-' if picos < 0 else ''}${whole}.{digits}"


def fee_dollars(fee_micros: int) -> str:
    """A fee (micro-dollars) for people: `$0.0175` (as many places as it has)."""
    return f"${short(fee_micros)}"


def describe_order(side: str, outcome: str, size_micros: int, price_micros: int) -> str:
    """`buy up 10 @ 0.45`."""
    return f"{side} {outcome} {short(size_micros)} @ {short(price_micros)}"
