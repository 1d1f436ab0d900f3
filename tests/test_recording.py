"""Recordings: the writer and the streaming reader, and how corrupt files are refused."""

from __future__ import annotations

import gc
import tracemalloc
import warnings
from pathlib import Path

import msgspec
import pytest
import zstandard
from gabagool.recording import (
    FeeScheduleHeader,
    MarketHeader,
    RecordedFrame,
    RecordingError,
    RecordingHeader,
    RecordingWriter,
    read_recording,
    write_recording,
)
from hypothesis import given, settings
from hypothesis import strategies as st

MARKET = MarketHeader(
    asset="btc",
    slug="btc-updown-15m-1767225600",
    condition_id="0x" + "ab" * 32,
    up_token="1" * 77,
    down_token="2" * 77,
    start=1_767_225_600,
    end=1_767_226_500,
    tick_size="0.01",
    min_order_size="5",
    fee_schedule=FeeScheduleHeader(rate="0.072", exponent=1, taker_only=True, rebate_rate="0.2"),
)
HEADER = RecordingHeader(source="live", markets=[MARKET], created_ns=123, seed=None)
# Receive times inside the window (the reader drops frames far outside a recording's windows).
T0 = MARKET.start * 10**9


def compressed_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(zstandard.ZstdCompressor().compress(b"".join(line + b"\n" for line in lines)))


def header_line(header: RecordingHeader = HEADER) -> bytes:
    return msgspec.json.encode({"header": header})


def read_all(path: Path) -> tuple[RecordingHeader, list[RecordedFrame]]:
    header, frames = read_recording(path)
    return header, list(frames)


