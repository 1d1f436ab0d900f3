"""The engine's view of the underlying: the true path as a PolyBolt feed would deliver it.

Makers quote from the true price; the reference feed shows it sampled once a second, each
sample published a few hundred ms to ~1.5 s later, the spot (`price.crypto`, Pyth) off the
settlement source by a small wandering basis, the 60 s TWAP (`price.crypto.twap`, Chainlink)
exact, and now and then a pause with no updates or updates the server dropped (`dropped`,
a `seq` jump). So the engine never knows more than the market.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gabagool.sim.model import TWAP_SECONDS, derive_seed
from gabagool.sim.wire import (
    LATENCY_NS,
    REFERENCE_DECIMALS,
    SPOT_CHANNEL,
    TWAP_CHANNEL,
    ReferenceWire,
    randint_of,
)
from gabagool.types import MS, WINDOW_SECONDS

if TYPE_CHECKING:
    from gabagool.sim.window import WindowSimulator

# A sample of second s is published this long after s (ms): the feed's lag behind the truth.
PUBLISH_DELAY_MS = (250, 1450)
# The TWAP is published a little after the spot of the same second.
TWAP_EXTRA_DELAY_MS = (0, 200)
# Spot basis against the settlement source, in log price: AR(1) per second.
BASIS_PERSISTENCE = 0.95
BASIS_STEP = 4e-6
# Pauses with no updates: started with this chance a second, lasting this many seconds.
PAUSE_PROBABILITY = 1 / 300
PAUSE_SECONDS = (2, 8)
# Updates the server skipped (a `seq` jump with `dropped`): chance a second, how many.
DROP_PROBABILITY = 1 / 600
DROP_COUNT = (1, 3)
# The last seconds are always delivered: the settlement TWAP must be seen.
PROTECTED_TAIL_SECONDS = 3


@dataclass(frozen=True)
class ReferenceSample:
    """One second of the reference: values scaled to 10^-8 of a dollar."""

    second: int  # unix second of the sample
    spot: int
    twap: int
    publish_ms: int  # when PolyBolt sends it (the spot; the TWAP a bit later)
    twap_publish_ms: int
    sent: bool  # False: inside a pause, never sent
    dropped: int  # updates the server skipped just before this one


def samples(window: WindowSimulator) -> list[ReferenceSample]:
    """The window's seconds `start..end`, deterministic for the window."""
    path = window.path()
    rng = random.Random(derive_seed("reference", window.asset, window.start, window.seed))
    scale = 10 ** (REFERENCE_DECIMALS - path.decimals)
    basis = 0.0
    pause_left = 0
    out = []
    # the same draws as rng.gauss / uniform / random / randint, bound once
    gauss, random_ = rng.gauss, rng.random
    drop_count_of, pause_length_of = randint_of(rng, *DROP_COUNT), randint_of(rng, *PAUSE_SECONDS)
    delay_low, delay_width = PUBLISH_DELAY_MS[0], PUBLISH_DELAY_MS[1] - PUBLISH_DELAY_MS[0]
    extra_low, extra_width = TWAP_EXTRA_DELAY_MS[0], TWAP_EXTRA_DELAY_MS[1] - TWAP_EXTRA_DELAY_MS[0]
    for offset in range(WINDOW_SECONDS + 1):
        basis = BASIS_PERSISTENCE * basis + gauss(0.0, BASIS_STEP)
        delay = delay_low + delay_width * random_()
        extra = extra_low + extra_width * random_()
        pause_draw, drop_draw = random_(), random_()
        drop_count = drop_count_of()
        pause_length = pause_length_of()
        protected = offset >= WINDOW_SECONDS - PROTECTED_TAIL_SECONDS or offset == 0
        if pause_left == 0 and not protected and pause_draw < PAUSE_PROBABILITY:
            pause_left = pause_length
        sent = protected or pause_left == 0
        if pause_left:
            pause_left -= 1
        dropped = 0
        if sent and not protected and drop_draw < DROP_PROBABILITY:
            dropped = drop_count
        second = window.start + offset
        spot_units = round(path.samples[offset] * math.exp(basis))
        publish_ms = second * 1000 + round(delay)
        out.append(
            ReferenceSample(
                second=second,
                spot=spot_units * scale,
                # the TWAP truncated to 8 decimals: comparing it with the open (fewer
                # decimals) gives the same answer as the exact mean
                twap=path.twap_units[offset] * scale // TWAP_SECONDS,
                publish_ms=publish_ms,
                twap_publish_ms=publish_ms + round(extra),
                sent=sent,
                dropped=dropped,
            )
        )
    return out


class _SharedSamples:
    """Each window's samples made once for both channels: the first channel to reach a
    window makes them, the second takes them away (the two run a window apart at most)."""

    def __init__(self) -> None:
        self._made: dict[int, list[ReferenceSample]] = {}

    def of(self, index: int, window: WindowSimulator) -> list[ReferenceSample]:
        made = self._made.pop(index, None)
        if made is None:
            made = self._made[index] = samples(window)
        return made


def _channel(
    windows: Iterable[WindowSimulator], channel: str, shared: _SharedSamples
) -> Iterator[tuple[int, str]]:
    """One channel over consecutive windows of one asset, as one subscription: a snapshot at
    the first window's start, then updates to the last window's end, `seq` continuous."""
    wire: ReferenceWire | None = None
    last_t = 0
    twap = channel == TWAP_CHANNEL
    for index, window in enumerate(windows):
        rng = random.Random(
            derive_seed("reference-net", channel, window.asset, window.start, window.seed)
        )
        latency_of = randint_of(rng, *LATENCY_NS)
        for sample in shared.of(index, window):
            latency = latency_of()
            published = sample.twap_publish_ms if twap else sample.publish_ms
            value = sample.twap if twap else sample.spot
            if wire is None:
                wire = ReferenceWire(f"{window.asset}usd", TWAP_SECONDS)
                text = wire.snapshot(channel, published, [(sample.second * 1000, value)])
            elif sample.second == window.start:
                continue  # the previous window's last second
            elif not sample.sent:
                continue
            else:
                text = wire.update(channel, published, sample.second * 1000, value, sample.dropped)
            t_ns = max(published * MS + latency, last_t + 1)
            last_t = t_ns
            yield t_ns, text


def reference_frames(windows: Iterable[WindowSimulator]) -> Iterator[tuple[int, str]]:
    """Both channels of consecutive windows of one asset, in receive-time order."""
    windows = list(windows)
    shared = _SharedSamples()
    # no key: on a receive-time tie the texts decide, and a spot envelope sorts before a
    # TWAP one ('{"v":1,"channel":"price.crypto"' < '..."price.crypto.twap"')
    return heapq.merge(
        _channel(windows, SPOT_CHANNEL, shared), _channel(windows, TWAP_CHANNEL, shared)
    )
