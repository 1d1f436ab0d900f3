"""A test clock for code that talks over real loopback sockets: virtual time that jumps, like
`trio.testing.MockClock`'s autojump, but never while a task waits on I/O the kernel is still
delivering.

MockClock with `autojump_threshold=0` jumps to the next deadline as soon as every task is
blocked. When a task waits on a socket that is before the kernel has delivered what the
other side just wrote (or completed a connect), so on a loaded machine a client's timeout
fires, a feed goes stale or a retry starts where an idle machine would have answered at
once: the run depends on the machine's load.

`LoopbackClock` holds the jump while a `LoopbackLedger` says a blocked task is owed I/O:
- a task is in `recv` on a socket whose peer (a socket of this process) has written bytes
  this end has not read yet, or has closed it (the end of file is on its way);
- a `connect()` is under way, or a connection reached one of our listeners and was not
  accepted yet;
- a `trio.to_thread.run_sync` call is under way.
Bytes nobody is reading (a reply to a connection its reader gave up on) hold nothing: they
wake no task. Once nothing is owed, and one more look at the sockets found nothing, virtual
time jumps to the next deadline. Virtual time never moves while tasks run or bytes travel,
so every event is handled at the same virtual instant on an idle or a saturated machine.

If the run loop is held `grace` real seconds with no task step (a bug in the ledger, bytes
to a peer outside this process), the clock jumps anyway and says what it gave up on in
`ledger.expired`; the `loopback_clock` fixture fails the test then.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import pytest
import trio
from trio._socket import _SocketType

Address = tuple[Any, ...]
Link = tuple[Address, Address]  # (this end, the other end) as a socket sees it

GRACE_S = 5.0  # real seconds the loop may be held with no task step before the clock jumps
IDLE_WAIT_S = 24 * 3600.0  # nothing due and nothing owed: wait for I/O or a thread


def _flip(link: Link) -> Link:
    return (link[1], link[0])


class LoopbackLedger:
    """What the kernel (or a worker thread) still owes a blocked task of the Trio run."""

    def __init__(self) -> None:
        self.unread: dict[Link, int] = {}  # (writer, reader): written minus read
        self.eof: set[Link] = set()  # (closer, reader): closed, the reader may not know yet
        self.reading: dict[Link, int] = {}  # (reader, writer): tasks blocked in recv
        self.listeners: set[Address] = set()
        # (client, listener): connected minus accepted (-1 when the accept ran first)
        self.unaccepted: dict[Link, int] = {}
        self.ops: dict[int, str] = {}  # connects and threads under way
        self.expired: list[str] = []
        self.sent = 0
        self.received = 0
        self._ends: weakref.WeakKeyDictionary[Any, Link] = weakref.WeakKeyDictionary()
        self._next_op = 0
        self._thread = threading.get_ident()

    # ---- what is owed ---------------------------------------------------------------------

    def owed(self) -> list[str]:
        """What blocked tasks wait for and the kernel or a thread still has to deliver."""
        owed = list(self.ops.values())
        owed += [f"accept of {c[0]}:{c[1]}" for (c, _), n in self.unaccepted.items() if n > 0]
        for link, count in self.unread.items():
            if count > 0 and _flip(link) in self.reading:
                owed.append(f"{count} bytes {link[0]} -> {link[1]}")
        for link in self.eof:
            if _flip(link) in self.reading:
                owed.append(f"end of file {link[0]} -> {link[1]}")
        return owed

    def give_up(self) -> None:
        """The loop waited too long for what is owed: count it, and owe nothing more."""
        self.expired += self.owed()
        self.ops.clear()
        self.unaccepted.clear()
        self.unread = {k: v for k, v in self.unread.items() if _flip(k) not in self.reading}
        self.eof = {k for k in self.eof if _flip(k) not in self.reading}

    # ---- socket bookkeeping ---------------------------------------------------------------

    def _ours(self) -> bool:
        return threading.get_ident() == self._thread

    def link(self, sock: Any) -> Link | None:
        """(local, peer) of a connected socket, cached; None if it is not connected."""
        link = self._ends.get(sock)
        if link is None:
            try:
                link = (sock.getsockname(), sock.getpeername())
            except OSError:
                return None
            self._ends[sock] = link
            self.eof.discard(_flip(link))  # the same four-tuple, connected again
        return link

    def wrote(self, sock: Any, count: int) -> None:
        link = self.link(sock) if count > 0 and self._ours() else None
        if link is not None:
            self.sent += count
            self._move(link, count)

    def read(self, sock: Any, count: int) -> None:
        link = self.link(sock) if count > 0 and self._ours() else None
        if link is not None:
            self.received += count
            self._move(_flip(link), -count)

    def _move(self, link: Link, delta: int) -> None:
        # below zero when the reader ran first: trio's `send` checkpoints after the write,
        # before the hook counts it
        after = self.unread.get(link, 0) + delta
        if after:
            self.unread[link] = after
        else:
            self.unread.pop(link, None)

    def closing(self, sock: Any) -> None:
        link = self.link(sock) if self._ours() else None
        self._ends.pop(sock, None)
        if link is not None:
            self.unread.pop(_flip(link), None)  # never read now
            self.eof.discard(_flip(link))
            self.eof.add(link)  # the peer reads what is left, then the end of file
            self.unaccepted.pop(link, None)
        try:
            name = sock.getsockname()
        except OSError:
            return
        if name in self.listeners:
            self.listeners.discard(name)
            self.unaccepted = {c: n for c, n in self.unaccepted.items() if c[1] != name}

    def listening(self, sock: Any) -> None:
        if self._ours():
            self.listeners.add(sock.getsockname())

    def connected(self, sock: Any) -> None:
        link = self.link(sock) if self._ours() else None
        if link is not None and link[1] in self.listeners:
            self._accept_balance(link, 1)

    def accepted(self, sock: Any) -> None:
        link = self.link(sock) if self._ours() else None
        if link is not None:
            self._accept_balance(_flip(link), -1)

    def _accept_balance(self, link: Link, delta: int) -> None:
        after = self.unaccepted.get(link, 0) + delta
        if after:
            self.unaccepted[link] = after
        else:
            self.unaccepted.pop(link, None)

    def begin(self, what: str) -> int:
        self._next_op += 1
        self.ops[self._next_op] = what
        return self._next_op

    # ---- the hooks -----------------------------------------------------------------------

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Count trio's socket I/O (trio's streams, and anyio's under httpx) and worker
        threads, for the life of the test."""
        ledger = self
        send, recv, recv_into = _SocketType.send, _SocketType.recv, _SocketType.recv_into
        connect, accept = _SocketType.connect, _SocketType.accept
        close, listen = _SocketType.close, _SocketType.listen
        to_thread = trio.to_thread.run_sync

        async def counted_send(sock: Any, data: Any, flags: int = 0, /) -> int:
            count: int = await send(sock, data, flags)
            ledger.wrote(sock, count)
            return count

        async def reading(sock: Any, receive: Callable[[], Any]) -> Any:
            link = ledger.link(sock) if ledger._ours() else None
            if link is None:
                return await receive()
            ledger.reading[link] = ledger.reading.get(link, 0) + 1
            try:
                return await receive()
            finally:
                left = ledger.reading[link] - 1
                if left:
                    ledger.reading[link] = left
                else:
                    del ledger.reading[link]

        async def counted_recv(sock: Any, size: int, flags: int = 0, /) -> bytes:
            data: bytes = await reading(sock, lambda: recv(sock, size, flags))
            ledger.read(sock, len(data))
            return data

        async def counted_recv_into(
            sock: Any, buffer: Any, size: int = 0, flags: int = 0, /
        ) -> int:
            count: int = await reading(sock, lambda: recv_into(sock, buffer, size, flags))
            ledger.read(sock, count)
            return count

        async def counted_connect(sock: Any, address: Any) -> None:
            op = ledger.begin(f"connect to {address}")
            try:
                await connect(sock, address)
                ledger.connected(sock)
            finally:
                ledger.ops.pop(op, None)

        async def counted_accept(sock: Any) -> Any:
            result = await accept(sock)
            ledger.accepted(result[0])
            return result

        def counted_close(sock: Any) -> None:
            ledger.closing(sock)
            close(sock)

        def counted_listen(sock: Any, *args: Any) -> None:
            listen(sock, *args)
            ledger.listening(sock)

        async def counted_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            op = ledger.begin(f"thread {getattr(fn, '__qualname__', fn)}")
            try:
                return await to_thread(fn, *args, **kwargs)
            finally:
                ledger.ops.pop(op, None)

        monkeypatch.setattr(_SocketType, "send", counted_send)
        monkeypatch.setattr(_SocketType, "recv", counted_recv)
        monkeypatch.setattr(_SocketType, "recv_into", counted_recv_into)
        monkeypatch.setattr(_SocketType, "connect", counted_connect)
        monkeypatch.setattr(_SocketType, "accept", counted_accept)
        monkeypatch.setattr(_SocketType, "close", counted_close)
        monkeypatch.setattr(_SocketType, "listen", counted_listen)
        monkeypatch.setattr(trio.to_thread, "run_sync", counted_thread)


