"""Unix time read through Trio's clock: the wall clock is read once, at the boundary.

Windows are named by unix seconds, so the live venue needs the date; every later reading is
`origin + (trio.current_time() - trio_origin)`, so tests run the same code on a MockClock.
"""

from __future__ import annotations

import time

import trio

from gabagool.types import NS


class UnixClock:
    def __init__(self, origin_ns: int, trio_origin: float) -> None:
        self.origin_ns = origin_ns
        self.trio_origin = trio_origin

    @classmethod
    def from_wall(cls) -> UnixClock:
        """Now is the wall clock's now (inside Trio)."""
        return cls(time.time_ns(), trio.current_time())

    @classmethod
    def starting_at(cls, origin_ns: int) -> UnixClock:
        """Now is `origin_ns` (inside Trio): tests and the fake exchange."""
        return cls(origin_ns, trio.current_time())

    def ns_at(self, trio_time: float) -> int:
        return self.origin_ns + round((trio_time - self.trio_origin) * NS)

    def now_ns(self) -> int:
        return self.ns_at(trio.current_time())

    def now_s(self) -> int:
        return self.now_ns() // NS

    def trio_time(self, unix_ns: int) -> float:
        return self.trio_origin + (unix_ns - self.origin_ns) / NS
