"""The checks made on an order after the fact: did a fill keep its rule, what may a buy cost.

Exact: amounts are cross-multiplied, never divided. The bounds are the scan's own
(`rust/src/scan/`): opening `p_eff <= entry_max_price`, pairing `p_eff + avg_other <=
target_pair_cost`, equalizing `avg_self + avg_other < max_pair_cost` (strictly below, as
`_core.equalize` prices it), where `p_eff = (price * size + fee * 1e6) / size`.
"""

from __future__ import annotations

from typing import Any

from gabagool.types import PICOS_PER_MICRO
from gabagool.venues.base import OrderRequest

PAIRING_RULES = frozenset({"pairing", "instant_pair"})
EQUALIZING_RULES = frozenset({"equalize_maker", "equalize_taker"})


def realised_within_rule(
    rule: str,
    params: Any,  # `_core.StrategyParams`
    *,
    price: int,
    size: int,
    fee: int,
    qty_self: int,
    cost_self: int,
    qty_other: int,
    cost_other: int,
) -> bool:
    """Whether a buy, its fee included, still met `rule`, judged on the position just
    before it (quantities micro-shares, costs pico-dollars)."""
    paid = price * size + fee * PICOS_PER_MICRO  # pico-dollars
    q, c = qty_other, cost_other
    if rule == "opening":
        return paid <= params.entry_max_price * size
    if rule in PAIRING_RULES:
        if q == 0:
            return True  # instant pair: the other leg is still on its way
        return paid * q + c * size <= params.target_pair_cost * size * q
    if rule in EQUALIZING_RULES and q:
        held = qty_self + size
        return (cost_self + paid) * q + c * held < params.max_pair_cost * held * q
    return True


def worst_buy_cost(fees: Any, request: OrderRequest, size: int) -> int:
    """Pico-dollars `size` more of a buy may cost: its limit price and the fee there (a
    post-only bid fills as a maker; anything else may take, and price plus fee per share
    rises with the price)."""
    return request.price * size + fees.fee(request.price, size, request.post_only) * PICOS_PER_MICRO
