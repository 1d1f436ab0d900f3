"""`WindowCore`: one market window's decisions as a synchronous state machine.

Inputs are frames, order events (fills among them) and timer ticks, each stamped with market
time in nanoseconds; outputs are commands (place, cancel, cancel all, halt, settle, notices)
and journal entries. Nothing here reads a clock, sleeps, or does I/O, and nothing depends on
the order in which some scheduler ran tasks: the same inputs give the same commands, under
Trio live and in a backtest's plain loop alike.

Decisions run in `on_timer`, at the instant `next_deadline()` names: inputs only record what
changed and when a decision falls due (the accumulator on a book change, no sooner than
`min_interval` after its last scan; the equalizer and the risk checks on a fill or on their
period). A shell delivers every input stamped `t`, then ticks the timer at `t`; frames that
arrive together are therefore scanned once.

One mode says what the window may do (`Mode`); a halt is an overlay on any of them.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Protocol

import msgspec

from gabagool import _core
from gabagool.attribution import attribute, rebate_rate_ppm
from gabagool.engine.core.commands import (
    Cancel,
    CancelAll,
    Command,
    FillEntry,
    FillReversal,
    Halt,
    JournalEntry,
    Notice,
    OrderIntent,
    OrderUpdate,
    Place,
    ResolutionEntry,
    Settle,
    WindowEnd,
    WindowOpenEntry,
)
from gabagool.engine.core.fair import ReferenceFrame, ReferenceState, apply_gate
from gabagool.engine.core.orders import OrderBook, OrderState, Placement, TrackedOrder
from gabagool.engine.core.rules import realised_within_rule, worst_buy_cost
from gabagool.engine.core.snapshot import WindowMark, WindowSnapshot
from gabagool.errors import FrameError
from gabagool.fair_value import FairSettings, up_mid
from gabagool.types import (
    MICROS,
    MS,
    NS,
    OUTCOMES,
    Outcome,
    Owner,
    describe_order,
    dollars,
    settlement_pnl,
)
from gabagool.venues.base import (
    Accepted,
    Cancelled,
    CancelRejected,
    Filled,
    FillReversed,
    OrderReport,
    OrderRequest,
    Rejected,
    Settled,
    Unknown,
    VenueEvent,
    WindowHeader,
)

IDLE_RESCAN_NS = NS  # the accumulator rescans at least this often: cutoffs move with time
REJECT_WINDOW_NS = 60 * NS
NEVER = 1 << 62  # a deadline that never comes


class Mode(enum.Enum):
    OPENING = "opening"  # no book yet, or replaying a restarted window's past
    TRADING = "trading"
    PAUSED = "paused"  # feed stale or after an order-reject storm (`pause` says which)
    QUOTE_CUT = "quote_cut"  # inside quote_cutoff: nothing rests, hold to settlement
    ENDED = "ended"  # past the end, waiting for the winner
    SETTLED = "settled"


# An enum member costs a descriptor call to look up on Python 3.11 (~130 ns, ten times an
# attribute), and the decisions read the mode a dozen times an instant: they use these names.
OPENING, TRADING, PAUSED = Mode.OPENING, Mode.TRADING, Mode.PAUSED
QUOTE_CUT, ENDED, SETTLED = Mode.QUOTE_CUT, Mode.ENDED, Mode.SETTLED
LIVE_MODES = frozenset({OPENING, TRADING, PAUSED, QUOTE_CUT})


class Limits(Protocol):
    """What the window reads of the portfolio: the rooms the caps still allow and its halt."""

    @property
    def rooms(self) -> tuple[int | None, int | None]:
        """Pico-dollars of capital and micro-shares unhedged the caps allow (None: no cap)."""
        ...

    @property
    def halt_reason(self) -> str: ...


class NoLimits:
    """A window alone: caps on its own position (the backtest loop's portfolio of one)."""

    def __init__(self, max_capital: int | None = None, max_unhedged: int | None = None) -> None:
        self.max_capital = max_capital
        self.max_unhedged = max_unhedged
        self.halt_reason = ""
        self.core: WindowCore | None = None

    @property
    def rooms(self) -> tuple[int | None, int | None]:
        capital: int | None = None
        unhedged: int | None = None
        core = self.core
        if core is not None:
            p = core.position
            if self.max_capital is not None:
                capital = max(0, self.max_capital - p.cost_up - p.cost_down)
            if self.max_unhedged is not None:
                unhedged = max(0, self.max_unhedged - abs(p.delta))
        return capital, unhedged


class WindowSettings:
    """The settings a window's decisions read, in core units (from `gabagool.config`)."""

    def __init__(self, settings: Any, header: WindowHeader) -> None:
        schedule = header.fee_schedule
        self.fees = _core.FeeSchedule.parse(schedule.rate, schedule.exponent, schedule.taker_only)
        mode = settings.strategy.mode
        if mode == "auto":
            mode = "maker" if self.fees.rate > 0 else "taker"
        self.maker = mode == "maker"
        kwargs = settings.strategy_params(mode)
        market_min = _core.parse_size(header.min_order_size)
        kwargs["min_order_size"] = max(kwargs["min_order_size"], market_min)
        kwargs["trade_size"] = max(kwargs["trade_size"], kwargs["min_order_size"])
        self.params = _core.StrategyParams(**kwargs)
        strategy, risk = settings.strategy, settings.risk
        self.min_interval_ns = int(strategy.min_interval * NS)
        self.equalizer_interval_ns = int(strategy.equalizer_interval * NS)
        self.risk_interval_ns = int(risk.risk_interval * NS)
        self.stale_after_ns = int(risk.stale_after * NS)
        self.reject_backoff_ns = int(risk.reject_backoff * NS)
        self.max_rejects_per_minute = int(risk.max_rejects_per_minute)
        self.exit_liquidity_halts = risk.exit_liquidity == "halt"
        self.resolution_wait_ns = int(settings.engine.resolution_wait * NS)
        reference = getattr(settings, "reference", None)
        # source "off": no fair value at all, the pair rules alone (the gate is off)
        self.fair: FairSettings | None = (
            FairSettings.from_settings(reference)
            if reference is not None and reference.source != "off"
            else None
        )


class WindowCore:
    def __init__(
        self,
        header: WindowHeader,
        settings: Any,  # `gabagool.config.Settings`
        *,
        limits: Limits | None = None,
        fallback_outcome: Callable[[], Outcome | None] = lambda: None,
        resume_ns: int = 0,
        id_prefix: str = "",
    ) -> None:
        self.header = header
        self.asset, self.slug, self.market_id = header.asset, header.slug, header.condition_id
        self.start_ns, self.end_ns = header.start * NS, header.end * NS
        self.config = WindowSettings(settings, header)
        self.params, self.fees, self.maker = (
            self.config.params,
            self.config.fees,
            self.config.maker,
        )
        self._rebate_ppm = rebate_rate_ppm(header.fee_schedule)
        tick = _core.parse_price(header.tick_size)
        self.market = _core.Market(header.up_token, header.down_token, tick)
        self.position = _core.Position()
        if limits is None:
            solo = NoLimits()
            solo.core = self
            limits = solo
        self.limits = limits
        self._fallback = fallback_outcome
        self.resume_ns = resume_ns
        # our names for orders: deterministic, and distinct after a restart (`id_prefix`)
        self._id_prefix = f"{self.slug}-{id_prefix}" if id_prefix else self.slug
        self._next_id = 0
        self.orders = OrderBook()
        self.journal: list[JournalEntry] = []
        self.fills: list[FillEntry] = []  # applied, in order (reversed ones taken out)
        self.mode = OPENING
        self.pause = ""  # why PAUSED
        self.halt_reason = ""  # the window's own halt (the portfolio's is `limits`)
        self.paused_until_ns = NEVER
        self.reject_storms = 0
        self.over_max_delta = False
        self.exit_illiquid = False
        self.liquidated = False
        self.breach_pending = False
        self.resolved: Outcome | None = None
        self.winner: Outcome | None = None
        self.settlement_pnl: int | None = None
        self.now_ns = self.start_ns
        self.last_frame_ns = self.start_ns
        self.frames = 0
        self.bad_frames = 0
        self.scans = 0
        self._batch_open = False
        self._resync_reported = 0
        self._quiet: Any = None  # the last summary found to say nothing (see `_absorb`)
        self._capped = False
        self._rejects: deque[int] = deque()
        self._wished: dict[str, dict[str, Any]] = {"accumulator": {}, "equalizer": {}, "risk": {}}
        self._reconciled: dict[str, tuple[int, str]] = {}
        self._last_scan = -NEVER
        self._scan_at = NEVER
        self._eq_at = self.start_ns
        self._risk_at = self.start_ns
        self._quote_cut_at = self.end_ns - self.params.quote_cutoff_ms * 1_000_000
        self._settle_at = NEVER
        self._last_mark = 0
        self._stale_after_ns = self.config.stale_after_ns
        self._min_interval_ns = self.config.min_interval_ns
        self._provisional = 0  # fills applied that may still be reversed
        # fills applied whose records wait for the scan they woke (`on_frame_fill`): (t_ns,
        # fill, order, the fill's side and the other before it as (qty, cost) x 2, order done)
        self._unrecorded: list[tuple[int, Filled, Any, tuple[int, int, int, int], bool]] = []
        self.reference: ReferenceState | None = None
        if self.config.fair is not None:
            beat = getattr(header, "price_to_beat", None)
            self.reference = ReferenceState(
                self.asset,
                header.start * 1000,
                header.end * 1000,
                self.config.fair,
                _core.parse_reference_price(beat) if beat else None,
            )
        self.resolution_check: Any = None  # `fair_value.ResolutionCheck` once settled
        # called when a scan has decided non-empty intents (a bench's latency probe reads
        # its clock there; the core reads none)
        self.on_intents: Callable[[], None] | None = None
        self._resolution_due = NEVER  # settled, the check waiting for the settlement price
        self._tick = tick
        if self.reference is not None and self.reference.fair.open_price is not None:
            self.reference.open_recorded = True
            self._journal_open(self.start_ns)

    # ---- what the window is ----------------------------------------------------------

    def ms_to_end(self, t_ns: int) -> int:
        return (self.end_ns - t_ns) // 1_000_000

    def blocked(self) -> str:
        """Why no new order may be placed now ("" when trading is allowed)."""
        portfolio = self.limits.halt_reason
        if portfolio:
            return f"halted: {portfolio}"
        if self.halt_reason:
            return f"window halted: {self.halt_reason}"
        mode = self.mode
        if mode is TRADING or mode is QUOTE_CUT:
            return ""
        if mode is PAUSED:
            return self.pause
        if mode is OPENING:
            return "catching up with the feed" if self.now_ns < self.resume_ns else "no book yet"
        return "window ended"

    @property
    def feed_stale(self) -> bool:
        return self.mode is PAUSED and self.pause == "feed stale"

    @property
    def ended(self) -> bool:
        return self.mode in (ENDED, SETTLED)

    def next_deadline(self) -> int:
        """Market ns of the next decision due without any new input (NEVER if none)."""
        mode = self.mode
        if mode is TRADING:  # the common case first: a shell asks after every input
            deadline = self._scan_at
            other = self._eq_at
            if other < deadline:
                deadline = other
            other = self._risk_at
            if other < deadline:
                deadline = other
            other = self.last_frame_ns + self._stale_after_ns
            if other < deadline:
                deadline = other
            other = self._quote_cut_at
            return other if other < deadline else deadline
        if mode is SETTLED:
            return self._resolution_due
        if mode is ENDED:
            return self._settle_at
        deadline = min(self.end_ns, self._risk_at)
        if mode is PAUSED:
            deadline = min(deadline, self._quote_cut_at, self.paused_until_ns)
        elif mode is OPENING:
            deadline = min(deadline, self._quote_cut_at, self._scan_at)
            if self.resume_ns > self.now_ns:
                deadline = min(deadline, self.resume_ns)
        return deadline

    def committed(self, exclude: Collection[str] = ()) -> int:
        """Pico-dollars held at cost plus what the live buys (but `exclude`d client ids) may
        still spend."""
        p = self.position
        total = max(0, p.cost_up + p.cost_down)
        for order in self.orders.active.values():
            if order.request.action == "buy" and order.may_fill and order.client_id not in exclude:
                total += worst_buy_cost(self.fees, order.request, order.remaining)
        return total

    def exposure(self, extra: OrderRequest | None = None, exclude: Collection[str] = ()) -> int:
        """The largest |delta| the live buys (but `exclude`d ones, plus `extra`) could leave
        if they all filled."""
        up, down = self.orders.buying(exclude)
        if extra is not None and extra.action == "buy":
            if extra.outcome == "up":
                up += extra.size
            else:
                down += extra.size
        delta = self.position.delta
        return max(abs(delta + up), abs(delta - down))

    def marked_pnl(self) -> int:
        """Pico-dollars: matched pairs at $1, the unhedged excess at its best bid, minus cost,
        plus realized. The last value marked stands while a book is resyncing."""
        value = self._mark_now()
        if value is not None:
            self._last_mark = value
        return self._last_mark

    def _mark_now(self) -> int | None:
        """The mark on the books now; None while the heavy side's book is resyncing."""
        p = self.position
        delta = p.delta
        if not delta:
            return p.hedged * MICROS + p.realized - p.cost_up - p.cost_down
        heavy: Outcome = "up" if delta > 0 else "down"
        market = self.market
        if not market.has_snapshot(heavy):
            return None
        bid = market.best_bid(heavy)
        excess_value = abs(delta) * bid[0] if bid is not None else 0
        return p.hedged * MICROS + excess_value + p.realized - p.cost_up - p.cost_down

    def mark(self) -> WindowMark:
        """What the portfolio counts of this window now (cheap: no full snapshot)."""
        p = self.position
        return WindowMark(
            market_id=self.market_id,
            t_ns=self.now_ns,
            qty_up=p.qty_up,
            qty_down=p.qty_down,
            cost_up=p.cost_up,
            cost_down=p.cost_down,
            marked_pnl=self.marked_pnl(),
        )

    def snapshot(self) -> WindowSnapshot:
        """The window now, for readers. It reads the marked P&L without recording it (the
        value a resync falls back on moves only where the portfolio marks), so that when
        and how often snapshots are read changes nothing the window decides or publishes."""
        p, market, stats = self.position, self.market, self.orders.stats
        marked = self._mark_now()
        up_bid, up_ask = market.best_bid("up"), market.best_ask("up")
        down_bid, down_ask = market.best_bid("down"), market.best_ask("down")
        return WindowSnapshot(
            asset=self.asset,
            slug=self.slug,
            market_id=self.market_id,
            start=self.header.start,
            end=self.header.end,
            t_ns=self.now_ns,
            mode=self.mode.value,
            maker=self.maker,
            blocked=self.blocked(),
            halt_reason=self.halt_reason,
            qty_up=p.qty_up,
            qty_down=p.qty_down,
            cost_up=p.cost_up,
            cost_down=p.cost_down,
            realized=p.realized,
            fees_paid=p.fees_paid,
            marked_pnl=self._last_mark if marked is None else marked,
            mark_at_bids=p.mark_pnl(market),
            committed=self.committed(),
            exposure=self.exposure(),
            resting=len(self.orders.live()),
            best_up=(up_bid[0] if up_bid else None, up_ask[0] if up_ask else None),
            best_down=(down_bid[0] if down_bid else None, down_ask[0] if down_ask else None),
            fills=stats.fills,
            maker_fills=stats.maker_fills,
            orders_placed=stats.placed,
            orders_rejected=stats.rejected,
            rule_breaches=stats.breaches,
            frames=self.frames,
            bad_frames=self.bad_frames,
            winner=self.winner,
            settlement_pnl=self.settlement_pnl,
            attribution=attribute(self.fills, self.fees, self.winner, self._rebate_ppm),
            **self._fair_fields(),
        )

    def _fair_fields(self) -> dict[str, Any]:
        state = self.reference
        if state is None:
            return {}
        value = state.value(self.now_ns)
        check = self.resolution_check
        return {
            "fair_up": value.up if value is not None else None,
            "fair_age_ms": value.age_ms if value is not None else None,
            "fair_stale": value.stale if value is not None else state.seen,
            "reference_ticks": state.ticks,
            "reference_open": state.fair.open_price,
            "gate_blocks": state.gate_blocks + state.gate_clamps,
            "stale_episodes": state.stale_episodes,
            "ours_winner": check.ours if check is not None else None,
            "resolution_disagrees": check is not None and check.agree is False,
        }

    # ---- inputs ------------------------------------------------------------------------

    def restore(self, fills: Iterable[Any]) -> None:
        """Continue from journaled fills (a restart): `store.FillRecord`s, in journal order.

        They join `fills` as applied and count in the stats like the position they make (a
        later reversal re-folds the position from that list and takes one off the count);
        one the exchange reversed adds nothing, and its id stays known, so the fill
        delivered again is a duplicate."""
        stats = self.orders.stats
        for fill in fills:
            self.orders.fill_ids.add(fill.trade_id)
            if getattr(fill, "reversed_ns", None) is not None:
                continue
            stats.fills += 1
            if fill.liquidity == "maker":
                stats.maker_fills += 1
            self.fills.append(
                FillEntry(
                    t_ns=fill.ts_ns,
                    client_id=fill.order_id,
                    venue_id="",
                    fill_id=fill.trade_id,
                    outcome=fill.outcome,
                    side=fill.side,
                    price=fill.price_micros,
                    size=fill.size_micros,
                    fee=fill.fee_micros,
                    maker=fill.liquidity == "maker",
                    final=True,
                    rule="",
                    breach=False,
                )
            )
            if fill.side == "buy":
                self.position.buy(
                    fill.outcome, fill.price_micros, fill.size_micros, fill.fee_micros
                )
            else:
                self.position.sell(
                    fill.outcome, fill.price_micros, fill.size_micros, fill.fee_micros
                )

    def on_frame(self, t_ns: int, frame: bytes | ReferenceFrame | None) -> list[Command]:
        """A frame (None: a keep-alive, the link is up) received at market time `t_ns`:
        `read_frame` then `on_read`, for callers with no venue reading the book between."""
        if isinstance(frame, ReferenceFrame):
            return self.on_reference(t_ns, frame)
        return self.on_read(t_ns, None if frame is None else self.read_frame(frame))

    def read_frame(self, frame: bytes) -> _core.FrameSummary | FrameError:
        """A market frame into the book, and what it changed (or why nothing of it was
        applied). The book is the one a simulated venue reads too (its view, never its
        copy: one parse a frame), so the driver lets the venue match the frame's trades
        before `on_read` hands the result to the decisions."""
        try:
            return self.market.apply_frame(frame)
        except FrameError as exc:
            return exc

    def on_read(self, t_ns: int, read: _core.FrameSummary | FrameError | None) -> list[Command]:
        """A frame `read_frame` read at market time `t_ns` (None: a keep-alive)."""
        self.now_ns = t_ns
        self.last_frame_ns = t_ns
        out: list[Command] = []
        if self.feed_stale:
            self._set_mode(TRADING)
            self.pause = ""
            out.append(Notice(action="feed_resumed", detail="link alive again"))
            self._want_scan(t_ns)
        if read is None:
            return out
        self.frames += 1
        if isinstance(read, FrameError):
            # nothing of it was applied; the books may now miss an update, which the wire
            # checks catch (a token found inconsistent waits for a snapshot)
            self.bad_frames += 1
            out.append(Notice(action="bad_frame", detail=f"frame {self.frames} skipped: {read}"))
            self._risk_at = t_ns
            return out
        self._batch_open = True
        self._absorb(read, out)
        return out

    def on_reference(self, t_ns: int, frame: ReferenceFrame) -> list[Command]:
        """A reference-feed frame: S, sigma, the open (journaled once known). It is not
        the market's link: it neither refreshes nor stales the market feed."""
        self.now_ns = t_ns
        out: list[Command] = []
        state = self.reference
        if state is None:
            return out
        malformed = state.counters.malformed
        state.on_frame(frame)
        if (
            state.counters.malformed > malformed
            and state.counters.malformed & (state.counters.malformed - 1) == 0
        ):  # the 1st, 2nd, 4th... : a flood stays a few lines
            out.append(
                Notice(
                    action="bad_reference_frame",
                    detail=f"{state.counters.malformed} malformed reference frame(s) skipped",
                )
            )
        if not state.open_recorded and state.fair.open_price is not None:
            state.open_recorded = True
            self._journal_open(t_ns)
        if self._resolution_due < NEVER and self._settlement_twap_known():
            self._check_resolution(t_ns, out)
        return out

    def _journal_open(self, t_ns: int) -> None:
        fair = self.reference.fair if self.reference is not None else None
        if fair is not None and fair.open_price is not None:
            how = "price to beat" if fair.opening.source == "price_to_beat" else "reference"
            self._journal(WindowOpenEntry(t_ns=t_ns, open=fair.open_price, how=how))

    def _fair_of(self, outcome: str) -> int | None:
        value = self.fair_value()
        if value is None:
            return None
        return value.up if outcome == "up" else value.down

    def fair_value(self) -> Any:
        """`fair_value.FairValue` now, or None (no reference feed, no price or open yet)."""
        return self.reference.value(self.now_ns) if self.reference is not None else None

    def on_order_event(self, t_ns: int, event: VenueEvent) -> list[Command]:
        self.now_ns = t_ns
        out: list[Command] = []
        if self._unrecorded:  # a confirmation or a reversal looks its fill up in `fills`
            self._record_fills(out)
        if isinstance(event, Filled):
            self._filled(t_ns, event, out)
        elif isinstance(event, Accepted):
            self._accepted(t_ns, event)
        elif isinstance(event, Rejected):
            self._rejected(t_ns, event, out)
        elif isinstance(event, Cancelled):
            self._ended(t_ns, event.client_id, OrderState.CANCELLED, event.reason)
        elif isinstance(event, CancelRejected):
            # nothing rests any more: it filled (its fills say so) or it was gone
            self._ended(t_ns, event.client_id, OrderState.CANCELLED, f"gone: {event.reason}")
        elif isinstance(event, FillReversed):
            self._reversed(t_ns, event, out)
        elif isinstance(event, Unknown):
            self._unknown(t_ns, event, out)
        elif isinstance(event, Settled):
            if self.resolved is None:
                self.resolved = event.winner
            if self.mode is ENDED:
                self._settle_at = t_ns
        return out

    on_fill = on_order_event

    def on_reconcile(self, t_ns: int, reports: Sequence[OrderReport]) -> list[Command]:
        """What the venue says still rests: orders in doubt are live or gone."""
        self.now_ns = t_ns
        resting = {r.client_id: r for r in reports}
        out: list[Command] = []
        for order in list(self.orders.active.values()):
            report = resting.pop(order.client_id, None)
            if report is not None:
                if order.state in (OrderState.SENDING, OrderState.UNKNOWN):
                    self.orders.settle(order, OrderState.LIVE)
                    order.venue_id = report.venue_id
                    order.remaining = report.remaining
                    self._journal(
                        OrderUpdate(
                            t_ns=t_ns,
                            client_id=order.client_id,
                            status="open",
                            venue_id=report.venue_id,
                        )
                    )
            elif order.state in (
                OrderState.SENDING,
                OrderState.UNKNOWN,
                OrderState.LIVE,
                OrderState.CANCELLING,
            ):
                self._ended(t_ns, order.client_id, OrderState.CANCELLED, "not on the venue")
        for report in resting.values():  # resting and not ours (a crashed run's): cancel it
            out.append(
                Cancel(
                    client_id=report.client_id,
                    venue_id=report.venue_id,
                    reason="unknown to this engine",
                )
            )
        return out

    def halt(self, t_ns: int, reason: str) -> list[Command]:
        """Halt this window: cancel what rests; only liquidation trades from here."""
        self.now_ns = t_ns
        out: list[Command] = []
        self._halt(reason, out)
        return out

    def resume(self, t_ns: int) -> list[Command]:
        self.now_ns = t_ns
        self.halt_reason = ""
        if self.mode is PAUSED and self.pause != "feed stale":
            self._set_mode(TRADING)
            self.pause = ""
        self.paused_until_ns = NEVER
        self._want_scan(t_ns)
        return []

    def check_now(self, t_ns: int) -> None:
        """Run the risk checks at the next tick (the portfolio halted, a fault elsewhere)."""
        self._risk_at = min(self._risk_at, t_ns)

    def liquidate(self, t_ns: int, reason: str) -> list[Command]:
        """Halt, cancel everything and flatten the unhedged excess (FAK)."""
        self.now_ns = t_ns
        out: list[Command] = []
        self._liquidate(t_ns, reason, out)
        return out

    def on_timer(self, t_ns: int) -> list[Command]:
        """Every decision due at `t_ns`, in a fixed order."""
        self.now_ns = t_ns
        out: list[Command] = []
        try:
            if self._batch_open:
                self._batch_open = False
                self._absorb(self.market.end_batch(), out)
            mode = self.mode
            # trading before the quote cutoff, the common instant: none of the changes of mode
            # below can apply
            if not (mode is TRADING and t_ns < self._quote_cut_at and t_ns < self.end_ns):
                if self._unrecorded:  # the window may end or settle below: records first
                    self._record_fills(out)
                if mode is SETTLED:
                    if t_ns >= self._resolution_due:
                        self._check_resolution(t_ns, out)  # with what we have: maybe unchecked
                    return out
                if mode is ENDED:
                    if t_ns >= self._settle_at:
                        self._settle(t_ns, out)
                    return out
                if t_ns >= self.end_ns:
                    self._set_mode(ENDED)
                    self._cancel_all("window end", out)
                    self._settle_at = (
                        t_ns if self.resolved else self.end_ns + self.config.resolution_wait_ns
                    )
                    if t_ns >= self._settle_at:
                        self._settle(t_ns, out)
                    return out
                if mode is not QUOTE_CUT and t_ns >= self._quote_cut_at:
                    self._set_mode(QUOTE_CUT)
                    out.append(
                        Notice(
                            action="quote_cutoff", detail=f"{self.ms_to_end(t_ns)} ms to end: hold"
                        )
                    )
                    self._cancel_all("quote cutoff", out)
                elif mode is OPENING:
                    if (
                        t_ns >= self.resume_ns
                        and self.market.has_snapshot("up")
                        and self.market.has_snapshot("down")
                    ):
                        self._set_mode(TRADING)
                        self._want_scan(t_ns)
                    elif t_ns >= self._scan_at:
                        self._scan_at = NEVER  # looked; the next book change looks again
                elif mode is PAUSED and self.pause != "feed stale" and t_ns >= self.paused_until_ns:
                    self._set_mode(TRADING)
                    self.pause = ""
                    self.paused_until_ns = NEVER
                    self._want_scan(t_ns)
            if self.mode is TRADING:
                quiet = t_ns - self.last_frame_ns
                if quiet >= self.config.stale_after_ns:
                    self._set_mode(PAUSED)
                    self.pause = "feed stale"
                    out.append(
                        Notice(
                            action="feed_stale",
                            detail=f"no frame for {quiet / NS:.1f} s: orders cancelled, paused",
                        )
                    )
                    self._cancel_all("stale feed", out)
            if t_ns >= self._risk_at:
                self._risk_at = t_ns + self.config.risk_interval_ns
                self._check_risk(t_ns, out)
            if self.mode is TRADING:
                if t_ns >= self._scan_at:
                    self._last_scan = t_ns
                    self._scan_at = t_ns + IDLE_RESCAN_NS
                    self._accumulate(t_ns, out)
                if t_ns >= self._eq_at:
                    if self.params.equalizer:
                        self._eq_at = t_ns + self.config.equalizer_interval_ns
                        self._equalize(t_ns, out)
                    else:  # off: no instant a second for a scan that cannot bid
                        self._eq_at = NEVER
            return out
        finally:
            if self._unrecorded:  # a fill of this instant that woke no scan
                self._record_fills(out)

    # ---- decisions ---------------------------------------------------------------------

    def _accumulate(self, t_ns: int, out: list[Command]) -> None:
        self.scans += 1
        capital_room, unhedged_room = self.limits.rooms
        blocked = self.blocked()
        intents = _core.accumulate(
            self.market,
            self.position,
            self.params,
            self.fees,
            (self.end_ns - t_ns) // 1_000_000,
            halted=bool(blocked) or self.over_max_delta,
            feed_stale=self.feed_stale,
            capital_room=capital_room,
            unhedged_room=unhedged_room,
        )
        if self.reference is not None:
            intents = self._gate(t_ns, intents, out)
        if intents and self.on_intents is not None:
            self.on_intents()
        if self._unrecorded:  # decided: the fills it saw are recorded before any order
            self._record_fills(out)
        self._act("accumulator", intents, t_ns, out, blocked)

    def _gate(self, t_ns: int, intents: Sequence[Any], out: list[Command]) -> list[Any]:
        """Fair value's limit on the accumulator's buys (the equalizer's hedges are not
        gated: they shrink the unhedged excess, whatever the side is worth). A stale or
        missing reference is said once per episode, never raised."""
        state = self.reference
        assert state is not None
        if not state.seen:
            waited = t_ns - max(self.start_ns, self.resume_ns)
            # before the first tick (or with none at all: an old recording) the pair rules
            # alone decide, as they always did; a window never waits on its reference
            if not state.absent_said and waited >= state.settings.stale_after_ms * MS:
                state.absent_said = True
                out.append(
                    Notice(
                        action="fair_value_absent",
                        detail="no reference price: buys on the pair rules alone",
                    )
                )
            return list(intents)
        gates = state.gates(t_ns)
        gate = gates["up"]
        stale = gate is not None and gate.reason != "fair value"
        if stale and not state.in_stale:
            state.in_stale = True
            state.stale_episodes += 1
            value = state.value(t_ns)
            age = f"{value.age_ms / 1000:.1f} s old" if value is not None else "no open yet"
            policy = self.config.fair.when_stale if self.config.fair is not None else ""
            action = "paused" if policy == "pause" else "pair rules alone"
            out.append(Notice(action="reference_stale", detail=f"reference price {age}: {action}"))
        elif not stale and state.in_stale:
            state.in_stale = False
            out.append(Notice(action="reference_fresh", detail="fair value gates buys again"))
        if not intents:
            return []
        return apply_gate(intents, gates, self._tick, state)

    def _equalize(self, t_ns: int, out: list[Command]) -> None:
        ms = self.ms_to_end(t_ns)
        urgent = self.over_max_delta or self.breach_pending or ms <= self.params.open_cutoff_ms
        self.breach_pending = False
        blocked = self.blocked()
        intents = _core.equalize(
            self.market,
            self.position,
            self.params,
            self.fees,
            ms,
            fills_confirmed=not self._provisional,
            urgent=urgent,
            halted=bool(blocked),
        )
        self._act("equalizer", intents, t_ns, out, blocked)

    def _check_risk(self, t_ns: int, out: list[Command]) -> None:
        if self.mode is OPENING:
            return  # the books are the past's (or missing): no mark on them is a price now
        blocked = self.blocked()
        if blocked and self.orders.live():
            self._cancel_all(blocked, out)
        market = self.market
        if not (market.has_snapshot("up") and market.has_snapshot("down")):
            return  # mid-resync: a mark of zero is no price, not a loss
        metrics = _core.risk_metrics(market, self.position, self.params)
        if metrics.over_max_delta != self.over_max_delta:
            self.over_max_delta = metrics.over_max_delta
            action = "max_delta" if self.over_max_delta else "max_delta_cleared"
            out.append(Notice(action=action, detail=f"delta {_shares(metrics.delta)}"))
            self._eq_at = t_ns
        if not metrics.exit_liquidity_ok and not self.exit_illiquid:
            out.append(
                Notice(
                    action="exit_liquidity",
                    detail=f"bids cannot absorb {_shares(metrics.unhedged)} unhedged",
                )
            )
            if self.config.exit_liquidity_halts:
                self._halt("exit liquidity short", out)
        self.exit_illiquid = not metrics.exit_liquidity_ok
        if metrics.stop_loss_triggered and not self.liquidated:
            self._liquidate(
                t_ns,
                f"stop loss: unhedged mark loss {dollars(metrics.unhedged_mark_loss)} "
                f"of {dollars(metrics.capital_deployed)} deployed",
                out,
            )

    def _liquidate(self, t_ns: int, reason: str, out: list[Command]) -> None:
        self._halt(reason, out)
        if self.ended:
            return  # the market has closed: what is held is settled, not sold
        self.liquidated = True
        intents = _core.flatten(self.market, self.position, self.params, self.fees)
        self._act("risk", intents, t_ns, out)
        out.append(Notice(action="liquidate", detail=f"{reason}: {len(intents)} FAK order(s)"))

    def _halt(self, reason: str, out: list[Command]) -> None:
        if not self.halt_reason:
            self.halt_reason = reason
            out.append(Notice(action="halt_window", detail=reason))
            out.append(Halt(reason=reason))
        self._cancel_all(reason, out)

    def _settle(self, t_ns: int, out: list[Command]) -> None:
        winner = self.resolved or self._fallback()
        self.winner = winner
        p = self.position
        if winner is not None:
            self.settlement_pnl = settlement_pnl(
                winner,
                qty_up=p.qty_up,
                qty_down=p.qty_down,
                cost_up=p.cost_up,
                cost_down=p.cost_down,
                realized=p.realized,
            )
        self._set_mode(SETTLED)
        self._journal(WindowEnd(t_ns=t_ns, winner=winner, pnl=self.settlement_pnl))
        if self.reference is not None:
            if self._settlement_twap_known():
                self._check_resolution(t_ns, out)
            else:  # the TWAP stamped at the end comes a little later on its own feed
                self._resolution_due = max(t_ns, self.end_ns) + self.config.resolution_wait_ns
        out.append(Settle(winner=winner, pnl=self.settlement_pnl))

    def _settlement_twap_known(self) -> bool:
        """The TWAP feed has a value stamped at or after the end: the settlement price. (At
        the deadline, our own average of the spot stands in for it.)"""
        assert self.reference is not None
        settled = self.reference.fair.settlement_price()
        return settled is not None and settled[1] == "twap"

    def _check_resolution(self, t_ns: int, out: list[Command]) -> None:
        """Our winner (settlement TWAP vs open, ties Up) beside the exchange's."""
        assert self.reference is not None
        self._resolution_due = NEVER
        check = self.reference.resolution(self.resolved)
        self.resolution_check = check
        self._journal(
            ResolutionEntry(
                t_ns=t_ns,
                ours=check.ours,
                exchange=check.exchange,
                settlement=check.settlement,
                open=check.open,
            )
        )
        if check.ours is None:
            out.append(
                Notice(
                    action="resolution_unchecked",
                    detail=f"exchange says {check.exchange or 'nothing'}; "
                    "no open or settlement price of ours",
                )
            )
        elif check.agree is False:
            out.append(
                Notice(
                    action="resolution_disagrees",
                    detail=f"reference says {check.ours}, exchange says {check.exchange}",
                )
            )
        else:
            out.append(
                Notice(
                    action="resolution_check",
                    detail=f"reference says {check.ours}, exchange says "
                    f"{check.exchange or 'nothing'}",
                )
            )

    # ---- orders: wishes to commands ----------------------------------------------------

    def _act(
        self,
        owner: Owner,
        intents: Sequence[Any],
        t_ns: int,
        out: list[Command],
        blocked: str | None = None,
    ) -> None:
        """Rest `owner`'s GTC intents (replacing its earlier ones) and send the others now.
        `blocked`: `self.blocked()`, when the caller has just read it."""
        wished = {i.outcome: i for i in intents if i.order_type == "GTC"} if intents else {}
        if blocked is None:
            blocked = self.blocked()
        # the same wishes on the same orders, under the same block: the last reconcile's
        # answer stands (most scans of a quiet book), and it costs nothing to keep it
        # (a reconcile places and cancels; it changes no block)
        key = (self.orders.version, blocked)
        if wished != self._wished[owner] or key != self._reconciled.get(owner):
            self._wished[owner] = wished
            self._reconcile(t_ns, out)
            self._reconciled[owner] = (self.orders.version, blocked)
        if not intents:
            return
        for intent in intents:
            if intent.order_type != "GTC" and not self._in_doubt(intent.outcome):
                self._send(owner, intent, t_ns, out)

    def _in_doubt(self, outcome: str) -> bool:
        """An order of `outcome` whose send nobody knows the outcome of: nothing more is sent
        on that side until reconciliation says (a blind retry could buy twice)."""
        if not self.orders.stats.unknown:
            return False
        return any(
            o.state is OrderState.UNKNOWN and o.request.outcome == outcome
            for o in self.orders.active.values()
        )

    def _reconcile(self, t_ns: int, out: list[Command]) -> None:
        working = self.orders.working()
        for outcome in OUTCOMES:
            owner, wish = self._wish(outcome)
            kept = False
            for order in working:
                request = order.request
                if request.outcome != outcome:
                    continue
                if (
                    not kept
                    and wish is not None
                    and request.action == wish.action
                    and request.price == wish.price
                    and order.remaining <= wish.size
                ):
                    kept = True  # every replace loses queue position
                    continue
                self._cancel(order, "re-price", out)
            if wish is not None and not kept and not self._in_doubt(outcome):
                self._send(owner, wish, t_ns, out)

    def _wish(self, outcome: str) -> tuple[Owner, Any]:
        """The equalizer's bid only where it bids higher; else the accumulator's."""
        accumulator = self._wished["accumulator"].get(outcome)
        equalizer = self._wished["equalizer"].get(outcome)
        if equalizer is not None and (accumulator is None or equalizer.price > accumulator.price):
            return "equalizer", equalizer
        return "accumulator", accumulator

    def _send(self, owner: Owner, intent: Any, t_ns: int, out: list[Command]) -> None:
        if owner != "risk" and self.blocked():
            return  # a wish made before a halt or a pause; only liquidation trades now
        self._next_id += 1
        client_id = f"{self._id_prefix}-{self._next_id}"
        outcome = intent.outcome
        request = OrderRequest(
            market_id=self.market_id,
            outcome=outcome,
            action=intent.action,
            price=intent.price,
            size=intent.size,
            order_type=intent.order_type,
            post_only=intent.post_only,
            rule=intent.rule,
            client_id=client_id,
        )
        p = self.position
        up = outcome == "up"
        placement = Placement(
            qty_self=p.qty_up if up else p.qty_down,
            qty_other=p.qty_down if up else p.qty_up,
            cost_other=p.cost_down if up else p.cost_up,
            ms_to_end=self.ms_to_end(t_ns),
        )
        self.orders.add(TrackedOrder(client_id, request, owner, placement, remaining=intent.size))
        self._journal(
            OrderIntent(t_ns=t_ns, request=request, owner=owner, fair=self._fair_of(outcome))
        )
        out.append(Place(request=request, owner=owner))

    def _cancel(self, order: TrackedOrder, reason: str, out: list[Command]) -> None:
        self.orders.settle(order, OrderState.CANCELLING)
        order.reason = reason
        out.append(Cancel(client_id=order.client_id, venue_id=order.venue_id, reason=reason))

    def _cancel_all(self, reason: str, out: list[Command]) -> None:
        for wishes in self._wished.values():
            wishes.clear()
        live = self.orders.live()
        for order in live:
            if order.state is not OrderState.CANCELLING:
                self.orders.settle(order, OrderState.CANCELLING)
                order.reason = reason
        if live:
            out.append(CancelAll(reason=reason))

    # ---- orders: events ----------------------------------------------------------------

    def _accepted(self, t_ns: int, event: Accepted) -> None:
        order = self.orders.get(event.client_id)
        if order is None:
            return
        order.venue_id = event.venue_id
        self.orders.stats.placed += 1
        if order.state in (OrderState.SENDING, OrderState.UNKNOWN):
            if order.remaining <= 0:
                self.orders.settle(order, OrderState.FILLED)  # its fills came before the ack
            else:
                self.orders.settle(order, OrderState.LIVE)
        status = "open" if event.resting else "pending"
        if order.state is OrderState.FILLED:
            status = "filled"
        self._journal(
            OrderUpdate(
                t_ns=t_ns, client_id=order.client_id, status=status, venue_id=event.venue_id
            )
        )

    def _rejected(self, t_ns: int, event: Rejected, out: list[Command]) -> None:
        order = self.orders.get(event.client_id)
        if order is None or order.state in (OrderState.REJECTED, OrderState.CANCELLED):
            return
        self.orders.settle(order, OrderState.REJECTED)
        order.reason = f"{event.reason}: {event.detail}" if event.detail else event.reason
        stats = self.orders.stats
        self._journal(
            OrderUpdate(
                t_ns=t_ns, client_id=order.client_id, status="rejected", reason=order.reason
            )
        )
        if event.reason == "halted" or event.reason == "not_journaled":
            # refused on our side before the send (the halt and the journal's failure are
            # reported where they happen): the venue never saw it, so no reject storm
            return
        if event.reason == "capital_cap":
            stats.capped += 1
            if not self._capped:  # once per spell: every scan would repeat it
                self._capped = True
                r = order.request
                what = describe_order(r.action, r.outcome, r.size, r.price)
                out.append(
                    Notice(
                        action="capital_cap",
                        detail=f"{r.rule} {what} not sent: "
                        "no room under the shared capital or unhedged cap",
                    )
                )
            return
        stats.rejected += 1
        if event.reason == "post_only_cross":
            stats.post_only_crosses += 1  # a race with the book: the next scan re-prices
            return
        out.append(Notice(action="order_rejected", detail=order.reason))
        self._rejects.append(t_ns)
        while self._rejects and self._rejects[0] < t_ns - REJECT_WINDOW_NS:
            self._rejects.popleft()
        if len(self._rejects) > self.config.max_rejects_per_minute:
            self._rejects.clear()
            self.reject_storms += 1
            backoff = self.config.reject_backoff_ns * 2 ** (self.reject_storms - 1)
            self.paused_until_ns = t_ns + backoff
            if self.mode is TRADING:
                self._set_mode(PAUSED)
                self.pause = "paused after order rejects"
            out.append(
                Notice(action="reject_storm", detail=f"too many rejects: paused {backoff // NS} s")
            )
            self._risk_at = t_ns

    def _ended(self, t_ns: int, client_id: str, state: OrderState, reason: str) -> None:
        order = self.orders.get(client_id)
        if order is None or order.state in (
            OrderState.FILLED,
            OrderState.CANCELLED,
            OrderState.REJECTED,
        ):
            return
        if order.state is not OrderState.SENDING or order.request.order_type == "GTC":
            self.orders.stats.cancelled += 1
        self.orders.settle(order, state)
        order.reason = order.reason or reason
        self._journal(
            OrderUpdate(t_ns=t_ns, client_id=client_id, status="cancelled", reason=order.reason)
        )

    def _unknown(self, t_ns: int, event: Unknown, out: list[Command]) -> None:
        order = self.orders.get(event.client_id)
        if order is None or order.state is not OrderState.SENDING:
            return
        self.orders.settle(order, OrderState.UNKNOWN)
        self.orders.stats.unknown += 1
        self._journal(
            OrderUpdate(t_ns=t_ns, client_id=order.client_id, status="unknown", reason=event.detail)
        )
        out.append(Notice(action="order_unknown", detail=f"{order.client_id}: {event.detail}"))

    def on_frame_fill(self, t_ns: int, event: VenueEvent) -> list[Command]:
        """A venue event a market frame's trades made (a simulated venue matching them):
        a new fill while trading is applied at once (position, order, wake-ups) and
        recorded (its rule check, entry, journal) once the scan it wakes has decided, so
        the decision does not wait on the records. The driver runs that scan at this same
        instant, before any order leaves: a fill's records are journaled before the next
        send, as every other fill's are."""
        if (
            self.mode is not TRADING
            or not isinstance(event, Filled)
            or event.fill_id in self.orders.fill_ids
        ):
            return self.on_order_event(t_ns, event)
        self.now_ns = t_ns
        self._apply_fill(t_ns, event)
        return []

    def _filled(self, t_ns: int, fill: Filled, out: list[Command]) -> None:
        if fill.fill_id in self.orders.fill_ids:
            if fill.final and self._provisional:
                self._confirm(t_ns, fill.fill_id)  # MATCHED, now CONFIRMED: no new shares
            else:
                self.orders.stats.duplicate_fills += 1
            return
        self._apply_fill(t_ns, fill)
        self._record_fills(out)

    def _apply_fill(self, t_ns: int, fill: Filled) -> None:
        """What the next decision reads of a new fill; its records wait in `_unrecorded`
        for `_record_fills`."""
        stats = self.orders.stats
        self.orders.fill_ids.add(fill.fill_id)
        order = self.orders.get(fill.client_id)
        p = self.position
        # the rule check judges the fill on the position just before it
        if fill.outcome == "up":
            before = (p.qty_up, p.cost_up, p.qty_down, p.cost_down)
        else:
            before = (p.qty_down, p.cost_down, p.qty_up, p.cost_up)
        if fill.side == "buy":
            p.buy(fill.outcome, fill.price, fill.size, fill.fee)
        else:
            p.sell(fill.outcome, fill.price, fill.size, fill.fee)
        if order is not None:
            # every wish on this side was made for the position before the fill: the next
            # reconcile must send neither this one again nor another owner's stale one (an
            # accumulator clip sized for a gap the equalizer's fill just closed)
            for wished in self._wished.values():
                wished.pop(fill.outcome, None)
            order.remaining -= fill.size
            order.filled += fill.size
            self.orders.version += 1
            if order.venue_id == "":
                order.venue_id = fill.venue_id
            if order.remaining <= 0 and order.state not in (
                OrderState.CANCELLED,
                OrderState.REJECTED,
            ):
                self.orders.settle(order, OrderState.FILLED)
        if not fill.final:
            self._provisional += 1
        stats.fills += 1
        if fill.maker:
            stats.maker_fills += 1
        done = order is not None and order.state is OrderState.FILLED and order.remaining <= 0
        self._unrecorded.append((t_ns, fill, order, before, done))
        self._want_scan(t_ns)
        self._eq_at = min(self._eq_at, t_ns)
        self._risk_at = min(self._risk_at, t_ns)

    def _record_fills(self, out: list[Command]) -> None:
        """The records of the fills applied so far: rule check, entry, journal, notices."""
        pending, self._unrecorded = self._unrecorded, []
        stats = self.orders.stats
        for t_ns, fill, order, (qty_self, cost_self, qty_other, cost_other), done in pending:
            rule = order.request.rule if order is not None else ""
            if order is None:
                out.append(
                    Notice(
                        action="unknown_order_fill",
                        detail=f"fill {fill.fill_id} of {fill.client_id}",
                    )
                )
            breach = fill.side == "buy" and not realised_within_rule(
                rule,
                self.params,
                price=fill.price,
                size=fill.size,
                fee=fill.fee,
                qty_self=qty_self,
                cost_self=cost_self,
                qty_other=qty_other,
                cost_other=cost_other,
            )
            entry = FillEntry(
                t_ns=t_ns,
                client_id=fill.client_id,
                venue_id=fill.venue_id,
                fill_id=fill.fill_id,
                outcome=fill.outcome,
                side=fill.side,
                price=fill.price,
                size=fill.size,
                fee=fill.fee,
                maker=fill.maker,
                final=fill.final,
                rule=rule,
                breach=breach,
                fair=self._fair_of(fill.outcome),
            )
            self.fills.append(entry)
            self._journal(entry)
            if done:
                assert order is not None
                self._journal(
                    OrderUpdate(
                        t_ns=t_ns,
                        client_id=order.client_id,
                        status="filled",
                        venue_id=order.venue_id,
                    )
                )
            if breach:
                stats.breaches += 1
                self.breach_pending = True
                out.append(
                    Notice(
                        action="rule_breach",
                        detail=f"{rule} fill "
                        f"{describe_order(fill.side, fill.outcome, fill.size, fill.price)} "
                        f"fee {fill.fee / MICROS:.6f} $",
                    )
                )

    def _confirm(self, t_ns: int, fill_id: str) -> None:
        for index, entry in enumerate(self.fills):
            if entry.fill_id == fill_id and not entry.final:
                confirmed = msgspec.structs.replace(entry, final=True, t_ns=t_ns)
                self.fills[index] = confirmed
                self._provisional -= 1
                self._journal(confirmed)
                return

    def _reversed(self, t_ns: int, event: FillReversed, out: list[Command]) -> None:
        kept = [f for f in self.fills if f.fill_id != event.fill_id]
        if len(kept) == len(self.fills):
            return  # never applied (or already reversed)
        (gone,) = [f for f in self.fills if f.fill_id == event.fill_id]
        self.fills = kept
        if not gone.final:
            self._provisional -= 1
        self.orders.stats.reversed_fills += 1
        self.orders.stats.fills -= 1
        position = _core.Position()
        for f in kept:
            if f.side == "buy":
                position.buy(f.outcome, f.price, f.size, f.fee)
            else:
                position.sell(f.outcome, f.price, f.size, f.fee)
        self.position = position
        order = self.orders.get(event.client_id)
        if order is not None:
            order.remaining += gone.size
            order.filled -= gone.size
            self.orders.version += 1
        self._journal(
            FillReversal(
                t_ns=t_ns, client_id=event.client_id, fill_id=event.fill_id, detail=event.detail
            )
        )
        out.append(Notice(action="fill_reversed", detail=f"{event.fill_id}: {event.detail}"))
        self._eq_at = min(self._eq_at, t_ns)
        self._risk_at = min(self._risk_at, t_ns)

    # ---- feed --------------------------------------------------------------------------

    def _absorb(self, summary: Any, out: list[Command]) -> None:
        if summary is self._quiet:
            self._resync_reported = 0
            return
        if summary.changed:
            self._want_scan(self.now_ns)
            if self.reference is not None:
                self.reference.fair.on_mid(up_mid(self.market), self.now_ns // MS)
        if summary.resolved is not None and self.resolved is None:
            self.resolved = summary.resolved
            if self.mode is ENDED:
                self._settle_at = self.now_ns
        resync = summary.needs_resync
        problems = summary.problems
        if (resync and resync != self._resync_reported) or problems:
            out.append(
                Notice(
                    action="feed_problem",
                    detail=f"resync mask {resync}: {'; '.join(problems) or 'awaiting a snapshot'}",
                )
            )
            self._risk_at = min(self._risk_at, self.now_ns)
        self._resync_reported = resync
        if not (resync or problems or summary.changed) and summary.resolved is None:
            # the books' summaries are immutable and the common ones shared (`_core`): the
            # next frame that changes nothing is most often this very object
            self._quiet = summary

    def _want_scan(self, t_ns: int) -> None:
        due = max(t_ns, self._last_scan + self._min_interval_ns)
        if due < self._scan_at:
            self._scan_at = due

    def _set_mode(self, mode: Mode) -> None:
        self.mode = mode

    def _journal(self, entry: JournalEntry) -> None:
        self.journal.append(entry)


def _shares(micros: int) -> str:
    from gabagool.types import short

    return short(micros)
