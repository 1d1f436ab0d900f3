"""One window's discrete-event loop: frames, timers and a simulated venue, in market time.

The order of work at one instant is fixed: venue calls that fall due (an order reaching the
venue after its latency), then the frame (the books apply it once; the venue, reading them,
matches its trades before the core decides anything on it: those fills are what the scan
must see), then every decision the core has due at that instant. Commands run in the order
the core gave them; the venue's answers to one go back to the core before the next. The
backtest loop runs this as fast as it can; the Trio shell runs the same steps, sleeping
until each instant, so both give the same fills and journal.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Literal

from gabagool.engine.core.commands import Cancel, CancelAll, Command, Place
from gabagool.engine.core.fair import ReferenceFrame
from gabagool.engine.core.window import NEVER, WindowCore
from gabagool.errors import FrameError
from gabagool.venues.base import Rejected, SimulatedMarket, VenueEvent

# What the shell answers a yielded command with: None sends it, a reason refuses it (a
# refused order is rejected with that reason, and the venue never hears of it).
Refusal = Literal["capital_cap", "halted", "not_journaled"]
Steps = Generator[Command, Refusal | None, None]

MAX_STEPS_AT_ONE_INSTANT = 10_000  # a core that keeps asking at one instant is a bug
# a tuple, not `Place | Cancel | CancelAll`: that union would be built on every command
_VENUE_CALLS = (Place, Cancel, CancelAll)


class WindowDriver:
    def __init__(
        self,
        core: WindowCore,
        venue: SimulatedMarket,
        *,
        latency_ns: int = 0,
        on_command: Callable[[int, Command], None] = lambda t, c: None,
        on_event: Callable[[int, VenueEvent], None] = lambda t, e: None,
    ) -> None:
        self.core = core
        self.venue = venue
        self.latency_ns = latency_ns
        self.on_command = on_command  # every command, as executed (logs, the view)
        self.on_event = on_event  # every venue event, before the core has it
        self._due: list[tuple[int, int, Command]] = []  # venue calls in flight
        self._seq = 0

    def next_instant(self) -> int:
        """Market ns of the next step due without a frame (NEVER when none)."""
        due = self._due[0][0] if self._due else NEVER
        return min(due, self.core.next_deadline())

    def advance(self, until_ns: int) -> None:
        """Every step due strictly before `until_ns`."""
        core, due = self.core, self._due
        deadline = core.next_deadline()
        while True:
            t = due[0][0] if due and due[0][0] < deadline else deadline  # `next_instant`
            if t >= until_ns:
                return
            deadline = self._step_due(t)

    def frame(self, t_ns: int, frame: bytes | ReferenceFrame | None) -> None:
        """`frame_steps` run to the end, after every earlier step. Without a venue call due
        (most frames of a backtest) it runs the same work without generators: nothing
        answers a yield here."""
        self.advance(t_ns)
        if self._due and self._due[0][0] <= t_ns:
            for _ in self.frame_steps(t_ns, frame):
                pass
            return
        core = self.core
        if frame is None or isinstance(frame, ReferenceFrame):
            commands = core.on_frame(t_ns, frame)
        else:
            read = core.read_frame(frame)
            if not isinstance(read, FrameError):
                for event in self.venue.on_book(read):
                    commands = core.on_frame_fill(t_ns, event)
                    self.on_event(t_ns, event)
                    if commands:
                        for _ in self.execute(t_ns, commands):
                            pass
            commands = core.on_read(t_ns, read)
        if commands:
            for _ in self.execute(t_ns, commands):
                pass
        if core.next_deadline() <= t_ns:
            self._step_due(t_ns)  # a venue call the commands sent falls due later, never now

    def step(self, t_ns: int) -> None:
        if self._due and self._due[0][0] <= t_ns or self.core.next_deadline() <= t_ns:
            self._step_due(t_ns)

    def _step_due(self, t_ns: int) -> int:
        """`steps(t_ns)` run to the end, when something is due at `t_ns`; returns the core's
        next deadline after it. Without a venue call due (most instants of a backtest) it
        is `_decide` without generators: nothing answers a yield here."""
        core = self.core
        if self._due and self._due[0][0] <= t_ns:
            for _ in self.steps(t_ns):
                pass
            return core.next_deadline()
        for _ in range(MAX_STEPS_AT_ONE_INSTANT):
            commands = core.on_timer(t_ns)
            if commands:
                for _ in self.execute(t_ns, commands):
                    pass
            deadline = core.next_deadline()
            if deadline > t_ns:
                return deadline
        raise RuntimeError(f"window {core.slug}: decisions never settle at {t_ns}")

    def step_commands(self, t_ns: int, commands: list[Command]) -> None:
        """Execute `commands` given at `t_ns` (a halt or a liquidation from outside)."""
        for _ in self.execute(t_ns, commands):
            pass

    # The work of one instant as generators: each yields the command it is about to send to
    # the venue, where a shell with a durable journal writes what the core journaled so far
    # (write-ahead), and may answer False to refuse the send (no room in a shared ledger):
    # the core then hears a `capital_cap` rejection. Run to exhaustion, they are the step.

    def frame_steps(self, t_ns: int, frame: bytes | ReferenceFrame | None) -> Steps:
        """A frame at `t_ns` (every earlier step already done). A reference frame goes to
        the core alone: the venue matches orders against the market's frames only."""
        # the guards below skip building generators for the common empty case: this runs
        # once an instant
        if self._due and self._due[0][0] <= t_ns:
            yield from self._venue_calls(t_ns)
        core = self.core
        if frame is None or isinstance(frame, ReferenceFrame):
            commands = core.on_frame(t_ns, frame)
        else:
            read = core.read_frame(frame)
            if not isinstance(read, FrameError):
                for event in self.venue.on_book(read):
                    commands = core.on_frame_fill(t_ns, event)
                    self.on_event(t_ns, event)
                    if commands:
                        yield from self.execute(t_ns, commands)
            commands = core.on_read(t_ns, read)
        if commands:
            yield from self.execute(t_ns, commands)
        if core.next_deadline() <= t_ns:
            # `_decide`'s first round inlined: the scan a frame wakes starts without a
            # generator built for it
            commands = core.on_timer(t_ns)
            if commands:
                yield from self.execute(t_ns, commands)
            if core.next_deadline() <= t_ns:
                yield from self._decide(t_ns)

    def steps(self, t_ns: int) -> Steps:
        """The venue calls and decisions due at `t_ns`, without a frame."""
        if self._due and self._due[0][0] <= t_ns:
            yield from self._venue_calls(t_ns)
        if self.core.next_deadline() <= t_ns:
            yield from self._decide(t_ns)

    def execute(self, t_ns: int, commands: list[Command]) -> Steps:
        queue = deque(commands)
        core = self.core
        while queue:
            command = queue.popleft()
            self.on_command(t_ns, command)
            if not isinstance(command, _VENUE_CALLS):
                continue
            if self.latency_ns:
                self._seq += 1
                heapq.heappush(self._due, (t_ns + self.latency_ns, self._seq, command))
                continue
            refusal = yield command
            for event in self.call_venue(command, refusal):
                queue.extend(core.on_order_event(t_ns, event))
                self.on_event(t_ns, event)

    def call_venue(self, command: Command, refusal: Refusal | None = None) -> list[VenueEvent]:
        venue = self.venue
        if refusal is not None and isinstance(command, Place):
            request = command.request
            return [
                Rejected(
                    market_id=request.market_id,
                    client_id=request.client_id,
                    reason=refusal,
                )
            ]
        if isinstance(command, Place):
            return venue.submit(command.request)
        if isinstance(command, Cancel):
            return venue.cancel(command.client_id)
        if isinstance(command, CancelAll):
            return venue.cancel_all()
        return []

    def _venue_calls(self, t_ns: int) -> Steps:
        core = self.core
        while self._due and self._due[0][0] <= t_ns:
            _, _, command = heapq.heappop(self._due)
            refusal = yield command
            for event in self.call_venue(command, refusal):
                commands = core.on_order_event(t_ns, event)
                self.on_event(t_ns, event)
                if commands:
                    yield from self.execute(t_ns, commands)

    def _decide(self, t_ns: int) -> Steps:
        """Every decision due at `t_ns`; the caller has seen the first one due."""
        core = self.core
        for _ in range(MAX_STEPS_AT_ONE_INSTANT):
            commands = core.on_timer(t_ns)
            if commands:
                yield from self.execute(t_ns, commands)
            if core.next_deadline() > t_ns:
                return
        raise RuntimeError(f"window {core.slug}: decisions never settle at {t_ns}")


def run_to_end(driver: WindowDriver, frames: Any) -> None:
    """Every frame in order, then every step until the window is settled."""
    for t_ns, frame in frames:
        driver.frame(t_ns, frame)
    while True:
        t = driver.next_instant()
        if t >= NEVER:
            return
        driver.step(t)
