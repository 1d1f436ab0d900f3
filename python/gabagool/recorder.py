"""The recorder: live market-channel and reference-price frames into recordings, one file
per window.

Files are in `gabagool.recording`'s format (zstd JSON lines, a header line, then
`{"t": receive ns, "frame": raw text}` for the market channel and
`{"t": ..., "src": "ref", "frame": ...}` for the reference feed), written so that a killed
recorder leaves a readable file: lines are buffered and every flush appends them as one
complete zstd frame (the reader accepts concatenated frames), so the file always ends on a
frame boundary but for a write cut in the middle by the kill itself. A window's file is
opened when the window is discovered (before it starts), and closed after its end plus
`resolution_wait`, so its `market_resolved` is kept; each close logs one line saying what
was written.

Reference frames (the feed `reference.source` picks, as `run --feed live` does) are the
frames as received, tapped from the client's own reader, so only frames that carried a
price of a recorded asset are kept (control replies, duplicates and malformed frames are
counted by the client and left out). A window's file gets its asset's frames received from
`REFERENCE_LEAD` before its start (the fair value's volatility estimate starts from them:
the live engine primes a window with that much, a replay hands it the last minute) to
`REFERENCE_TAIL` after its end (the closing TWAP). A feed that
gives up, or fails, is said once and the market recording goes on without it.
"""

from __future__ import annotations

import logging
import os
import random
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import trio
import zstandard

from gabagool.config import PolymarketSettings
from gabagool.recording import (
    COMPRESSION_LEVEL,
    MARKET_SOURCE,
    REFERENCE_SOURCE,
    RecordingHeader,
)
from gabagool.types import NS
from gabagool.venues.polymarket.clob_public import ClobPublic
from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.discovery import DiscoveredWindow, Discovery
from gabagool.venues.polymarket.gamma import GammaClient
from gabagool.venues.polymarket.market_socket import Backoff, MarketSocket
from gabagool.venues.polymarket.reference import PolyBoltFeed, RtdsFeed
from gabagool.venues.polymarket.reference_frames import (
    FeedCounters,
    PolyBoltReader,
    ReferenceTick,
    RtdsReader,
)
from gabagool.venues.polymarket.rest import RestClient, RetryPolicy, Unavailable

log = logging.getLogger("gabagool.recorder")

FLUSH_INTERVAL = 1.0  # seconds: at most this much is lost when the recorder is killed
DISCOVERY_REFRESH = 60.0
# reference frames kept before a window's start: four volatility half-lives
# (`reference.vol_halflife`, 60 s) and the TWAP window, what the live engine primes with
REFERENCE_LEAD = 300
# and after its end: the last second's TWAP is published a second or two after it
REFERENCE_TAIL = 10
TICK_BUFFER = 1024  # ticks the client may read ahead of the recorder's drain

_encoder = msgspec.json.Encoder()


class AppendingRecording:
    """A recording written in complete zstd frames, one per `flush()`."""

    def __init__(self, path: Path, header: RecordingHeader) -> None:
        self.path = path
        self.frames_written = 0
        self.reference_written = 0
        self.bytes_written = 0
        self._compressor = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL)
        self._pending: list[bytes] = [_encoder.encode({"header": header}) + b"\n"]
        self._last_t = 0
        self._file = open(path, "xb")  # never overwrite an earlier recording
        self.flush()

    def write(self, t_ns: int, frame: str, source: str = MARKET_SOURCE) -> None:
        t_ns = max(t_ns, self._last_t)  # receive times never go backwards in a recording
        self._last_t = t_ns
        if source == MARKET_SOURCE:  # market lines carry no `src`, as recording.py writes
            line = {"t": t_ns, "frame": frame}
        else:
            line = {"t": t_ns, "src": source, "frame": frame}
            self.reference_written += 1
        self._pending.append(_encoder.encode(line) + b"\n")
        self.frames_written += 1

    def flush(self) -> None:
        if not self._pending or self._file.closed:
            return
        chunk = self._compressor.compress(b"".join(self._pending))
        self._pending.clear()
        self._file.write(chunk)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.bytes_written += len(chunk)

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self.flush()
        finally:
            self._file.close()


