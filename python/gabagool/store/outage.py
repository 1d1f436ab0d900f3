"""A store that stopped answering: one warning per outage, and growing delays between retries.

The journal raises StoreUnavailable on every failed call; a task that polls the store (the
halt flag, the shared ledgers) would log one traceback per poll. Instead:

    outage = StoreOutage(log, "halt flag")
    while True:
        try:
            state = await store.get_halt()
        except StoreUnavailable as exc:
            await trio.sleep(outage.failed(exc))  # warns once, then waits longer each time
            continue
        outage.recovered()                        # one line when it answers again
        ...

It keeps no clock of its own: the caller sleeps the returned delay on Trio's clock.
"""

from __future__ import annotations

import logging

FIRST_DELAY_S = 0.2
MAX_DELAY_S = 30.0


class Backoff:
    """Delays that double from `first_s` up to `max_s`, back to `first_s` on `reset()`."""

    def __init__(self, first_s: float = FIRST_DELAY_S, max_s: float = MAX_DELAY_S) -> None:
        if not 0 < first_s <= max_s:
            raise ValueError(f"backoff delays {first_s}..{max_s} s: need 0 < first <= max")
        self.first_s = first_s
        self.max_s = max_s
        self._next = first_s

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next = self.first_s


class StoreOutage:
    """Counts the failures of one outage; logs its first and its end, nothing in between."""

    def __init__(
        self, log: logging.Logger, what: str, backoff: Backoff | None = None
    ) -> None:
        self.log = log
        self.what = what
        self.backoff = backoff or Backoff()
        self.failures = 0  # of the current outage
        self.outages = 0  # since creation

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException) -> float:
        """Note a failed call; returns how long to wait before the next one."""
        if self.failures == 0:
            self.outages += 1
            # the message only: the error's text already says which server and why
            self.log.warning(
                "store unavailable (%s): %s; retrying with backoff",
                self.what,
                exc,
                extra={"event": "store_unavailable"},
            )
        self.failures += 1
        return self.backoff.next_delay()

    def recovered(self) -> None:
        """Note a call that worked; logs the end of an outage once."""
        if self.failures:
            self.log.warning(
                "store available again (%s) after %d failed call(s)",
                self.what,
                self.failures,
                extra={"event": "store_available"},
            )
        self.failures = 0
        self.backoff.reset()
