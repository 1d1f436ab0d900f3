"""`gabagool record`: live frames into one recording per window, readable by `gabagool replay`
with the fake exchange's books at the end, and readable after the recorder is killed; the
reference feed's frames in the same files, as the simulator writes them, replayed and
backtested with a fair value, and a reference feed that gives up never stops the market."""

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
from fakes.fake_polybolt import FakePolyBolt, Session
from fakes.fake_polymarket import FakePolymarket, ThreadedFake
from gabagool import _core
from gabagool.backtest.spec import WindowSpec, window_frames
from gabagool.cli import main as cli_main
from gabagool.config import PolymarketSettings, load_settings
from gabagool.engine.backtest_loop import run_window
from gabagool.recorder import (
    REFERENCE_LEAD,
    REFERENCE_TAIL,
    AppendingRecording,
    Recorder,
    recording_path,
)
from gabagool.recording import RecordingHeader, read_recording, read_sources
from gabagool.sim.reference import reference_frames
from gabagool.types import NS
from gabagool.venues.polymarket.clock import UnixClock
from gabagool.venues.polymarket.gamma import window_start
from gabagool.venues.polymarket.reference import ApiCredentials, PolyBoltFeed, reference_feed

START = 1_767_225_600
OUTCOMES = ("up", "down")
KEY, SECRET, PASSPHRASE = "key-rec-51d0", "c2VjcmV0LXJlY29yZGVyLW5ldmVy", "pass-rec-9e2f"


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


def reference_lines(path: Path) -> list[tuple[int, str]]:
    _, items = read_sources(path)
    return [(item.t, item.frame) for item in items if item.source == "ref"]


