"""The CLOB's public REST: a market's trading facts (`/clob-markets/{condition_id}`) and a
token's book (`/book?token_id=`).

`/clob-markets` answers with short keys: `t` the tokens (`t` id, `o` label), `mts` the tick,
`nr` neg-risk, `fd` the fee curve (`r` rate, `e` exponent, `to` taker-only), `mos` the
minimum order size, `ao` accepting orders (absent on some answers: then unknown).
"""

from __future__ import annotations

from typing import Any

import msgspec

from gabagool.venues.polymarket.gamma import Malformed, decimal_text
from gabagool.venues.polymarket.rest import NotFound, RestClient, Unavailable


class ClobMarketFacts(msgspec.Struct, frozen=True, kw_only=True):
    condition_id: str
    tokens: dict[str, str]  # label (lower case) -> token id
    tick_size: str
    neg_risk: bool
    fee_rate: str
    fee_exponent: int
    fee_taker_only: bool
    min_order_size: str
    accepting_orders: bool | None


def parse_clob_market(body: Any, condition_id: str) -> ClobMarketFacts:
    if not isinstance(body, dict):
        raise Malformed(f"/clob-markets/{condition_id}: not an object")
    raw_tokens = body.get("t")
    if not isinstance(raw_tokens, list):
        raise Malformed(f"/clob-markets/{condition_id}: t {raw_tokens!r} is not a token list")
    tokens: dict[str, str] = {}
    for token in raw_tokens:
        if not isinstance(token, dict) or not isinstance(token.get("t"), str):
            raise Malformed(f"/clob-markets/{condition_id}: token {token!r} has no id")
        label = token.get("o")
        if isinstance(label, str):
            tokens[label.strip().lower()] = token["t"]
    fd = body.get("fd") or {}
    if not isinstance(fd, dict):
        raise Malformed(f"/clob-markets/{condition_id}: fd {fd!r} is not an object")
    exponent = decimal_text(fd.get("e", 1), "fd.e")
    if not exponent.isdigit():
        raise Malformed(f"/clob-markets/{condition_id}: fd.e {exponent} is not a whole number")
    taker_only = fd.get("to", True)
    accepting = body.get("ao")
    neg_risk = body.get("nr", False)
    for name, flag in (("fd.to", taker_only), ("nr", neg_risk)):
        if not isinstance(flag, bool):
            raise Malformed(f"/clob-markets/{condition_id}: {name} {flag!r} is not a boolean")
    if accepting is not None and not isinstance(accepting, bool):
        raise Malformed(f"/clob-markets/{condition_id}: ao {accepting!r} is not a boolean")
    return ClobMarketFacts(
        condition_id=condition_id,
        tokens=tokens,
        tick_size=decimal_text(body.get("mts"), "mts"),
        neg_risk=neg_risk,
        fee_rate=decimal_text(fd.get("r", 0), "fd.r"),
        fee_exponent=int(exponent),
        fee_taker_only=taker_only,
        min_order_size=decimal_text(body.get("mos"), "mos"),
        accepting_orders=accepting,
    )


class ClobPublic:
    def __init__(self, rest: RestClient, base_url: str) -> None:
        self.rest = rest
        self.base_url = base_url.rstrip("/")

    async def market_facts(self, condition_id: str) -> ClobMarketFacts:
        body = await self.rest.get_json(f"{self.base_url}/clob-markets/{condition_id}")
        return parse_clob_market(body, condition_id)

    async def book(self, token_id: str) -> bytes:
        """The raw body of `GET /book`, for the core's `Market.apply_rest_book` (which takes
        the best levels from wherever they are: REST lists them last)."""
        response = await self.rest.get(f"{self.base_url}/book", {"token_id": token_id})
        if response.status_code == 404:
            raise NotFound(f"the CLOB has no book for token {token_id}")
        return response.content


__all__ = ["ClobMarketFacts", "ClobPublic", "NotFound", "Unavailable", "parse_clob_market"]
