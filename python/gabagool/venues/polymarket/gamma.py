"""Gamma: a 15-minute window's event by slug, read into a `GammaWindow` (tokens by label).

`clobTokenIds` and `outcomes` are JSON strings inside the JSON, in the same order: tokens are
mapped by their label ("Up", "Down"), never by position. Numbers stay exact decimals.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from gabagool.types import WINDOW_SECONDS
from gabagool.venues.polymarket.rest import NotFound, RestClient, decode_json


class Malformed(ValueError):
    """A market whose description cannot be trusted: the text says which field and why."""


class GammaWindow(msgspec.Struct, frozen=True, kw_only=True):
    asset: str
    slug: str
    condition_id: str
    up_token: str
    down_token: str
    start: int  # unix seconds, `eventStartTime`
    end: int  # unix seconds, `endDate`
    tick_size: str  # decimal text, "0.01"
    min_order_size: str  # shares, "5"
    neg_risk: bool
    accepting_orders: bool
    closed: bool
    fees_enabled: bool
    fee_rate: str  # "0.072"; "0" when fees are off
    fee_exponent: int
    fee_taker_only: bool
    rebate_rate: str
    price_to_beat: str | None  # the window's opening reference price, when Gamma knows it
    version: str | None  # Gamma's market `version` ("v1" uses clobTokenIds on exchange V2)
    winner: str | None  # "up" | "down" once Gamma's `outcomePrices` settle at 1 and 0


def window_slug(asset: str, start: int) -> str:
    return f"{asset}-updown-15m-{start}"


def window_start(unix_seconds: int) -> int:
    """The start of the window holding `unix_seconds`."""
    return unix_seconds - unix_seconds % WINDOW_SECONDS


def decimal_text(value: Any, field: str) -> str:
    """An exact decimal string from a JSON number (read as Decimal) or string."""
    if isinstance(value, bool) or value is None:
        raise Malformed(f"{field} {value!r} is not a number")
    try:
        number = Decimal(value) if isinstance(value, (str, int, Decimal)) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise Malformed(f"{field} {value!r} is not a decimal number")
    text = format(number.normalize(), "f")
    return text


def _iso_seconds(value: Any, field: str) -> int:
    if not isinstance(value, str):
        raise Malformed(f"{field} {value!r} is not a timestamp")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Malformed(f"{field} {value!r} is not an ISO timestamp") from None
    if moment.tzinfo is None:
        raise Malformed(f"{field} {value!r} has no time zone")
    return int(moment.timestamp())


def _json_list(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Malformed(f"{field} {value!r} is not a JSON list") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Malformed(f"{field} {value!r} is not a list of strings")
    return value


def _flag(market: dict[str, Any], field: str, default: bool) -> bool:
    value = market.get(field, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Malformed(f"{field} {value!r} is not a boolean")
    return value


def parse_event(event: Any, asset: str, start: int) -> GammaWindow:
    """The window of one `/events?slug=` item; `Malformed` names the first bad field."""
    if not isinstance(event, dict):
        raise Malformed(f"event {type(event).__name__} is not an object")
    markets = event.get("markets")
    if not isinstance(markets, list) or len(markets) != 1 or not isinstance(markets[0], dict):
        raise Malformed("event does not hold exactly one market")
    market: dict[str, Any] = markets[0]
    slug = market.get("slug") or event.get("slug")
    if slug != window_slug(asset, start):
        raise Malformed(f"slug {slug!r} is not {window_slug(asset, start)!r}")
    condition_id = market.get("conditionId")
    if not isinstance(condition_id, str) or not condition_id.startswith("0x"):
        raise Malformed(f"conditionId {condition_id!r} is not a 0x hex id")
    labels = _json_list(market.get("outcomes"), "outcomes")
    ids_field = "clobTokenIds" if market.get("clobTokenIds") is not None else "positionIds"
    tokens = _json_list(market.get(ids_field), ids_field)
    if len(labels) != 2 or len(tokens) != 2:
        raise Malformed(f"outcomes {labels!r} / {ids_field} {tokens!r}: two of each expected")
    by_label = {label.strip().lower(): token for label, token in zip(labels, tokens, strict=True)}
    if set(by_label) != {"up", "down"}:
        raise Malformed(f"outcomes {labels!r} are not Up and Down")
    if not all(t.isdigit() for t in tokens) or tokens[0] == tokens[1]:
        raise Malformed(f"{ids_field} {tokens!r} are not two distinct token ids")
    event_start = market.get("eventStartTime") or event.get("startTime")
    begins = _iso_seconds(event_start, "eventStartTime")
    ends = _iso_seconds(market.get("endDate") or event.get("endDate"), "endDate")
    if begins != start or ends != start + WINDOW_SECONDS:
        raise Malformed(
            f"window {begins}..{ends} does not match slug start {start} (+{WINDOW_SECONDS} s)"
        )
    tick = decimal_text(market.get("orderPriceMinTickSize"), "orderPriceMinTickSize")
    min_size = decimal_text(market.get("orderMinSize"), "orderMinSize")
    fees_enabled = _flag(market, "feesEnabled", False)
    schedule = market.get("feeSchedule")
    if fees_enabled:
        if not isinstance(schedule, dict):
            raise Malformed(f"feesEnabled but feeSchedule {schedule!r} is not an object")
        rate = decimal_text(schedule.get("rate"), "feeSchedule.rate")
        exponent_text = decimal_text(schedule.get("exponent", 1), "feeSchedule.exponent")
        if not exponent_text.isdigit():
            raise Malformed(f"feeSchedule.exponent {exponent_text} is not a whole number")
        exponent = int(exponent_text)
        taker_only = _flag(schedule, "takerOnly", True)
        rebate = decimal_text(schedule.get("rebateRate", 0), "feeSchedule.rebateRate")
    else:
        rate, exponent, taker_only, rebate = "0", 1, True, "0"
    metadata = event.get("eventMetadata") or market.get("eventMetadata")
    price_to_beat = None
    if isinstance(metadata, dict) and metadata.get("priceToBeat") is not None:
        price_to_beat = decimal_text(metadata["priceToBeat"], "eventMetadata.priceToBeat")
    version = market.get("version", event.get("version"))
    if version is not None and not isinstance(version, str):
        raise Malformed(f"version {version!r} is not a string")
    return GammaWindow(
        asset=asset,
        slug=slug,
        condition_id=condition_id,
        up_token=by_label["up"],
        down_token=by_label["down"],
        start=begins,
        end=ends,
        tick_size=tick,
        min_order_size=min_size,
        neg_risk=_flag(market, "negRisk", False),
        accepting_orders=_flag(market, "acceptingOrders", False),
        closed=_flag(market, "closed", False),
        fees_enabled=fees_enabled,
        fee_rate=rate,
        fee_exponent=exponent,
        fee_taker_only=taker_only,
        rebate_rate=rebate,
        price_to_beat=price_to_beat,
        version=version,
        winner=_winner(market, labels),
    )


def _winner(market: dict[str, Any], labels: list[str]) -> str | None:
    if not market.get("closed"):
        return None
    try:
        prices = _json_list(market.get("outcomePrices"), "outcomePrices")
    except Malformed:
        return None
    if len(prices) != 2:
        return None
    won = [label.strip().lower() for label, p in zip(labels, prices, strict=True) if p == "1"]
    lost = [p for p in prices if p == "0"]
    return won[0] if len(won) == 1 and len(lost) == 1 else None


class GammaClient:
    def __init__(self, rest: RestClient, base_url: str) -> None:
        self.rest = rest
        self.base_url = base_url.rstrip("/")

    async def window(self, asset: str, start: int) -> GammaWindow:
        """`NotFound` when Gamma has no such event, `Malformed` when it cannot be read."""
        slug = window_slug(asset, start)
        events = await self.rest.get_json(f"{self.base_url}/events", {"slug": slug})
        if not isinstance(events, list):
            raise Malformed(f"/events?slug={slug} did not answer a list")
        if not events:
            raise NotFound(f"Gamma has no event {slug}")
        return parse_event(events[0], asset, start)


__all__ = ["GammaClient", "GammaWindow", "Malformed", "decode_json", "parse_event"]