async def test_reference_frames_are_recorded_replayed_and_give_a_fair_value(
    loopback_clock: trio.abc.Clock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakePolymarket(["btc"], START, windows=2)
    sims = [fake.window_at("btc", start).sim for start in (START, START + 900)]
    clock = UnixClock.starting_at((START - 30) * NS)
    # the feed dies 5 minutes after the second window's start: the market goes on
    dies_at = START + 900 + 300
    polybolt = FakePolyBolt(KEY, SECRET, PASSPHRASE,
                            [Session(stream=list(reference_frames(sims)))],
                            clock=clock, dies_at_ns=dies_at * NS)
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.run, clock)
        url = await nursery.start(polybolt.serve)
        settings = PolymarketSettings(
            gamma_url=fake.gamma_url, clob_url=fake.clob_url, market_ws_url=fake.ws_url
        )
        feed = PolyBoltFeed(url, ["btc"], ApiCredentials(KEY, SECRET, PASSPHRASE))
        recorder = Recorder(settings, ["btc"], tmp_path, clock=clock, resolution_wait=20,
                            reference=feed)
        await nursery.start(recorder.run)
        await trio.sleep_until(clock.trio_time((START + 1800 + 30) * NS))
        assert not recorder.open
        nursery.cancel_scope.cancel()
    assert polybolt.streamed > 1000 and polybolt.dead
    first, second = (tmp_path / f"btc-updown-15m-{s}.zst" for s in (START, START + 900))
    assert sorted(tmp_path.iterdir()) == [first, second]
    sent = dict(reference_frames(sims))  # what the fake streamed, by its send time
    texts = set(sent.values())
    for path, start in ((first, START), (second, START + 900)):
        lines = reference_lines(path)
        assert len(lines) > 100
        # the frames as the server sent them, received inside the window's span
        assert all(text in texts for _, text in lines)
        assert all((start - REFERENCE_LEAD) * NS <= t <= (start + 900 + REFERENCE_TAIL) * NS
                   for t, _ in lines)
        # the market channel is all there too
        _, market, count = books_of(path)
        window = fake.window_at("btc", start)
        assert count >= window.delivered > 0
        for outcome in OUTCOMES:
            assert market.levels(outcome, "bid") == window.market.levels(outcome, "bid")
        # `gabagool replay` counts them by channel
        capsys.readouterr()
        assert cli_main(["replay", str(path), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)["reference"]
        assert report["frames"] == len(lines) and report["other"] == 0
        assert set(report["channels"]) == {"price.crypto", "price.crypto.twap"}
    # the first window's file has its whole span; the second, its warm-up before the start
    # (the first window's frames) and nothing after the feed died
    first_lines, second_lines = reference_lines(first), reference_lines(second)
    assert sum(1 for t, _ in first_lines if t >= (START + 900) * NS) > 0
    assert sum(1 for t, _ in second_lines if t < (START + 900) * NS) > 100
    assert max(t for t, _ in second_lines) < dies_at * NS
    # one line a window says what was written, reference frames included
    wrote = [r.getMessage() for r in caplog.records if r.getMessage().startswith("wrote ")]
    for path in (first, second):
        [line] = [text for text in wrote if f"/{path.name}: " in text]
        assert f", {len(reference_lines(path))} reference frames, " in line
    # a server gone is retried, not given up on
    assert not [r for r in caplog.records if "reference feed gave up" in r.getMessage()]
    # the backtest of the recorded file: the first window settles and has a fair value
    capsys.readouterr()
    args = ["backtest", str(first), "--no-baselines", "--json", "--jobs", "1"]
    assert cli_main(args) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    [result] = run["windows"]
    assert result["settled"] and result["winner"] == fake.window_at("btc", START).outcome
    frames = window_frames(WindowSpec(file=str(first), asset="btc", start=START))
    engine = run_window(frames.frames, frames.header, load_settings(environ={}, dotenv=None))
    assert engine.snapshot is not None and engine.snapshot.fair_up is not None
    # no credential in the logs or the files
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for secret in (SECRET, PASSPHRASE, KEY):
        assert secret not in text
        for path in (first, second):
            assert all(secret not in frame for _, frame in reference_lines(path))
            assert secret.encode() not in path.read_bytes()


async def test_a_refused_reference_feed_never_stops_the_market_recording(
    loopback_clock: trio.abc.Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake = FakePolymarket(["btc"], START, windows=1)
    clock = UnixClock.starting_at((START - 30) * NS)
    polybolt = FakePolyBolt(KEY, SECRET, PASSPHRASE, [Session(auth="error")], clock=clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.run, clock)
        url = await nursery.start(polybolt.serve)
        settings = PolymarketSettings(
            gamma_url=fake.gamma_url, clob_url=fake.clob_url, market_ws_url=fake.ws_url
        )
        feed = PolyBoltFeed(url, ["btc"], ApiCredentials(KEY, "wrong-" + SECRET, PASSPHRASE))
        recorder = Recorder(settings, ["btc"], tmp_path, clock=clock, resolution_wait=20,
                            reference=feed)
        await nursery.start(recorder.run)
        await trio.sleep_until(clock.trio_time((START + 900 + 30) * NS))
        assert not recorder.open
        nursery.cancel_scope.cancel()
    assert feed.state == "failed" and polybolt.connections == 1
    gave_up = [r.getMessage() for r in caplog.records
               if "reference feed gave up" in r.getMessage()]
    assert len(gave_up) == 1 and "recording the market channel only" in gave_up[0]
    path = tmp_path / f"btc-updown-15m-{START}.zst"
    assert reference_lines(path) == []
    _, market, count = books_of(path)
    assert count >= fake.window_at("btc", START).delivered > 0
    text = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert SECRET not in text and PASSPHRASE not in text


def test_record_picks_the_reference_feed_as_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def feed(**env: str) -> object:
        environ = {f"GABAGOOL_{k.upper()}": v for k, v in env.items()}
        return reference_feed(load_settings(environ=environ, dotenv=None), ["btc"])

    assert feed(reference_source="off") is None
    assert type(feed(reference_source="auto")).__name__ == "RtdsFeed"
    keys = {"polymarket_api_key": KEY, "polymarket_api_secret": SECRET,
            "polymarket_api_passphrase": PASSPHRASE}
    assert type(feed(reference_source="auto", **keys)).__name__ == "PolyBoltFeed"
    # polybolt without the credentials: a one-line usage error before anything connects
    for name in list(os.environ):
        if name.startswith("GABAGOOL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("GABAGOOL_REFERENCE_SOURCE", "polybolt")
    assert cli_main(["record", "--assets", "btc", "--out", str(tmp_path)]) == 2
    assert "needs polymarket.api_key" in capsys.readouterr().err


def test_a_reconnect_in_a_recording_does_not_hide_the_new_connections_prices(
    tmp_path: Path,
) -> None:
    """A reconnect restarts PolyBolt's `seq` with a snapshot: replayed, the new connection's
    frames are prices, not duplicates of the old connection's."""
    from gabagool.engine.core.fair import ReferenceState
    from gabagool.fair_value import FairSettings
    from gabagool.sim.wire import SPOT_CHANNEL, ReferenceWire
    from gabagool.venues.base import ReferenceFrame

    header = RecordingHeader(source="polymarket", markets=[])
    recording = AppendingRecording(tmp_path / "btc.zst", header)
    t_ms = START * 1000
    for _connection in range(2):
        wire = ReferenceWire("btcusd", 60)  # seq starts again
        recording.write(t_ms * 1_000_000, wire.snapshot(SPOT_CHANNEL, t_ms, [(t_ms, 9 * 10**12)]),
                        "ref")
        for _ in range(5):
            t_ms += 1000
            recording.write(t_ms * 1_000_000, wire.update(SPOT_CHANNEL, t_ms, t_ms, 9 * 10**12),
                            "ref")
    recording.close()
    state = ReferenceState("btc", START * 1000, (START + 900) * 1000, FairSettings(), None)
    for line in reference_lines(recording.path):
        state.on_frame(ReferenceFrame(line[1]))
    assert state.ticks == 12 and state.counters.duplicates == 0


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
            "GABAGOOL_REFERENCE_SOURCE": "off",  # `auto` would reach the public RTDS
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
