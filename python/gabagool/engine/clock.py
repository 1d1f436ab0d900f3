"""Market time from Trio's clock: the only clock the engine's decisions read.

`market_ns = origin_ns + (trio.current_time() - trio_origin) * 1e9`. Under a
`trio.testing.MockClock` (tests, benches, `--speed`) the same code runs faster than real time.
"""

from __future__ import annotations

import trio

from gabagool.types import MS, NS


def wall_seconds(seconds: float) -> float:
    """`seconds` of wall-clock time as Trio time. Under `--speed N` Trio's clock runs N times
    faster, so a bound on real work (the journal's last writes, the venue's cancels at
    shutdown) scales with it; an autojumping test clock (rate 0) keeps `seconds`."""
    rate = getattr(trio.lowlevel.current_clock(), "rate", 1.0)
    return seconds * rate if rate > 0 else seconds


class MarketClock:
    def __init__(self, origin_ns: int, trio_origin: float) -> None:
        self.origin_ns = origin_ns
        self.trio_origin = trio_origin

    @classmethod
    def starting_now(cls, origin_ns: int) -> MarketClock:
        """Market time `origin_ns` is now (must run inside Trio)."""
        return cls(origin_ns, trio.current_time())

    def now_ns(self) -> int:
        return self.origin_ns + round((trio.current_time() - self.trio_origin) * NS)

    def ns_at(self, trio_time: float) -> int:
        """Market time at `trio_time` (a caller that has read Trio's clock reads it once)."""
        return self.origin_ns + round((trio_time - self.trio_origin) * NS)

    def trio_time(self, market_ns: int) -> float:
        return self.trio_origin + (market_ns - self.origin_ns) / NS

    def ms_until(self, market_ns: int, now: float | None = None) -> int:
        """Whole milliseconds from Trio time `now` (the clock's, if not given) to `market_ns`."""
        if now is None:
            now = trio.current_time()
        # every scan reads it, between a frame and its intents: no call more than needed
        return (market_ns - self.origin_ns - round((now - self.trio_origin) * NS)) // MS

    async def sleep_until(self, market_ns: int) -> None:
        await trio.sleep_until(self.trio_time(market_ns))
