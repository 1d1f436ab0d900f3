"""What reading a recording refuses, drops or warns about (issue 9: defects 1, 7, 9, 16):
bad receive times, bad header values, unreadable lines, off-tick prices, crossed books."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
import zstandard
from gabagool.cli import main
from gabagool.recording import (
    FeeScheduleHeader,
    MarketHeader,
    RecordingError,
    RecordingHeader,
    read_recording,
    read_sources,
    write_recording,
)
from gabagool.replay import replay_recording
from gabagool.venues.sim_feed import ReplayMarketData, with_keepalives

UP, DOWN = "1" * 77, "2" * 77
START = 1_767_225_600
T0 = START * 10**9
SECOND = 10**9


def market(**changes: object) -> MarketHeader:
    fields: dict[str, object] = dict(
        asset="btc", slug=f"btc-updown-15m-{START}", condition_id="0x" + "ab" * 32,
        up_token=UP, down_token=DOWN, start=START, end=START + 900, tick_size="0.01",
        min_order_size="5", fee_schedule=FeeScheduleHeader(rate="0.072", rebate_rate="0.2"),
    )
    fields.update(changes)
    return MarketHeader(**fields)  # type: ignore[arg-type]


def header_line(*markets: MarketHeader) -> bytes:
    return msgspec.json.encode({"header": RecordingHeader(source="test", markets=list(markets))})


def frame_line(t: int, frame: str, src: str | None = None) -> bytes:
    line: dict[str, object] = {"t": t}
    if src is not None:
        line["src"] = src
    line["frame"] = frame
    return msgspec.json.encode(line)


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(zstandard.ZstdCompressor().compress(b"".join(x + b"\n" for x in lines)))
    return path


def book(token: str, ts: int, bids: list[str], asks: list[str]) -> str:
    return json.dumps({
        "event_type": "book", "asset_id": token, "timestamp": str(ts), "hash": f"h{ts}",
        "bids": [{"price": p, "size": "10"} for p in bids],
        "asks": [{"price": p, "size": "10"} for p in asks],
    })


def delta(ts: int, token: str, side: str, price: str, size: str, bid: str, ask: str) -> str:
    return json.dumps({
        "event_type": "price_change", "timestamp": str(ts), "price_changes": [
            {"asset_id": token, "price": price, "size": size, "side": side, "hash": f"d{ts}",
             "best_bid": bid, "best_ask": ask}],
    })


GOOD = book(UP, START * 1000, ["0.48"], ["0.52"])


# ---- defect 1: receive times ---------------------------------------------------------------


@pytest.fixture
def bad_times(tmp_path: Path) -> Path:
    return write_lines(tmp_path / "times.zst", [
        header_line(market()),
        frame_line(T0 + SECOND, GOOD),
        frame_line(0, GOOD),                      # a clock that was never set
        frame_line(-5, GOOD),                     # negative
        frame_line(2**62, GOOD),                  # a century ahead
        frame_line(T0 + 3 * SECOND, GOOD),
        frame_line(T0 + 2 * SECOND, GOOD),        # back in time
        frame_line(T0 + 4 * SECOND, GOOD),
    ])


def test_frames_with_impossible_receive_times_are_dropped_and_counted(bad_times: Path) -> None:
    _, frames = read_recording(bad_times)
    kept = [frame.t for frame in frames]
    assert kept == [T0 + SECOND, T0 + 3 * SECOND, T0 + 4 * SECOND]
    assert frames.issues.out_of_range == 3 and frames.issues.out_of_order == 1
    assert frames.issues.dropped == 4
    first = frames.issues.messages[0]
    assert "line 3: receive time 0 ns (1970-01-01T00:00:00Z) is more than an hour outside" in first
    assert "(2026-01-01T00:00:00Z to 2026-01-01T00:15:00Z)" in first
    last = frames.issues.messages[3]
    assert "line 7" in last and "is 1 s before the previous frame's" in last


def test_the_run_replay_feed_never_paces_through_a_broken_clock(bad_times: Path) -> None:
    data = ReplayMarketData(str(bad_times))
    feed = data.window("btc", START)
    frames = [t for t, _ in feed._frames]
    assert frames == [T0 + SECOND, T0 + 3 * SECOND, T0 + 4 * SECOND]
    # a keep-alive every 5 s of market time: a handful, not one per 5 s of a century
    assert len(list(with_keepalives(feed._frames, START * 10**9))) < 10


def test_replay_warns_about_dropped_frames_in_one_line(
    bad_times: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(bad_times), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["issues"]["out_of_range"] == 3 and report["issues"]["out_of_order"] == 1
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("gabagool replay: warning: 3 out of range, 1 out of order")


def test_a_line_of_an_unknown_source_is_skipped_and_counted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "src.zst", [
        header_line(market()),
        frame_line(T0, GOOD),
        frame_line(T0 + 1, "{}", src="user"),
        frame_line(T0 + 2, '{"v":1}', src="ref"),
    ])
    _, frames = read_sources(path)
    assert [(f.source, f.frame) for f in frames] == [("market", GOOD), ("ref", '{"v":1}')]
    assert frames.issues.unknown_source == 1


# ---- defect 7: one header validator -----------------------------------------------------


BAD_HEADERS = [
    ({"tick_size": "0.02"}, "tick size '0.02'"),
    ({"tick_size": "1e-2"}, "tick size '1e-2'"),
    ({"fee_schedule": FeeScheduleHeader(rate="1.5")}, "fee rate '1.5'"),
    ({"fee_schedule": FeeScheduleHeader(rate="NaN")}, "fee rate 'NaN'"),
    ({"fee_schedule": FeeScheduleHeader(rate="-0.1")}, "fee rate '-0.1'"),
    ({"fee_schedule": FeeScheduleHeader(rate="0.07", exponent=3)}, "fee exponent 3"),
    ({"fee_schedule": FeeScheduleHeader(rate="0.07", rebate_rate="2")}, "rebate rate '2'"),
    ({"min_order_size": "0"}, "minimum order size '0'"),
    ({"min_order_size": "-5"}, "minimum order size '-5'"),
    ({"min_order_size": "Infinity"}, "minimum order size 'Infinity'"),
    ({"end": START}, f"end {START} is not after start"),
    ({"end": START - 900}, "is not after start"),
    ({"end": START + 10**9}, "is not after start"),
    ({"start": -900, "end": 0}, "start -900 is negative"),
    ({"down_token": UP}, "are not two ids"),
    ({"price_to_beat": "abc"}, "price to beat 'abc'"),
]


@pytest.mark.parametrize(("changes", "reason"), BAD_HEADERS)
def test_a_header_the_replay_cannot_honour_is_refused_by_every_reader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict[str, object], reason: str
) -> None:
    path = write_lines(tmp_path / "h.zst", [header_line(market(**changes)), frame_line(T0, GOOD)])
    with pytest.raises(RecordingError, match="line 1: market 1") as caught:
        read_recording(path)
    assert reason in str(caught.value)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and reason in err
    code = main(["run", "--feed", f"replay:{path}", "--no-view", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and reason in err


def test_two_windows_sharing_a_token_are_refused(tmp_path: Path) -> None:
    second = market(slug="other", start=START + 900, end=START + 1800, condition_id="0x1")
    path = write_lines(tmp_path / "h.zst", [header_line(market(), second)])
    with pytest.raises(RecordingError, match="belongs to another window"):
        read_recording(path)


def test_the_writer_refuses_a_bad_header_too(tmp_path: Path) -> None:
    header = RecordingHeader(source="test", markets=[market(tick_size="0.05")])
    with pytest.raises(RecordingError, match="tick size '0.05'"):
        write_recording(tmp_path / "w.zst", header, [])


# ---- defect 9: unreadable lines ------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"t": %d, "frame": "caf\xe9"}' % T0, "invalid UTF-8"),
        (b'{"t": %d, "frame": "x", "deep": ' % T0 + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "nested too deeply"),
        (b"[" * 100_000, "Expected `object`"),
    ],
)
def test_an_unreadable_line_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: bytes, reason: str
) -> None:
    path = write_lines(tmp_path / "u.zst", [header_line(market()), frame_line(T0, GOOD), line])
    _, frames = read_recording(path)
    assert next(frames).t == T0
    with pytest.raises(RecordingError, match=f"line 3: bad frame line: .*{reason}"):
        next(frames)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "line 3" in err and "Traceback" not in err


def test_an_unreadable_header_is_a_one_line_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "u.zst", [b'{"header": {"source": "\xff"}}'])
    with pytest.raises(RecordingError, match="line 1: no valid header: invalid UTF-8"):
        read_recording(path)
    path = write_lines(tmp_path / "d.zst", [b'{"header": ' + b"[" * 100_000])
    with pytest.raises(RecordingError, match="line 1: no valid header"):
        read_recording(path)


# ---- defect 16: off-tick prices and crossed books ------------------------------------------


def test_off_tick_prices_are_counted_and_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ms = START * 1000
    path = write_lines(tmp_path / "t.zst", [
        header_line(market()),
        frame_line(T0, book(UP, ms, ["0.485", "0.47"], ["0.52"])),           # 0.485 off 0.01
        frame_line(T0 + 1, delta(ms + 1, UP, "SELL", "0.5150", "3", "0.485", "0.515")),
        frame_line(T0 + 2, delta(ms + 2, UP, "BUY", "0.49", "3", "0.49", "0.515")),  # on tick
    ])
    report = replay_recording(path)
    assert report.issues["off_tick"] == 2 and report.issues["crossed"] == 0
    assert "line 2: up price 0.485 is off the 0.01 tick" in report.issue_messages[0]
    assert main(["replay", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "2 off tick" in err


def test_a_fine_tick_after_a_tick_change_is_on_the_tick(tmp_path: Path) -> None:
    ms = START * 1000
    change = json.dumps({"event_type": "tick_size_change", "asset_id": UP, "market": "0x",
                         "old_tick_size": "0.01", "new_tick_size": "0.001",
                         "timestamp": str(ms + 1)})
    fine = json.loads(book(UP, ms + 2, ["0.961"], ["0.963"]))
    fine["tick_size"] = "0.001"
    path = write_lines(tmp_path / "f.zst", [
        header_line(market()),
        frame_line(T0, book(UP, ms, ["0.96"], ["0.97"])),
        frame_line(T0 + 1, change),
        frame_line(T0 + 2, json.dumps(fine)),
    ])
    assert replay_recording(path).issues["off_tick"] == 0


def test_a_book_left_crossed_after_its_burst_is_counted_not_one_crossed_inside_it(
    tmp_path: Path,
) -> None:
    ms = START * 1000
    path = write_lines(tmp_path / "c.zst", [
        header_line(market()),
        frame_line(T0, book(UP, ms, ["0.48"], ["0.52"])),
        # a match in progress: crossed inside the burst at ms+1, repaired by its last frame
        frame_line(T0 + 1, delta(ms + 1, UP, "BUY", "0.53", "5", "0.53", "0.52")),
        frame_line(T0 + 2, delta(ms + 1, UP, "BUY", "0.53", "0", "0.48", "0.52")),
        # crossed and left so
        frame_line(T0 + 3, delta(ms + 2, UP, "BUY", "0.55", "5", "0.55", "0.52")),
        frame_line(T0 + 4, delta(ms + 3, UP, "BUY", "0.47", "5", "0.55", "0.52")),
    ])
    report = replay_recording(path)
    assert report.issues["crossed"] >= 1 and report.issues["off_tick"] == 0
    assert any("up book was left crossed" in m for m in report.issue_messages)


def test_a_clean_simulated_recording_has_no_issues(tmp_path: Path) -> None:
    out = tmp_path / "sim.zst"
    assert main(["sim", "--out", str(out), "--seed", "2", "--asset", "xrp"]) == 0
    report = replay_recording(out)
    assert not any(report.issues.values()), report.issue_messages