class WindowRecording:
    """One window's file, fed by the market socket (a `FrameSink`)."""

    def __init__(self, window: DiscoveredWindow, path: Path, created_ns: int) -> None:
        self.window = window
        self.tokens: tuple[str, ...] = window.tokens
        header = RecordingHeader(source="polymarket", markets=[window.header()],
                                 created_ns=created_ns)
        self.file = AppendingRecording(path, header)
        self.link_losses = 0

    def deliver(self, t_ns: int, frame: str) -> None:
        self.file.write(t_ns, frame)

    def alive(self, t_ns: int) -> None:
        pass

    def link_down(self, reason: str) -> None:
        self.link_losses += 1  # the resubscription's snapshots, recorded next, rebuild books

    def resubscribed(self, token: str) -> None:
        pass

    def wants_reference(self, t_ns: int) -> bool:
        """A reference frame received at `t_ns` belongs in this window's file."""
        window = self.window
        return (window.start - REFERENCE_LEAD) * NS <= t_ns <= (window.end + REFERENCE_TAIL) * NS


FrameTap = Callable[[str | bytes, list[ReferenceTick]], None]


class _TappedPolyBolt(PolyBoltReader):
    """The PolyBolt client's reader, handing each frame that carried prices to `tap`."""

    def __init__(self, assets: list[str], counters: FeedCounters, tap: FrameTap) -> None:
        super().__init__(assets, counters)
        self._tap = tap

    def read(self, text: str | bytes) -> tuple[list[ReferenceTick], dict[str, Any] | None]:
        ticks, control = super().read(text)
        if ticks:
            self._tap(text, ticks)
        return ticks, control


class _TappedRtds(RtdsReader):
    """The RTDS client's reader, handing each frame that carried prices to `tap`."""

    def __init__(self, assets: list[str], counters: FeedCounters, tap: FrameTap) -> None:
        super().__init__(assets, counters)
        self._tap = tap

    def read(self, text: str | bytes) -> list[ReferenceTick]:
        ticks = super().read(text)
        if ticks:
            self._tap(text, ticks)
        return ticks


class ReferenceRecording:
    """A reference client whose frames go, as received, into the open windows' files."""

    def __init__(self, feed: PolyBoltFeed | RtdsFeed, clock: Callable[[], int],
                 files: Callable[[], list[WindowRecording]]) -> None:
        self.feed = feed
        self._now_ns = clock
        self._files = files
        self.recent: dict[str, deque[tuple[int, str]]] = {}  # asset -> (receive ns, text)
        self.frames = 0
        self.ended: str | None = None
        if isinstance(feed, PolyBoltFeed):
            feed.reader = _TappedPolyBolt(feed.assets, feed.counters, self._frame)
        else:
            feed.reader = _TappedRtds(feed.assets, feed.counters, self._frame)

    def _frame(self, text: str | bytes, ticks: list[ReferenceTick]) -> None:
        t_ns = self._now_ns()
        frame = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        self.frames += 1
        for asset in {tick.asset for tick in ticks}:
            recent = self.recent.setdefault(asset, deque())
            recent.append((t_ns, frame))
            while recent and recent[0][0] < t_ns - REFERENCE_LEAD * NS:
                recent.popleft()
            for recording in self._files():
                if recording.window.asset == asset and recording.wants_reference(t_ns):
                    recording.file.write(t_ns, frame, REFERENCE_SOURCE)

    def prime(self, recording: WindowRecording) -> None:
        """A newly opened file: first the frames of its asset already received in its span
        (a window recorded from after its start still gets its warm-up)."""
        for t_ns, frame in self.recent.get(recording.window.asset, ()):
            if recording.wants_reference(t_ns):
                recording.file.write(t_ns, frame, REFERENCE_SOURCE)

    async def run(self) -> None:
        """The client, its ticks drained (the frames are what is kept), until cancelled;
        a client that gives up or fails is said once and ends only this part."""
        feed = self.feed
        send, receive = trio.open_memory_channel[ReferenceTick](TICK_BUFFER)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(feed.run, send)
                async with receive:
                    async for _tick in receive:
                        pass
            self.ended = feed.failure or "stopped"
        except Exception as exc:  # a client bug: the market is still worth recording
            self.ended = f"{type(exc).__name__} in the client"
        log.error("%s reference feed gave up (%s): recording the market channel only",
                  feed.name, self.ended)


def recording_path(out_dir: Path, slug: str) -> Path:
    """`<slug>.zst`, or `<slug>.<n>.zst` when a recorder restarted within the window."""
    path = out_dir / f"{slug}.zst"
    n = 1
    while path.exists():
        n += 1
        path = out_dir / f"{slug}.{n}.zst"
    return path


