"""A window's view of the underlying inside the core: reference frames in, fair value out,
and the gate it puts on the accumulator's buys.

Pure and synchronous like the rest of the core (no Trio, no clock): frames arrive stamped
with market time, and every time the fair-value model needs is derived from those stamps,
so the Trio shell and the backtest loop compute the same fair values and the same gate.
The arithmetic is `gabagool.fair_value` (itself the Rust core's); this module only wires it
to the window: which frames are reference frames, how the gate changes a scan's intents,
and when a stale or missing reference is said (once per episode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gabagool.fair_value import (
    BuyGate,
    FairSettings,
    FairValue,
    ResolutionCheck,
    WindowFair,
    buy_gate,
)
from gabagool.types import MS
from gabagool.venues.base import ReferenceFrame
from gabagool.venues.polymarket.reference_frames import (
    FeedCounters,
    PolyBoltReader,
    ReferenceTick,
    RtdsReader,
    TickFrame,
)

__all__ = ["GatedIntent", "ReferenceFrame", "ReferenceState", "apply_gate"]


@dataclass(frozen=True, slots=True)
class GatedIntent:
    """An accumulator intent at a price the gate lowered: the fields `WindowCore._act` and
    `_send` read of a core `Intent`, with value equality like it."""

    outcome: str
    action: str
    price: int
    size: int
    order_type: str
    post_only: bool
    rule: str


class ReferenceState:
    """S, S_open, sigma and fair value of one window, fed with reference frames."""

    def __init__(
        self,
        asset: str,
        start_ms: int,
        end_ms: int,
        settings: FairSettings,
        price_to_beat: int | None,
    ) -> None:
        self.settings = settings
        self.fair = WindowFair(asset, start_ms, end_ms, settings, price_to_beat=price_to_beat)
        self.counters = FeedCounters()
        self._polybolt = PolyBoltReader([asset], self.counters)
        self._rtds = RtdsReader([asset], self.counters)
        self.frames = 0
        self.ticks = 0  # of this window's asset
        self.open_recorded = False
        self.stale_episodes = 0
        self.in_stale = False
        self.absent_said = False
        self.gate_blocks = 0  # accumulator intents dropped by the gate
        self.gate_clamps = 0  # accumulator intents whose price the gate lowered
        self._key: tuple[int, int, int | None, int | None, int | None] | None = None
        self._value: FairValue | None = None

    @staticmethod
    def _is_rtds(text: str | bytes) -> bool:
        return (b'"topic"' in text) if isinstance(text, bytes) else ('"topic"' in text)

    def on_frame(self, frame: ReferenceFrame) -> list[ReferenceTick]:
        """The ticks of one frame, applied; malformed frames are counted by the reader."""
        self.frames += 1
        fair = self.fair
        if isinstance(frame, TickFrame):  # read by a live socket client already
            ticks = list(frame.ticks)
            if frame.price_to_beat is not None:
                self._price_to_beat(frame.price_to_beat)
        elif self._is_rtds(frame.text):
            ticks = self._rtds.read(frame.text)
        else:
            ticks, _control = self._polybolt.read(frame.text)
        mine = [t for t in ticks if t.asset == fair.asset]
        for tick in mine:
            fair.on_tick(tick)
        self.ticks += len(mine)
        return mine

    def _price_to_beat(self, price: int) -> None:
        """Gamma's price to beat, learnt after the window's feed started: it replaces an
        open read from the feed (journaled again, as the price to beat), once."""
        opening = self.fair.opening
        if opening.source == "price_to_beat":
            return
        before = opening.price
        self.fair.set_price_to_beat(price)
        if before is not None:
            self.open_recorded = False  # the window journals the open it now has

    @property
    def seen(self) -> bool:
        """A spot price has arrived: the feed carries this window's reference."""
        return self.fair.spot is not None

    def value(self, t_ns: int) -> FairValue | None:
        """Fair value at `t_ns`, computed once per ms, tick and book move (the scan and
        every published snapshot ask for it)."""
        fair = self.fair
        key = (t_ns // MS, self.ticks, fair._mid, fair._spot_at_book, fair.opening.price)
        if key != self._key:
            self._key = key
            self._value = fair.value(key[0])
        return self._value

    def gates(self, t_ns: int) -> dict[str, BuyGate | None]:
        """The gate on a buy of each outcome now; None without any reference price yet
        (before the first tick, or an old recording): the pair rules alone decide,
        whatever `when_stale` says, since there is no episode of staleness to pause for."""
        if not self.seen:
            return {"up": None, "down": None}
        value = self.value(t_ns)
        return {o: buy_gate(value, o, self.settings) for o in ("up", "down")}

    def resolution(self, exchange: str | None) -> ResolutionCheck:
        winner = exchange if exchange in ("up", "down") else None
        return self.fair.resolution(winner)  # type: ignore[arg-type]


def apply_gate(
    intents: Sequence[Any], gates: dict[str, BuyGate | None], tick: int, state: ReferenceState
) -> list[Any]:
    """The accumulator's intents under the gate: a buy above `fair - fair_edge` is bid at
    the highest tick at or below that limit (a maker bid rests lower, a taker order takes
    only what is offered up to it), and dropped when no tick is left or the gate pauses.
    An instant pair is two legs of one decision: if either leg would change, both go."""
    kept: list[Any] = []
    pair_broken = False
    for intent in intents:
        gate = gates.get(intent.outcome)
        if intent.action != "buy" or gate is None or (gate.limit is None and not gate.paused):
            kept.append(intent)
            continue
        if gate.allows(intent.price):
            kept.append(intent)
            continue
        if intent.rule == "instant_pair":
            pair_broken = True
            continue
        limit = gate.limit
        price = (limit // tick) * tick if limit is not None and not gate.paused else 0
        if price < tick:
            state.gate_blocks += 1
            continue
        state.gate_clamps += 1
        kept.append(
            GatedIntent(
                intent.outcome,
                intent.action,
                price,
                intent.size,
                intent.order_type,
                intent.post_only,
                intent.rule,
            )
        )
    if pair_broken:
        state.gate_blocks += sum(1 for i in intents if i.rule == "instant_pair")
        kept = [i for i in kept if i.rule != "instant_pair"]
    return kept
