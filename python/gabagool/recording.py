"""Recordings of market-channel frames: zstd-compressed JSON lines with a header line.

Line 1 is `{"header": {...}}` (a `RecordingHeader`); every other line is
`{"t": <receive time, int ns>, "frame": "<raw frame text>"}`. The frame text is kept exactly
as received, so a replay feeds the engine the same bytes the exchange sent. Live recordings
and simulated ones (`gabagool.sim`) share the format.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import BinaryIO, NamedTuple

import msgspec
import zstandard

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


class RecordingError(ValueError):
    """A recording that cannot be read (or written): the message names the file and line."""


class FeeScheduleHeader(msgspec.Struct, frozen=True):
    """A market's fee schedule as Gamma's `feeSchedule` gives it, numbers as decimal strings."""

    rate: str
    exponent: int = 1
    taker_only: bool = True
    rebate_rate: str = "0"


class MarketHeader(msgspec.Struct, frozen=True):
    """One 15-minute window: what a replay needs to map frames to the Up and Down books."""

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


class RecordingHeader(msgspec.Struct, frozen=True):
    """The first line of a recording."""

    source: str
    markets: list[MarketHeader]
    version: int = FORMAT_VERSION
    created_ns: int = 0
    seed: int | None = None


class RecordedFrame(NamedTuple):
    """One received frame: `t` the receive time in unix ns, `frame` the raw text."""

    t: int
    frame: str


class _HeaderLine(msgspec.Struct, forbid_unknown_fields=True):
    header: RecordingHeader


class _FrameLine(msgspec.Struct):
    t: int
    frame: str


_header_encoder = msgspec.json.Encoder()
_line_encoder = msgspec.json.Encoder()
_header_decoder = msgspec.json.Decoder(_HeaderLine)
_line_decoder = msgspec.json.Decoder(_FrameLine)


class RecordingWriter:
    """Writes a recording: `with RecordingWriter(path, header) as w: w.write(t_ns, text)`."""

    def __init__(self, path: PathLike, header: RecordingHeader) -> None:
        if not isinstance(header, RecordingHeader):
            raise RecordingError(f"{path}: header must be a RecordingHeader, not {header!r}")
        self.path = os.fspath(path)
        self.frames_written = 0
        self._last_t: int | None = None
        self._file: BinaryIO = open(self.path, "wb")  # closed by close()
        compressor = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL)
        self._writer = compressor.stream_writer(self._file, closefd=False)
        self._writer.write(_header_encoder.encode(_HeaderLine(header)) + b"\n")

    def write(self, t_ns: int, frame: str) -> None:
        """Append one frame; receive times must not go backwards (a replay paces by them)."""
        if type(t_ns) is not int or t_ns < 0:
            raise RecordingError(f"{self.path}: receive time {t_ns!r} is not a non-negative int")
        if not isinstance(frame, str):
            raise RecordingError(f"{self.path}: frame {frame!r} is not text")
        if self._last_t is not None and t_ns < self._last_t:
            raise RecordingError(
                f"{self.path}: receive time {t_ns} is before the previous frame's {self._last_t}"
            )
        self._last_t = t_ns
        self._writer.write(_line_encoder.encode(_FrameLine(t_ns, frame)) + b"\n")
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
    path: PathLike, header: RecordingHeader, frames: Iterable[tuple[int, str]]
) -> int:
    """Write a whole recording; returns the number of frames written."""
    with RecordingWriter(path, header) as writer:
        for t_ns, frame in frames:
            writer.write(t_ns, frame)
        return writer.frames_written


def read_recording(path: PathLike) -> tuple[RecordingHeader, Iterator[RecordedFrame]]:
    """Read the header now and stream the frames lazily (constant memory).

    Raises `RecordingError` at once for a file that is not zstd or has no valid header, and
    from the iterator for a bad line (named by its number, the header being line 1) or a
    truncated file.
    """
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
    except BaseException:
        file.close()
        raise
    return header, _RecordedFrames(name, file, lines)


def _decode_header(name: str, line: bytes) -> RecordingHeader:
    try:
        header = _header_decoder.decode(line).header
    except msgspec.DecodeError as exc:
        raise RecordingError(f"{name}: line 1: no valid header: {exc}") from None
    if header.version != FORMAT_VERSION:
        raise RecordingError(
            f"{name}: line 1: unsupported recording version {header.version} "
            f"(this reader knows {FORMAT_VERSION})"
        )
    return header


class _RecordedFrames(Iterator[RecordedFrame]):
    """The frames of an open recording; the file closes at the end, on error, on `close()`
    or when the iterator is dropped, even if it was never started."""

    def __init__(self, name: str, file: BinaryIO, lines: Iterator[bytes]) -> None:
        self._name = name
        self._file = file
        self._lines = lines
        self._number = 1

    def __next__(self) -> RecordedFrame:
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
        except msgspec.DecodeError as exc:
            self.close()
            raise RecordingError(
                f"{self._name}: line {self._number}: bad frame line: {exc}"
            ) from None
        return RecordedFrame(decoded.t, decoded.frame)

    def close(self) -> None:
        self._file.close()

    def __del__(self) -> None:
        self.close()


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