class Recorder:
    def __init__(
        self,
        settings: PolymarketSettings,
        assets: list[str],
        out_dir: Path,
        *,
        clock: UnixClock | None = None,
        resolution_wait: float = 60.0,
        seed: int = 0,
        transport: httpx.AsyncBaseTransport | None = None,
        reference: PolyBoltFeed | RtdsFeed | None = None,
    ) -> None:
        """`reference`: the reference client whose frames are recorded too (None: none)."""
        self.settings = settings
        self.assets = assets
        self.out_dir = out_dir
        self._clock = clock
        self.resolution_wait = resolution_wait
        self.rng = random.Random(seed)
        self.transport = transport
        self.open: dict[str, WindowRecording] = {}  # slug -> file
        self.done: list[WindowRecording] = []
        self.seen: set[str] = set()
        self.socket: MarketSocket | None = None
        self.reference = (
            None if reference is None
            else ReferenceRecording(reference, self._now_ns, lambda: list(self.open.values()))
        )

    def _now_ns(self) -> int:
        assert self._clock is not None
        return self._clock.now_ns()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Record until cancelled; `Unavailable` when the first discovery fails."""
        clock = self._clock = self._clock or UnixClock.from_wall()
        s = self.settings
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(float(s.http_timeout)), transport=self.transport
        ) as client:
            rest = RestClient(client, RetryPolicy(rng=random.Random(self.rng.random())))
            discovery = Discovery(GammaClient(rest, s.gamma_url), ClobPublic(rest, s.clob_url))
            self.socket = MarketSocket(
                s.market_ws_url,
                clock,
                ping_interval=float(s.ping_interval),
                stall_after=float(s.stall_after),
                connect_timeout=float(s.http_timeout),
                backoff=Backoff(rng=random.Random(self.rng.random())),
            )
            try:
                with trio.fail_after(float(s.discovery_timeout)):
                    windows = await discovery.windows(self.assets, clock.now_s())
                async with trio.open_nursery() as nursery:
                    await nursery.start(self.socket.run)
                    if self.reference is not None:
                        nursery.start_soon(self.reference.run)
                        log.info("reference prices from %s (%s)", self.reference.feed.name,
                                 self.reference.feed.url)
                    self._open(windows, nursery)
                    nursery.start_soon(self._flusher)
                    nursery.start_soon(self._discover_loop, discovery, nursery)
                    task_status.started()
            finally:
                for recording in list(self.open.values()):
                    self._close(recording)

    def _open(self, windows: list[DiscoveredWindow], nursery: trio.Nursery) -> None:
        assert self._clock is not None and self.socket is not None
        now_s = self._clock.now_s()
        for window in windows:
            if window.slug in self.seen or window.end <= now_s:
                continue
            self.seen.add(window.slug)
            path = recording_path(self.out_dir, window.slug)
            recording = WindowRecording(window, path, self._clock.now_ns())
            self.open[window.slug] = recording
            if self.reference is not None:
                self.reference.prime(recording)
            self.socket.add(recording, until=self._clock.trio_time(window.end * NS))
            log.info("recording %s into %s", window.slug, path)
            nursery.start_soon(self._roll, recording)

    async def _roll(self, recording: WindowRecording) -> None:
        assert self._clock is not None
        end = self._clock.trio_time(recording.window.end * NS)
        await trio.sleep_until(end + self.resolution_wait)
        self._close(recording)

    def _close(self, recording: WindowRecording) -> None:
        if self.socket is not None:
            self.socket.remove(recording)
        recording.file.close()
        self.open.pop(recording.window.slug, None)
        self.done.append(recording)
        file = recording.file
        log.info(
            "wrote %s: %s, %d frames, %d reference frames, %d bytes%s",
            file.path,
            recording.window.slug,
            file.frames_written - file.reference_written,
            file.reference_written,
            file.bytes_written,
            f", {recording.link_losses} link losses" if recording.link_losses else "",
        )

    async def _flusher(self) -> None:
        while True:
            await trio.sleep(FLUSH_INTERVAL)
            for recording in list(self.open.values()):
                recording.file.flush()

    async def _discover_loop(self, discovery: Discovery, nursery: trio.Nursery) -> None:
        assert self._clock is not None
        while True:
            await trio.sleep(DISCOVERY_REFRESH)
            try:
                with trio.fail_after(float(self.settings.discovery_timeout)):
                    windows = await discovery.windows(self.assets, self._clock.now_s())
            except (Unavailable, trio.TooSlowError) as exc:
                log.warning("discovery failed, recording the windows known: %s", exc)
                continue
            self._open(windows, nursery)
