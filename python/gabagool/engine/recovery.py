"""What a starting engine reads back from the journal to pick up where a crash left it.

Only the windows of the engine's own assets are its to resume: engines sharing a store trade
disjoint assets and must not take over each other's windows or orders.

The resume point is market time: the latest moment the journal saw this engine act (a window
opened or settled, an order placed or updated, a fill). The engine's clock restarts there, so
a resumed window continues from where its position was journaled, and its feed replays the
frames up to that moment at once (rebuilding the books) before the window trades again.

What may still rest is the venue's to say (`Exchange.reconcile`): a journaled order is matched
to the venue's report by the exchange's own id once the journal has it (a live venue lists
its orders by that id), else by our client id (an intent the venue never acknowledged). A
journaled order no report matches does not rest: a crash between the journal write and the
send, or a POST whose outcome never came back and that the venue does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from gabagool.store import FillRecord, HaltState, OrderRecord, Store, WindowRecord
from gabagool.venues.base import OrderReport


class Recovery(msgspec.Struct, frozen=True, kw_only=True):
    halt: HaltState
    open_windows: list[WindowRecord]
    settled_windows: list[WindowRecord]
    fills: dict[str, list[FillRecord]]  # of each open window, in journal order, reversed
    # ones included (marked): the core keeps their ids so a fill delivered again counts once
    resume_ns: int  # 0 when the journal holds nothing of this engine's


async def load_recovery(store: Store, assets: Iterable[str]) -> Recovery:
    mine = set(assets)
    windows = [w for w in await store.windows() if w.asset in mine]
    open_windows = [w for w in windows if w.status == "open"]
    settled = sorted((w for w in windows if w.status == "settled"), key=lambda w: w.end_s)
    fills = {w.window_id: await store.fills(w.window_id) for w in open_windows}
    times = [w.opened_ns for w in open_windows]
    times += [w.settled_ns or 0 for w in settled]
    times += [f.ts_ns for window_fills in fills.values() for f in window_fills]
    times += [f.reversed_ns or 0 for window_fills in fills.values() for f in window_fills]
    for window in open_windows:
        times += [o.updated_ns for o in await store.orders(window.window_id)]
    return Recovery(
        halt=await store.get_halt(),
        open_windows=open_windows,
        settled_windows=settled,
        fills=fills,
        resume_ns=max(times, default=0),
    )


class Reconciled(msgspec.Struct, frozen=True, kw_only=True):
    resting: list[tuple[OrderRecord, OrderReport]]  # the venue still holds them
    gone: list[OrderRecord]  # the venue holds nothing of them


def reconcile_orders(
    journaled: Sequence[OrderRecord], reports: Sequence[OrderReport]
) -> Reconciled:
    """Which of the journal's maybe-resting orders the venue still holds, by its id first."""
    by_venue = {r.venue_id: r for r in reports if r.venue_id}
    by_client = {r.client_id: r for r in reports if r.client_id}
    resting: list[tuple[OrderRecord, OrderReport]] = []
    gone: list[OrderRecord] = []
    for order in journaled:
        report = by_venue.get(order.venue_id) if order.venue_id else None
        if report is None:
            report = by_client.get(order.order_id)
        if report is None:
            gone.append(order)
        else:
            resting.append((order, report))
    return Reconciled(resting=resting, gone=gone)
