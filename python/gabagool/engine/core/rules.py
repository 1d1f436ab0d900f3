"""The checks made on an order after the fact: did a fill keep its rule, what may a buy cost.

Both have one home, the Rust scan (`rust/src/scan/rules.rs`, `pricing.rs`): the bounds a
fill is judged by and the worst case a live buy is counted at are the ones the scan used to
price and size it (equalizing strictly below `max_pair_cost`, a FAK at its limit with the
fee where it peaks). These adapters only take the engine's records apart.
"""

from __future__ import annotations

from typing import Any

from gabagool import core
from gabagool.venues.base import OrderRequest


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
    before it (quantities micro-shares, costs pico-dollars); "" (no rule) always does."""
    return core.buy_within_rule(
        rule,
        params,
        price=price,
        size=size,
        fee=fee,
        qty_self=qty_self,
        cost_self=cost_self,
        qty_other=qty_other,
        cost_other=cost_other,
    )


def worst_buy_cost(fees: Any, request: OrderRequest, size: int) -> int:
    """Pico-dollars `size` more of `request` (a buy) may cost if it fills, fee included."""
    return core.worst_buy_cost(fees, request.price, size, request.order_type, request.post_only)
