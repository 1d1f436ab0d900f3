"""Recordings of market-channel and reference-price frames: zstd JSON lines with a header.

Line 1 is `{"header": {...}}` (a `RecordingHeader`); every other line is
`{"t": <receive time, int ns>, "frame": "<raw frame text>"}` for the market channel, or
`{"t": ..., "src": "ref", "frame": "..."}` for the reference price (PolyBolt envelopes). The
frame text is kept exactly as received, so a replay feeds the engine the same bytes the
exchange sent. Live recordings and simulated ones (`gabagool.sim`) share the format; files
written before reference frames existed read unchanged.

Reading checks what a replay relies on: the header's values (`validate_header`, one rule
for `gabagool replay` and `run --feed replay:`), receive times (a frame outside the
recording's windows or going back in time is dropped and counted, never paced through), and
the market frames' prices (off-tick prices and crossed books are counted and warned about;
see `gabagool.recording_audit`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import BinaryIO, Generic, NamedTuple, TypeVar

import msgspec
import zstandard

from gabagool.recording_audit import MarketAudit
from gabagool.types import NS

FORMAT_VERSION = 1
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Compression level 3 is zstd's default: a 15-minute window's frames compress about 8x
# in well under the time it takes to simulate them; higher levels cost more than they save.
COMPRESSION_LEVEL = 3
READ_CHUNK_BYTES = 1 << 20
# Compressed bytes handed to the decompressor at a time: its output has no size bound, so the
# input is fed in small slices to keep memory flat (recorded frames compress about 5-10x).
DECOMPRESS_SLICE_BYTES = 1 << 13

PathLike = str | os.PathLike[str]

MARKET_SOURCE = "market"
REFERENCE_SOURCE = "ref"
SOURCES = (MARKET_SOURCE, REFERENCE_SOURCE)
"""Where a recorded frame came from: the market channel, or the reference price feed."""

# Frames this long before the first window or after the last are still part of it (a
# recorder subscribes early; `market_resolved` and the final TWAP come after the end).
# Anything further out is a broken clock and is dropped: a replay paces by these times.
TIME_SLACK_NS = 3600 * NS
# Longest window a header may describe (the markets are 5 minutes to 1 hour long).
MAX_WINDOW_SECONDS = 86_400
VALID_TICKS = frozenset(Decimal(t) for t in ("0.1", "0.01", "0.001", "0.0001"))
MAX_MIN_ORDER_SIZE = Decimal(1_000_000)
# A plain decimal, as the exchange writes numbers (no sign, exponent, NaN or Infinity).
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
# Problems quoted by text in `RecordingIssues.messages` (the counts are always complete).
MAX_MESSAGES = 10

log = logging.getLogger("gabagool.recording")
# A library's logger: silent unless the application configures logging (`gabagool run`
# does); commands that read recordings report the issues themselves.
log.addHandler(logging.NullHandler())


class RecordingError(ValueError):
    """A recording that cannot be read (or written): the message names the file and line."""


class FeeScheduleHeader(msgspec.Struct, frozen=True):
    """A market's fee schedule as Gamma's `feeSchedule` gives it, numbers as decimal strings."""

    rate: str
    exponent: int = 1
    taker_only: bool = True
    rebate_rate: str = "0"


class MarketHeader(msgspec.Struct, frozen=True, omit_defaults=True):
    """One 15-minute window: what a replay needs to map frames to the Up and Down books.

    `price_to_beat`: the window's opening reference price (Gamma `eventMetadata.priceToBeat`,
    or the simulator's open) as an exact decimal string, when known.
    """

    asset: str
    slug: str
    condition_id: str
    up_token: str
    down_token: str
    start: int
    end: int
    tick_size: str
    min_order_size: str
    fee_schedule: FeeScheduleHeader
    price_to_beat: str | None = None


class RecordingHeader(msgspec.Struct, frozen=True):
    """The first line of a recording."""

    source: str
    markets: list[MarketHeader]
    version: int = FORMAT_VERSION
    created_ns: int = 0
    seed: int | None = None


class RecordedFrame(NamedTuple):
    """One received market-channel frame: `t` the receive time in unix ns, `frame` the text."""

    t: int
    frame: str


class SourcedFrame(NamedTuple):
    """One received frame of any source: `source` is `"market"` or `"ref"`."""

    t: int
    source: str
    frame: str


class _HeaderLine(msgspec.Struct, forbid_unknown_fields=True):
    header: RecordingHeader


class _FrameLine(msgspec.Struct, omit_defaults=True, kw_only=True):
    # market lines omit `src`, so they are written exactly as before sources existed
    t: int
    src: str = MARKET_SOURCE
    frame: str


@dataclass
class RecordingIssues:
    """What reading found wrong, by kind, with the first few problems quoted.

    Frames with a bad receive time are dropped (`out_of_range`: before or after the
    recording's windows by more than an hour, such as 0; `out_of_order`: earlier
    than the frame before), as are lines of an unknown source. Off-tick prices and books
    left crossed after a burst are counted and kept (the engine's own checks decide).
    """

    out_of_range: int = 0
    out_of_order: int = 0
    unknown_source: int = 0
    off_tick: int = 0
    crossed: int = 0
    messages: list[str] = field(default_factory=list)

    KINDS = ("out_of_range", "out_of_order", "unknown_source", "off_tick", "crossed")

    def add(self, kind: str, message: str) -> None:
        count = getattr(self, kind) + 1
        setattr(self, kind, count)
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append(message)
        if count == 1:
            log.warning("%s (further %s problems are counted)", message, kind.replace("_", " "))

    @property
    def dropped(self) -> int:
        return self.out_of_range + self.out_of_order + self.unknown_source

    def counts(self) -> dict[str, int]:
        return {kind: getattr(self, kind) for kind in self.KINDS}

    def summary(self) -> str | None:
        """One line for people, or None when nothing was wrong."""
        parts = [f"{count} {kind.replace('_', ' ')}" for kind, count in self.counts().items()
                 if count]
        if not parts:
            return None
        return f"{', '.join(parts)} ({self.dropped} frames dropped); first: {self.messages[0]}"


_header_encoder = msgspec.json.Encoder()
_line_encoder = msgspec.json.Encoder()
_header_decoder = msgspec.json.Decoder(_HeaderLine)
_line_decoder = msgspec.json.Decoder(_FrameLine)


class RecordingWriter:
    """Writes a recording: `with RecordingWriter(path, header) as w: w.write(t_ns, text)`."""

    def __init__(self, path: PathLike, header: RecordingHeader) -> None:
        if not isinstance(header, RecordingHeader):
            raise RecordingError(f"{path}: header must be a RecordingHeader, not {header!r}")
        validate_header(header, os.fspath(path))
        self.path = os.fspath(path)
        self.frames_written = 0
        self._last_t: int | None = None
        self._file: BinaryIO = open(self.path, "wb")  # closed by close()
        compressor = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL)
        self._writer = compressor.stream_writer(self._file, closefd=False)
        self._writer.write(_header_encoder.encode(_HeaderLine(header)) + b"\n")

    def write(self, t_ns: int, frame: str, source: str = MARKET_SOURCE) -> None:
        """Append one frame; receive times must not go backwards (a replay paces by them)."""
        if source not in SOURCES:
            raise RecordingError(f"{self.path}: unknown frame source {source!r} (not {SOURCES})")
        if type(t_ns) is not int or t_ns < 0:
            raise RecordingError(f"{self.path}: receive time {t_ns!r} is not a non-negative int")
        if not isinstance(frame, str):
            raise RecordingError(f"{self.path}: frame {frame!r} is not text")
        if self._last_t is not None and t_ns < self._last_t:
            raise RecordingError(
                f"{self.path}: receive time {t_ns} is before the previous frame's {self._last_t}"
            )
        self._last_t = t_ns
        line = _FrameLine(t=t_ns, src=source, frame=frame)
        self._writer.write(_line_encoder.encode(line) + b"\n")
        self.frames_written += 1

    def flush(self) -> None:
        """Make every frame written so far readable from the file (ends a zstd block)."""
        self._writer.flush(zstandard.FLUSH_BLOCK)
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            self._writer.close()
        finally:
            self._file.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_recording(
    path: PathLike,
    header: RecordingHeader,
    frames: Iterable[tuple[int, str] | tuple[int, str, str]],
) -> int:
    """Write a whole recording from (t_ns, frame) market frames or (t_ns, source, frame)
    tagged ones; returns the number of frames written."""
    with RecordingWriter(path, header) as writer:
        for item in frames:
            if len(item) == 3:
                writer.write(item[0], item[2], item[1])
            else:
                writer.write(item[0], item[1])
        return writer.frames_written


def read_recording(path: PathLike) -> tuple[RecordingHeader, RecordedFrames[RecordedFrame]]:
    """Read the header now and stream the market-channel frames lazily (constant memory).

    Reference frames are skipped (see `read_sources`). Raises `RecordingError` at once for a
    file that is not zstd or has no valid header (`validate_header`), and from the iterator
    for a bad line (named by its number, the header being line 1) or a truncated file.
    Frames with impossible receive times are dropped; the iterator's `issues` counts them
    and the off-tick prices and crossed books it saw.
    """
    header, file, lines = _open(path)
    frames = RecordedFrames(
        os.fspath(path), file, lines, header, (MARKET_SOURCE,),
        lambda t, _source, frame: RecordedFrame(t, frame),
    )
    return header, frames


def read_sources(
    path: PathLike, sources: tuple[str, ...] = SOURCES
) -> tuple[RecordingHeader, RecordedFrames[SourcedFrame]]:
    """As `read_recording`, but the frames of every source in `sources`, as `SourcedFrame`s
    (t_ns, source, frame) in file order: `"market"` and `"ref"` (PolyBolt envelopes)."""
    header, file, lines = _open(path)
    return header, RecordedFrames(os.fspath(path), file, lines, header, sources, SourcedFrame)


def _open(path: PathLike) -> tuple[RecordingHeader, BinaryIO, Iterator[bytes]]:
    name = os.fspath(path)
    try:
        file = open(name, "rb")  # the frame generator closes it
    except OSError as exc:
        raise RecordingError(f"{name}: cannot open: {exc.strerror or exc}") from exc
    try:
        magic = file.read(4)
        if not magic:
            raise RecordingError(f"{name}: empty file, no header")
        if magic != ZSTD_MAGIC:
            raise RecordingError(f"{name}: not a zstd file (starts with {magic.hex()})")
        file.seek(0)
        lines = _lines(name, file)
        first = next(lines, None)
        if first is None:
            raise RecordingError(f"{name}: no header (the file holds no lines)")
        header = _decode_header(name, first)
        validate_header(header, name)
    except BaseException:
        file.close()
        raise
    return header, file, lines


# What a line can raise besides a DecodeError: invalid UTF-8 inside a string, and nesting
# deeper than the interpreter's recursion limit (msgspec decodes recursively).
_LINE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _decode_header(name: str, line: bytes) -> RecordingHeader:
    try:
        header = _header_decoder.decode(line).header
    except _LINE_ERRORS as exc:
        raise RecordingError(f"{name}: line 1: no valid header: {_reason(exc)}") from None
    if header.version != FORMAT_VERSION:
        raise RecordingError(
            f"{name}: line 1: unsupported recording version {header.version} "
            f"(this reader knows {FORMAT_VERSION})"
        )
    return header


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {exc.start}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if isinstance(text, str) and _DECIMAL.fullmatch(text) else None


def validate_header(header: RecordingHeader, name: str = "recording") -> None:
    """The one check of a recording's header, for every reader: RecordingError naming the
    window and the value when a market could not be replayed as described."""
    seen_windows: set[str] = set()
    seen_tokens: set[str] = set()
    for index, market in enumerate(header.markets):
        where = f"{name}: line 1: market {index + 1} ({market.slug or market.asset!r})"

        def fail(what: str, where: str = where) -> RecordingError:
            return RecordingError(f"{where}: {what}")

        if not market.asset:
            raise fail("empty asset")
        if not market.up_token or not market.down_token or market.up_token == market.down_token:
            raise fail(f"token ids {market.up_token!r} / {market.down_token!r} are not two ids")
        for token in (market.up_token, market.down_token):
            if token in seen_tokens:
                raise fail(f"token id {token!r} belongs to another window too")
            seen_tokens.add(token)
        if not market.condition_id:
            raise fail("empty condition id")
        if market.start < 0:
            raise fail(f"start {market.start} is negative")
        if not 0 < market.end - market.start <= MAX_WINDOW_SECONDS:
            raise fail(
                f"end {market.end} is not after start {market.start} by at most "
                f"{MAX_WINDOW_SECONDS} s"
            )
        if market.slug in seen_windows:
            raise fail(f"a second window with slug {market.slug!r}")
        seen_windows.add(market.slug)
        if _decimal(market.tick_size) not in VALID_TICKS:
            raise fail(f"tick size {market.tick_size!r} is not 0.1, 0.01, 0.001 or 0.0001")
        size = _decimal(market.min_order_size)
        if size is None or not 0 < size <= MAX_MIN_ORDER_SIZE:
            raise fail(
                f"minimum order size {market.min_order_size!r} is not a decimal in "
                f"(0, {MAX_MIN_ORDER_SIZE}]"
            )
        fees = market.fee_schedule
        for label, text in (("fee rate", fees.rate), ("rebate rate", fees.rebate_rate)):
            value = _decimal(text)
            if value is None or value > 1:
                raise fail(f"{label} {text!r} is not a decimal in [0, 1]")
        if fees.exponent not in (1, 2):
            raise fail(f"fee exponent {fees.exponent!r} is not 1 or 2")
        if market.price_to_beat is not None:
            price = _decimal(market.price_to_beat)
            if price is None or price <= 0:
                raise fail(f"price to beat {market.price_to_beat!r} is not a positive decimal")


FrameT = TypeVar("FrameT", RecordedFrame, SourcedFrame)


class RecordedFrames(Iterator[FrameT], Generic[FrameT]):
    """The frames of an open recording; the file closes at the end, on error, on `close()`
    or when the iterator is dropped, even if it was never started. `issues` counts what was
    dropped or looked wrong so far."""

    def __init__(
        self,
        name: str,
        file: BinaryIO,
        lines: Iterator[bytes],
        header: RecordingHeader,
        sources: tuple[str, ...],
        make: Callable[[int, str, str], FrameT],
    ) -> None:
        self._name = name
        self._make: Callable[[int, str, str], FrameT] = make
        self._file = file
        self._lines = lines
        self._number = 1
        self._sources = sources
        self._last_t = -1
        self.issues = RecordingIssues()
        if header.markets:
            first, last = min(m.start for m in header.markets), max(m.end for m in header.markets)
            self._lowest = max(0, first * NS - TIME_SLACK_NS)
            self._highest = last * NS + TIME_SLACK_NS
            self._span = f"{_utc(first * NS)} to {_utc(last * NS)}"
        else:
            self._lowest, self._highest = 0, 2**63 - 1
            self._span = "no window"
        self._audit = MarketAudit(header.markets, self.issues)

    def __next__(self) -> FrameT:
        while True:
            if self._file.closed:
                raise StopIteration
            try:
                line = next(self._lines)
            except BaseException:
                self.close()
                raise
            self._number += 1
            try:
                decoded = _line_decoder.decode(line)
            except _LINE_ERRORS as exc:
                self.close()
                raise RecordingError(
                    f"{self._name}: line {self._number}: bad frame line: {_reason(exc)}"
                ) from None
            if not self._keep(decoded):
                continue
            if decoded.src == MARKET_SOURCE:
                self._audit.check(decoded.frame, self._number)
            if decoded.src not in self._sources:
                continue
            return self._make(decoded.t, decoded.src, decoded.frame)

    def _keep(self, line: _FrameLine) -> bool:
        where = f"{self._name}: line {self._number}"
        t = line.t
        if line.src not in SOURCES:
            self.issues.add("unknown_source", f"{where}: unknown source {line.src!r}, skipped")
            return False
        if not self._lowest <= t <= self._highest:
            self.issues.add(
                "out_of_range",
                f"{where}: receive time {t} ns ({_utc(t)}) is more than an hour outside the "
                f"recording's windows ({self._span}); frame dropped",
            )
            return False
        if t < self._last_t:
            self.issues.add(
                "out_of_order",
                f"{where}: receive time {t} ns is {(self._last_t - t) / NS:g} s before the "
                f"previous frame's; frame dropped",
            )
            return False
        self._last_t = t
        return True

    def finish(self) -> None:
        """Check the last burst (call at the end of the stream; iteration does it too)."""
        self._audit.finish()

    def close(self) -> None:
        if not self._file.closed:
            self._audit.finish()
        self._file.close()

    def __del__(self) -> None:
        self._file.close()


def _utc(t_ns: int) -> str:
    """A receive time for people; the raw number when it is no date at all."""
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_ns // NS))
    except (OverflowError, OSError, ValueError):
        return "not a date"


def _lines(name: str, file: BinaryIO) -> Iterator[bytes]:
    """Decompressed lines without their newlines; several concatenated zstd frames allowed."""
    decompressor = zstandard.ZstdDecompressor()
    stream = decompressor.decompressobj()
    in_frame = False
    pending = b""
    lines_done = 0
    while chunk := file.read(READ_CHUNK_BYTES):
        view = memoryview(chunk)
        offset = 0
        while offset < len(view):
            data = view[offset : offset + DECOMPRESS_SLICE_BYTES]
            offset += len(data)
            in_frame = True
            try:
                out = stream.decompress(data)
            except zstandard.ZstdError as exc:
                raise RecordingError(
                    f"{name}: corrupt compressed data after line {lines_done}: {exc}"
                ) from None
            if stream.eof:
                # A recorder that was restarted appends a new zstd frame to the same file.
                offset -= len(stream.unused_data)
                stream = decompressor.decompressobj()
                in_frame = False
            if b"\n" not in out:
                pending += out
                continue
            *complete, rest = (pending + out).split(b"\n")
            pending = rest
            for line in complete:
                lines_done += 1
                yield line
    if in_frame:
        raise RecordingError(
            f"{name}: truncated after line {lines_done} "
            "(the compressed stream ends before its frame is complete)"
        )
    if pending:
        raise RecordingError(f"{name}: line {lines_done + 1}: truncated (the file ends inside it)")
