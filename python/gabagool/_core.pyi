"""The Rust core (`gabagool._core`): exact fixed-point books, frames, position and scan math.

Units, everywhere: prices in micro-dollars per share (0.52 -> 520_000, 0 < p < 1_000_000),
sizes in micro-shares (12.5 -> 12_500_000), money in pico-dollars (1e-12 $) unless a name
says otherwise, fees in micro-dollars. Errors are the classes of `gabagool.errors`.
"""

from typing import Literal

BookSide = Literal["bid", "ask"]
Outcome = Literal["up", "down"]
Level = tuple[int, int]
"""(price micro-dollars, size micro-shares)"""
WalkResult = tuple[int, int, int | None]
"""(filled micro-shares, notional pico-dollars before fees, worst price touched or None)"""

# ---- fixed: exact decimal parsing -------------------------------------------------------

def parse_price(text: str) -> int:
    """`"0.52"` -> 520_000. ParseError unless a plain decimal with <= 6 places in (0, 1)."""

def parse_size(text: str) -> int:
    """`"12.5"` -> 12_500_000. ParseError unless a plain decimal with <= 6 places, >= 0."""

def format_micros(micros: int) -> str:
    """520_000 -> `"0.52"`: the shortest exact decimal of an amount in millionths."""

# ---- book: one token's order book ---------------------------------------------------------

class Book:
    """One token's book on a 0.0001 price ladder; best prices in O(1)."""

    def __init__(self, tick: int = 10_000) -> None:
        """`tick` in micro-dollars: one of 100_000, 10_000, 1_000, 100 (else BookError)."""
    def apply_snapshot(self, bids: list[Level], asks: list[Level]) -> None:
        """Replace the whole book (levels in any order, zero sizes skipped); new epoch."""
    def set_level(self, side: BookSide, price: int, size: int) -> None:
        """Set a level's total size, 0 removes it. BookError before the first snapshot."""
    def invalidate(self) -> None:
        """Empty the book and start a new epoch; updates are refused until a snapshot."""
    @property
    def best_bid(self) -> Level | None: ...
    @property
    def best_ask(self) -> Level | None: ...
    def levels(self, side: BookSide) -> list[Level]:
        """Levels from the best outward (not for the hot path)."""
    def level_count(self, side: BookSide) -> int: ...
    def depth_within(self, side: BookSide, bound: int) -> int:
        """Micro-shares at prices no worse than `bound` (asks <= bound, bids >= bound)."""
    def walk(self, side: BookSide, size: int, limit: int | None = None) -> WalkResult:
        """Take up to `size` from the best level outward, stopping past `limit`."""
    @property
    def is_crossed(self) -> bool: ...
    @property
    def tick(self) -> int: ...
    @tick.setter
    def tick(self, tick: int) -> None: ...
    @property
    def epoch(self) -> int: ...
    @property
    def has_snapshot(self) -> bool: ...

# ---- market: a window's two books --------------------------------------------------------

class Market:
    """The Up and Down books of one window, with the token ids that name them on the wire."""

    def __init__(self, up_token: str, down_token: str, tick: int = 10_000) -> None: ...
    def token(self, outcome: Outcome) -> str: ...
    def apply_snapshot(self, outcome: Outcome, bids: list[Level], asks: list[Level]) -> None: ...
    def set_level(self, outcome: Outcome, side: BookSide, price: int, size: int) -> None: ...
    def best_bid(self, outcome: Outcome) -> Level | None: ...
    def best_ask(self, outcome: Outcome) -> Level | None: ...
    def levels(self, outcome: Outcome, side: BookSide) -> list[Level]: ...
    def depth_within(self, outcome: Outcome, side: BookSide, bound: int) -> int: ...
    def walk(
        self, outcome: Outcome, side: BookSide, size: int, limit: int | None = None
    ) -> WalkResult: ...
    def is_crossed(self, outcome: Outcome) -> bool: ...
    def tick(self, outcome: Outcome) -> int: ...
    def epoch(self, outcome: Outcome) -> int: ...
    def has_snapshot(self, outcome: Outcome) -> bool: ...
