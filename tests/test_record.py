"""`gabagool record`: live frames into one recording per window, readable by `gabagool replay`
with the fake exchange's books at the end, and readable after the recorder is killed."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
from fakes.fake_polymarket import FakePolymarket, ThreadedFake
from gabagool import _core
from gabagool.cli import main as cli_main
from gabagool.config import PolymarketSettings
from gabagool.recorder import AppendingRecording, Recorder, recording_path
from gabagool.recording import RecordingHeader, read_recording
from gabagool.venues.polymarket.clock import NS, UnixClock
from gabagool.venues.polymarket.gamma import window_start

START = 1_767_225_600
OUTCOMES = ("up", "down")


def books_of(path: Path) -> tuple[RecordingHeader, object, int]:
    header, frames = read_recording(path)
    [m] = header.markets
    market = _core.Market(m.up_token, m.down_token, _core.parse_price(m.tick_size))
    count = 0
    for item in frames:
        market.apply_frame(item.frame)
        market.end_batch()
        count += 1
    return header, market, count


async def test_recordings_replay_to_the_fakes_books(
    loopback_clock: trio.abc.Clock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gabagool.recorder")
    fake = FakePolymarket(["btc", "eth"], START, windows=2)
    async with trio.open_nursery() as nursery:
        clock = UnixClock.starting_at((START - 30) * NS)
        await nursery.start(fake.run, clock)
        settings = PolymarketSettings(
            gamma_url=fake.gamma_url, clob_url=fake.clob_url, market_ws_url=fake.ws_url
        )
        recorder = Recorder(settings, ["btc", "eth"], tmp_path, clock=clock, resolution_wait=20)
        await nursery.start(recorder.run)
        await trio.sleep_until(clock.trio_time((START + 300) * NS))
        fake.drop_connections()  # a reconnect mid-window: the dump's snapshots are recorded
        await trio.sleep_until(clock.trio_time((START + 1800 + 30) * NS))
        assert not recorder.open
        nursery.cancel_scope.cancel()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted(f"{a}-updown-15m-{s}.zst" for a in ("btc", "eth")
                           for s in (START, START + 900))
    assert {r.window.slug for r in recorder.done} == {f[:-4] for f in files}
    # one line per window says what was written
    wrote = [r.getMessage() for r in caplog.records if r.getMessage().startswith("wrote ")]
    assert len(wrote) == 4
    for name in files:
        [line] = [text for text in wrote if f"/{name}: " in text]
        assert " frames, " in line and line.endswith((" bytes", " link losses"))
    for (asset, start), window in fake.windows.items():
        path = tmp_path / f"{asset}-updown-15m-{start}.zst"
        header, market, count = books_of(path)
        assert header.markets == [window.header] and header.source == "polymarket"
        # frames streamed while the link was down are lost to any client; the books below
        # show the resync made up for them
        assert count >= window.delivered > 0
        for outcome in OUTCOMES:
            for side in ("bid", "ask"):
                assert market.levels(outcome, side) == window.market.levels(outcome, side)
        # and the command line's replay agrees on the tops
        capsys.readouterr()
        assert cli_main(["replay", str(path), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        rows = {row["outcome"]: row for row in report["tokens"]}
        for outcome in OUTCOMES:
            bid, ask = window.market.best_bid(outcome), window.market.best_ask(outcome)
            assert rows[outcome]["best_bid_micros"] == (bid[0] if bid else None)
            assert rows[outcome]["best_ask_micros"] == (ask[0] if ask else None)


def test_appending_recording_is_readable_after_each_flush(tmp_path: Path) -> None:
    header = RecordingHeader(source="polymarket", markets=[])
    path = recording_path(tmp_path, "btc-updown-15m-0")
    recording = AppendingRecording(path, header)
    recording.write(5, '{"a": 1}')
    recording.flush()
    recording.write(4, '{"b": 2}')  # receive times never go backwards in the file
    recording.flush()
    recording.write(9, '{"c": 3}')  # written, never flushed: lost, the rest readable
    _, frames = read_recording(path)
    assert [(f.t, f.frame) for f in frames] == [(5, '{"a": 1}'), (5, '{"b": 2}')]
    recording.close()
    assert recording_path(tmp_path, "btc-updown-15m-0").name == "btc-updown-15m-0.2.zst"


def test_killed_recorder_leaves_a_readable_file(tmp_path: Path) -> None:
    start = window_start(int(time.time()))
    out = tmp_path / "out"
    out.mkdir()
    with ThreadedFake(FakePolymarket(["btc"], start, windows=1)) as fake:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GABAGOOL_")},
            "GABAGOOL_POLYMARKET_GAMMA_URL": fake.gamma_url,
            "GABAGOOL_POLYMARKET_CLOB_URL": fake.clob_url,
            "GABAGOOL_POLYMARKET_MARKET_WS_URL": fake.ws_url,
        }
        path = out / f"btc-updown-15m-{start}.zst"
        frames = 0
        with subprocess.Popen(
            [sys.executable, "-m", "gabagool", "record", "--assets", "btc", "--out", str(out)],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        ) as proc:
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and frames < 2 and proc.poll() is None:
                    time.sleep(0.5)
                    if path.exists():
                        _, items = read_recording(path)
                        frames = sum(1 for _ in items)
            finally:
                proc.send_signal(signal.SIGKILL)
                _, errors = proc.communicate(timeout=10)
        assert frames >= 2, errors
    header, market, count = books_of(path)  # no error: the file ends on a frame boundary
    assert count >= frames
    assert header.markets[0].slug == f"btc-updown-15m-{start}"
    assert market.best_bid("up") is not None


def test_record_refuses_a_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["record", "--assets", "btc", "--out", str(tmp_path / "nowhere")])
    assert code == 2
    assert "is not a directory" in capsys.readouterr().err
