"""Discovery: the current and next 15-minute windows of each asset, from Gamma and the CLOB.

Gamma names the window (slug, condition id, tokens by label, times, opening reference price,
`version`); the CLOB's `/clob-markets` gives what trading needs now (tick, neg-risk, fee
curve, minimum size, accepting orders) and wins where the two differ. A window that is
missing, closed or malformed is skipped with a warning and counted; the exchange being
unreachable is an error (`Unavailable`), not a skip.
"""

from __future__ import annotations

import logging

import msgspec
import trio

from gabagool.recording import FeeScheduleHeader, MarketHeader
from gabagool.venues.polymarket.clob_public import ClobMarketFacts, ClobPublic
from gabagool.venues.polymarket.gamma import (
    WINDOW_SECONDS,
    GammaClient,
    GammaWindow,
    Malformed,
    window_slug,
    window_start,
)
from gabagool.venues.polymarket.rest import NotFound, Unavailable

log = logging.getLogger("gabagool.polymarket")

KNOWN_VERSIONS = (None, "v1", "v2")


class DiscoveredWindow(msgspec.Struct, frozen=True, kw_only=True):
    """One window as the live venue trades it: exact decimal strings, unix seconds."""

    asset: str
    slug: str
    condition_id: str
    up_token: str
    down_token: str
    start: int
    end: int
    tick_size: str
    min_order_size: str
    neg_risk: bool
    accepting_orders: bool
    fee_rate: str
    fee_exponent: int
    fee_taker_only: bool
    rebate_rate: str
    price_to_beat: str | None
    version: str | None

    @property
    def tokens(self) -> tuple[str, str]:
        return (self.up_token, self.down_token)

    def header(self) -> MarketHeader:
        """The recording / engine header of this window."""
        return MarketHeader(
            asset=self.asset,
            slug=self.slug,
            condition_id=self.condition_id,
            up_token=self.up_token,
            down_token=self.down_token,
            start=self.start,
            end=self.end,
            tick_size=self.tick_size,
            min_order_size=self.min_order_size,
            fee_schedule=FeeScheduleHeader(
                rate=self.fee_rate,
                exponent=self.fee_exponent,
                taker_only=self.fee_taker_only,
                rebate_rate=self.rebate_rate,
            ),
            price_to_beat=self.price_to_beat,
        )


def combine(gamma: GammaWindow, facts: ClobMarketFacts) -> DiscoveredWindow:
    """Gamma's window with the CLOB's trading facts; `Malformed` when they disagree on tokens."""
    for label, token in (("up", gamma.up_token), ("down", gamma.down_token)):
        clob_token = facts.tokens.get(label)
        if clob_token is not None and clob_token != token:
            raise Malformed(
                f"{gamma.slug}: Gamma's {label} token {token} is the CLOB's {clob_token}"
            )
    if gamma.version not in KNOWN_VERSIONS:
        raise Malformed(f"{gamma.slug}: unknown market version {gamma.version!r}")
    accepting = facts.accepting_orders
    return DiscoveredWindow(
        asset=gamma.asset,
        slug=gamma.slug,
        condition_id=gamma.condition_id,
        up_token=gamma.up_token,
        down_token=gamma.down_token,
        start=gamma.start,
        end=gamma.end,
        tick_size=facts.tick_size,
        min_order_size=facts.min_order_size,
        neg_risk=facts.neg_risk,
        accepting_orders=gamma.accepting_orders if accepting is None else accepting,
        fee_rate=facts.fee_rate,
        fee_exponent=facts.fee_exponent,
        fee_taker_only=facts.fee_taker_only,
        rebate_rate=gamma.rebate_rate,
        price_to_beat=gamma.price_to_beat,
        version=gamma.version,
    )


class Discovery:
    def __init__(self, gamma: GammaClient, clob: ClobPublic) -> None:
        self.gamma = gamma
        self.clob = clob
        self.skipped = 0  # windows skipped (missing, closed, malformed), all time
        self.warnings: list[str] = []  # the latest run's skip reasons

    async def window(self, asset: str, start: int) -> DiscoveredWindow | None:
        """The window, or None (warned and counted) when it is missing, closed or malformed;
        `Unavailable` when the exchange cannot be reached."""
        slug = window_slug(asset, start)
        try:
            gamma = await self.gamma.window(asset, start)
            if gamma.closed:
                raise Malformed(f"{slug} is closed")
            facts = await self.clob.market_facts(gamma.condition_id)
            return combine(gamma, facts)
        except (NotFound, Malformed) as exc:
            self.skipped += 1
            reason = f"skipped {slug}: {exc}"
            self.warnings.append(reason)
            log.warning("%s", reason)
            return None

    async def windows(
        self, assets: list[str], now_s: int, count: int = 2
    ) -> list[DiscoveredWindow]:
        """The window holding `now_s` and the `count - 1` after it, for every asset, found
        concurrently; in asset order, then start order."""
        self.warnings = []
        first = window_start(now_s)
        keys = [(a, first + i * WINDOW_SECONDS) for a in assets for i in range(count)]
        found: dict[tuple[str, int], DiscoveredWindow | None] = {}
        failure: list[Unavailable] = []

        async def one(asset: str, start: int) -> None:
            try:
                found[(asset, start)] = await self.window(asset, start)
            except Unavailable as exc:
                failure.append(exc)

        async with trio.open_nursery() as nursery:
            for asset, start in keys:
                nursery.start_soon(one, asset, start)
        if failure:
            raise failure[0]
        return [w for key in keys if (w := found.get(key)) is not None]

    async def gamma_winner(self, asset: str, start: int) -> str | None:
        """Gamma's settled winner of a window ("up" | "down"), None while unsettled."""
        try:
            gamma = await self.gamma.window(asset, start)
        except (NotFound, Malformed) as exc:
            log.warning("winner of %s unknown from Gamma: %s", window_slug(asset, start), exc)
            return None
        return gamma.winner
