"""The ladder book against a plain-Python reference model (a dict of Fraction sizes)."""

from fractions import Fraction

import pytest
from gabagool import _core
from gabagool.errors import BookError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

# Prices on the 0.0001 grid, concentrated so that levels collide and empty out often.
prices = st.one_of(
    st.integers(min_value=1, max_value=9_999).map(lambda slot: slot * 100),
    st.integers(min_value=40, max_value=60).map(lambda cents: cents * 10_000),
)
sizes = st.integers(min_value=0, max_value=10**12)
sides = st.sampled_from(["bid", "ask"])
level_lists = st.lists(st.tuples(prices, sizes), max_size=30)


class ReferenceBook:
    def __init__(self) -> None:
        self.levels: dict[str, dict[int, Fraction]] = {"bid": {}, "ask": {}}

    def snapshot(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        self.levels = {"bid": {}, "ask": {}}
        for side, levels in (("bid", bids), ("ask", asks)):
            for price, size in levels:
                self.set(side, price, size)

    def set(self, side: str, price: int, size: int) -> None:
        if size == 0:
            self.levels[side].pop(price, None)
        else:
            self.levels[side][price] = Fraction(size, 1_000_000)

    def ordered(self, side: str) -> list[tuple[int, Fraction]]:
        return sorted(self.levels[side].items(), reverse=(side == "bid"))


class BookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = _core.Book(tick=100)
        self.model = ReferenceBook()
        self.snapshotted = False

    @rule(bids=level_lists, asks=level_lists)
    def snapshot(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        epoch = self.book.epoch
        self.book.apply_snapshot(bids, asks)
        self.model.snapshot(bids, asks)
        self.snapshotted = True
        assert self.book.epoch == epoch + 1

    @precondition(lambda self: self.snapshotted)
    @rule(side=sides, price=prices, size=sizes)
    def set_level(self, side: str, price: int, size: int) -> None:
        self.book.set_level(side, price, size)
        self.model.set(side, price, size)

    @precondition(lambda self: self.snapshotted)
    @rule(side=sides, data=st.data())
    def remove_an_existing_level(self, side: str, data: st.DataObject) -> None:
        existing = sorted(self.model.levels[side])
        if not existing:
            return
        price = data.draw(st.sampled_from(existing))
        self.book.set_level(side, price, 0)
        self.model.set(side, price, 0)

    @rule()
    def invalidate(self) -> None:
        self.book.invalidate()
        self.model.snapshot([], [])
        self.snapshotted = False
        with pytest.raises(BookError):
            self.book.set_level("bid", 500_000, 1)

    @invariant()
    def matches_the_reference(self) -> None:
        for side in ("bid", "ask"):
            expected = self.model.ordered(side)
            got = self.book.levels(side)
            assert [(p, Fraction(s, 1_000_000)) for p, s in got] == expected
            assert self.book.level_count(side) == len(expected)
            best = self.book.best_bid if side == "bid" else self.book.best_ask
            assert best == (
                (expected[0][0], int(expected[0][1] * 1_000_000)) if expected else None
            )
        bid, ask = self.book.best_bid, self.book.best_ask
        assert self.book.is_crossed == (bid is not None and ask is not None and bid[0] >= ask[0])

    @precondition(lambda self: self.snapshotted)
    @rule(bound=prices, quantity=sizes)
    def depth_and_walk_agree(self, bound: int, quantity: int) -> None:
        asks = self.model.ordered("ask")
        depth = sum((s for p, s in asks if p <= bound), Fraction(0))
        assert Fraction(self.book.depth_within("ask", bound), 1_000_000) == depth
        filled, notional, worst = self.book.walk("ask", quantity, bound)
        want_left, want_cost, want_worst = Fraction(quantity, 1_000_000), Fraction(0), None
        for price, size in asks:
            if price > bound or want_left == 0:
                break
            take = min(size, want_left)
            want_left -= take
            want_cost += take * Fraction(price, 1_000_000)
            want_worst = price
        assert Fraction(filled, 1_000_000) == Fraction(quantity, 1_000_000) - want_left
        assert Fraction(notional, 10**12) == want_cost
        assert worst == want_worst


BookMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestBookAgainstReference = BookMachine.TestCase


def test_off_grid_price_is_refused_and_book_unchanged() -> None:
    book = _core.Book()
    book.apply_snapshot([(500_000, 1_000_000)], [(510_000, 1_000_000)])
    with pytest.raises(BookError, match="0.0001 grid"):
        book.apply_snapshot([(123_450, 1)], [])
    assert book.best_bid == (500_000, 1_000_000)


def test_invalid_tick_is_refused() -> None:
    with pytest.raises(BookError, match="tick size 0.005"):
        _core.Book(tick=5_000)


def test_market_addresses_books_by_outcome() -> None:
    market = _core.Market("111", "222")
    market.apply_snapshot("up", [(400_000, 5_000_000)], [(420_000, 7_000_000)])
    assert market.best_ask("up") == (420_000, 7_000_000)
    assert market.best_ask("down") is None
    assert not market.has_snapshot("down")
    with pytest.raises(ValueError, match='outcome "sideways"'):
        market.best_bid("sideways")  # type: ignore[arg-type]
