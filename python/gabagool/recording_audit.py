"""Checks of a recording's market frames that the books do not make: prices off the tick
and books left crossed after a burst. Counted and warned about, the frames kept.

The exchange never sends either, so a recording that holds them was damaged or written by
a buggy recorder, and a replay of it says less about the market than it seems to. The check
keeps each window's books in the core (`Market`) and reads the frames' prices exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from gabagool._core import Market, parse_price
from gabagool.errors import CoreError

if TYPE_CHECKING:
    from gabagool.recording import MarketHeader


class IssueSink(Protocol):
    def add(self, kind: str, message: str) -> None: ...


class _Level(msgspec.Struct):
    price: str = ""


class _Change(msgspec.Struct):
    asset_id: str = ""
    price: str = ""


class _Event(msgspec.Struct):
    # only what the checks read; other fields are skipped without being built
    event_type: str = ""
    asset_id: str = ""
    timestamp: str = ""
    bids: list[_Level] = []
    asks: list[_Level] = []
    price_changes: list[_Change] = []


_decode = msgspec.json.Decoder(_Event | list[_Event]).decode


class MarketAudit:
    """Feeds each market frame to its window's books and reports off-tick prices (against
    the tick in force for the token) and books crossed when a burst (same timestamp) ends."""

    def __init__(self, markets: list[MarketHeader], issues: IssueSink) -> None:
        self._issues = issues
        self._books: list[Market] = []
        self._tokens: dict[str, tuple[int, Literal["up", "down"]]] = {}
        self._burst: list[str | None] = []
        for index, market in enumerate(markets):
            try:
                tick = parse_price(market.tick_size)
                self._books.append(Market(market.up_token, market.down_token, tick))
            except CoreError:
                # validate_header refused such a header already; nothing to audit
                self._books.append(Market(market.up_token, market.down_token))
            self._tokens[market.up_token] = (index, "up")
            self._tokens[market.down_token] = (index, "down")
            self._burst.append(None)
        self._where = ""

    def check(self, frame: str, line: int) -> None:
        if not self._books:
            return
        try:
            decoded = _decode(frame)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return  # unreadable or odd: the core counts it when the frame is replayed
        events = decoded if isinstance(decoded, list) else [decoded]
        self._where = f"line {line}"
        touched: dict[int, str | None] = {}
        for event in events:
            for token in [event.asset_id, *(c.asset_id for c in event.price_changes)]:
                found = self._tokens.get(token)
                if found is not None:
                    touched[found[0]] = event.timestamp or None
        for index, stamp in touched.items():
            if stamp is not None and self._burst[index] not in (None, stamp):
                self._check_crossed(index)
            self._burst[index] = stamp
            try:
                self._books[index].apply_frame(frame)
            except CoreError:
                continue
        for event in events:
            self._check_ticks(event)

    def _check_ticks(self, event: _Event) -> None:
        if event.event_type == "book":
            token = event.asset_id
            prices = [(token, level.price) for level in (*event.bids, *event.asks)]
        elif event.event_type == "price_change":
            prices = [(change.asset_id, change.price) for change in event.price_changes]
        else:
            return
        for token, text in prices:
            found = self._tokens.get(token)
            if found is None:
                continue
            index, outcome = found
            try:
                price = parse_price(text)
            except CoreError:
                continue  # not a price at all: the core's own problem count
            tick = self._books[index].tick(outcome)
            if price % tick:
                self._issues.add(
                    "off_tick",
                    f"{self._where}: {outcome} price {text} is off the "
                    f"{tick / 1_000_000:g} tick",
                )

    def _check_crossed(self, index: int) -> None:
        book = self._books[index]
        outcomes: tuple[Literal["up", "down"], ...] = ("up", "down")
        for outcome in outcomes:
            if book.is_crossed(outcome):
                bid, ask = book.best_bid(outcome), book.best_ask(outcome)
                self._issues.add(
                    "crossed",
                    f"{self._where}: the {outcome} book was left crossed by the burst before "
                    f"(bid {_show(bid)} >= ask {_show(ask)})",
                )

    def finish(self) -> None:
        """The end of the stream ends every window's last burst."""
        for index, stamp in enumerate(self._burst):
            if stamp is not None:
                self._check_crossed(index)
                self._burst[index] = None



def _show(level: tuple[int, int] | None) -> str:
    return "-" if level is None else f"{level[0] / 1_000_000:g}"