def test_frames_come_back_exactly_as_written(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.zst"
    frames = [
        (T0 + 1_000, '{"event_type":"book","bids":[]}'),
        (T0 + 1_000, "PONG"),
        (T0 + 2_000, '[{"a": "line\\nbreak"}, "\u00e9\u6f22"]'),
        (T0 + 3_000, 'text with a real\nnewline and a "quote"'),
    ]
    assert write_recording(path, HEADER, frames) == 4
    header, read = read_all(path)
    assert header == HEADER
    assert read == [RecordedFrame(t, text) for t, text in frames]
    assert read[0].t == T0 + 1_000 and read[0].frame.startswith('{"event_type"')


def test_first_line_is_the_header_and_the_others_t_and_frame(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    write_recording(path, HEADER, [(T0 + 5, "x")])
    lines = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    first, second, end = lines.split(b"\n")
    assert msgspec.json.decode(first)["header"]["markets"][0]["slug"] == MARKET.slug
    assert msgspec.json.decode(second) == {"t": T0 + 5, "frame": "x"}
    assert end == b""


@settings(max_examples=25, deadline=None)
@given(
    frames=st.lists(
        st.tuples(st.integers(min_value=T0, max_value=T0 + 900 * 10**9), st.text(max_size=200)),
        max_size=40,
    )
)
def test_any_frames_round_trip(tmp_path_factory: pytest.TempPathFactory, frames) -> None:
    frames = sorted(frames, key=lambda frame: frame[0])
    path = tmp_path_factory.mktemp("rt") / "r.zst"
    write_recording(path, HEADER, frames)
    assert read_all(path)[1] == [RecordedFrame(t, text) for t, text in frames]


def test_reading_streams_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.zst"
    count = 60_000  # about 20 MB of lines once decompressed
    frames = (
        (
            T0 + t,
            '{"price_changes":[' + ",".join(f'{{"price":"0.{t * k % 97}"}}' for k in range(20)),
        )
        for t in range(count)
    )
    write_recording(path, HEADER, frames)
    tracemalloc.start()
    try:
        _, frames = read_recording(path)
        seen = sum(1 for _ in frames)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < 8_000_000, f"peak {peak} bytes: the reader is not streaming"


def test_frames_left_unread_do_not_leak_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    write_recording(path, HEADER, [(T0 + 1, "a"), (T0 + 2, "b")])
    # Garbage left by earlier tests (a socket, another file) would warn inside the block
    # below: collect it first, and count only warnings that name this recording.
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        header, frames = read_recording(path)
        del frames
        gc.collect()
    assert header == HEADER
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not [w for w in leaks if str(path) in str(w.message)], [str(w.message) for w in leaks]


def test_iteration_stops_after_a_bad_line_was_reported(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    compressed_lines(path, [header_line(), b"oops", b'{"t": 2, "frame": "late"}'])
    _, frames = read_recording(path)
    with pytest.raises(RecordingError, match="line 2"):
        next(frames)
    assert list(frames) == []


def test_writer_refuses_receive_times_going_backwards(tmp_path: Path) -> None:
    with RecordingWriter(tmp_path / "r.zst", HEADER) as writer:
        writer.write(T0 + 10, "a")
        with pytest.raises(RecordingError, match=f"receive time {T0 + 9} is before"):
            writer.write(T0 + 9, "b")
        with pytest.raises(RecordingError, match="receive time -1"):
            writer.write(-1, "b")
        with pytest.raises(RecordingError, match="1.5"):
            writer.write(1.5, "b")  # type: ignore[arg-type]
        with pytest.raises(RecordingError, match="is not text"):
            writer.write(T0 + 11, b"bytes")  # type: ignore[arg-type]
        writer.write(T0 + 10, "same time is fine")
    assert [f.frame for f in read_all(tmp_path / "r.zst")[1]] == ["a", "same time is fine"]


def test_flushed_frames_are_readable_while_the_writer_is_open(tmp_path: Path) -> None:
    path = tmp_path / "live.zst"
    with RecordingWriter(path, HEADER) as writer:
        writer.write(T0 + 1, "first")
        writer.flush()
        _, frames = read_recording(path)
        assert next(frames) == RecordedFrame(T0 + 1, "first")
        # the rest of an unfinished file reads as truncated, never as a silent end
        with pytest.raises(RecordingError, match="truncated after line 2"):
            next(frames)


def test_a_second_session_appended_to_the_file_is_read_on(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    write_recording(path, HEADER, [(T0 + 1, "a")])
    extra = zstandard.ZstdCompressor().compress(b'{"t":%d,"frame":"b"}\n' % (T0 + 2))
    path.write_bytes(path.read_bytes() + extra)
    assert [f.frame for f in read_all(path)[1]] == ["a", "b"]


def test_a_file_that_is_not_zstd_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_bytes(header_line() + b"\n")
    with pytest.raises(RecordingError, match="not a zstd file"):
        read_recording(path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.zst"
    path.write_bytes(b"")
    with pytest.raises(RecordingError, match="empty file, no header"):
        read_recording(path)


def test_a_missing_file_is_a_recording_error(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot open"):
        read_recording(tmp_path / "nope.zst")


def test_a_compressed_file_without_lines_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "nothing.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b""))
    with pytest.raises(RecordingError, match="no header"):
        read_recording(path)


def test_a_first_line_that_is_not_a_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    compressed_lines(path, [b'{"t": 1, "frame": "x"}'])
    with pytest.raises(RecordingError, match="line 1: no valid header"):
        read_recording(path)


def test_a_header_missing_a_market_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    broken = msgspec.json.decode(header_line())
    del broken["header"]["markets"][0]["up_token"]
    compressed_lines(path, [msgspec.json.encode(broken)])
    with pytest.raises(RecordingError, match="line 1: .*up_token"):
        read_recording(path)


def test_a_newer_format_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    newer = RecordingHeader(source="sim", markets=[], version=2)
    compressed_lines(path, [header_line(newer)])
    with pytest.raises(RecordingError, match="unsupported recording version 2"):
        read_recording(path)


@pytest.mark.parametrize(
    "bad_line",
    [b"not json", b'{"t": "1", "frame": "x"}', b'{"t": 1}', b"", b'{"t": 1, "frame": 5}'],
)
def test_a_bad_frame_line_is_named_by_its_number(tmp_path: Path, bad_line: bytes) -> None:
    path = tmp_path / "r.zst"
    compressed_lines(path, [header_line(), b'{"t": %d, "frame": "ok"}' % T0, bad_line])
    _, frames = read_recording(path)
    assert next(frames) == RecordedFrame(T0, "ok")
    with pytest.raises(RecordingError, match="line 3: bad frame line"):
        next(frames)


def test_a_truncated_file_is_refused_after_its_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    write_recording(path, HEADER, [(T0 + t, f"frame {t} " + "x" * 50) for t in range(5_000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    _, frames = read_recording(path)
    read = 0
    with pytest.raises(RecordingError, match="truncated"):
        for _ in frames:
            read += 1
    assert 0 < read < 5_000


def test_a_file_ending_inside_a_line_names_that_line(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    path.write_bytes(
        zstandard.ZstdCompressor().compress(
            header_line() + b'\n{"t": %d, "frame": "x"}\n{"t": 2,' % T0
        )
    )
    _, frames = read_recording(path)
    assert next(frames).t == T0
    with pytest.raises(RecordingError, match="line 3: truncated"):
        next(frames)


def test_corrupt_compressed_bytes_are_a_recording_error(tmp_path: Path) -> None:
    path = tmp_path / "r.zst"
    write_recording(path, HEADER, [(T0 + t, "y" * 40 + str(t)) for t in range(2_000)])
    data = bytearray(path.read_bytes())
    for index in range(len(data) // 2, len(data) // 2 + 64):
        data[index] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="corrupt|bad frame line|truncated"):
        _, frames = read_recording(path)
        for _ in frames:
            pass