class _Steps(trio.abc.Instrument):
    """Counts task steps: an idle look with no step since the last one found nothing to do."""

    def __init__(self) -> None:
        self.count = 0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self.count += 1


class LoopbackClock(trio.abc.Clock):
    """Virtual time at rate 0 that jumps to the next deadline when every task is blocked,
    the ledger says nothing is owed, and one more look at the sockets found nothing."""

    def __init__(self, ledger: LoopbackLedger | None = None, start: float = 100_000.0) -> None:
        self.ledger = ledger or LoopbackLedger()
        self.grace = GRACE_S
        self._now = start
        self._steps = _Steps()
        self._seen = -1
        self._looked = False
        self._held_since: float | None = None  # real time the current hold began
        self.jumps = 0
        self.holds = 0  # idle looks that waited for what was owed

    def start_clock(self) -> None:
        trio.lowlevel.add_instrument(self._steps)

    def current_time(self) -> float:
        return self._now

    def deadline_to_sleep_time(self, deadline: float) -> float:
        # the run loop asks only when no task is runnable
        if self._steps.count != self._seen:
            self._seen = self._steps.count
            self._looked = False  # something ran: look at the sockets again before jumping
            self._held_since = None
        if self.ledger.owed():
            real = time.monotonic()
            if self._held_since is None:
                self._held_since = real
            if real - self._held_since < self.grace:
                self.holds += 1
                self._looked = False
                return self._held_since + self.grace - real  # I/O wakes the loop at once
            self.ledger.give_up()
        self._held_since = None
        if deadline <= self._now:
            return 0.0
        if deadline == math.inf:
            return IDLE_WAIT_S
        if not self._looked:
            self._looked = True
            return 0.0  # one poll: what the kernel already delivered runs first
        self._now = deadline
        self._looked = False
        self.jumps += 1
        return 0.0


__all__ = ["LoopbackClock", "LoopbackLedger"]
