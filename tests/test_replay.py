"""`gabagool replay FILE [--json]` and `gabagool.replay`: recordings through the core's books."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gabagool._core import Market
from gabagool.cli import main
from gabagool.recording import (
    FeeScheduleHeader,
    MarketHeader,
    RecordingHeader,
    read_recording,
    write_recording,
)
from gabagool.replay import replay_recording
from gabagool.sim import simulate

UP_A, DOWN_A = "1" * 77, "2" * 77
UP_B, DOWN_B = "3" * 77, "4" * 77


def window(slug: str, up: str, down: str, tick: str = "0.01") -> MarketHeader:
    return MarketHeader(
        asset="btc", slug=slug, condition_id="0x" + slug, up_token=up, down_token=down,
        start=0, end=900, tick_size=tick, min_order_size="5",
        fee_schedule=FeeScheduleHeader(rate="0.072"),
    )


def book(token: str, ts: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> str:
    return json.dumps({
        "event_type": "book", "asset_id": token, "timestamp": str(ts), "hash": f"h{ts}",
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
    })


def delta(ts: int, token: str, side: str, price: str, size: str, bid: str, ask: str) -> str:
    return json.dumps({
        "event_type": "price_change", "timestamp": str(ts), "price_changes": [
            {"asset_id": token, "price": price, "size": size, "side": side, "hash": "x",
             "best_bid": bid, "best_ask": ask}],
    })


@pytest.fixture
def two_windows(tmp_path: Path) -> Path:
    path = tmp_path / "two.zst"
    header = RecordingHeader(source="test", markets=[window("a", UP_A, DOWN_A),
                                                     window("b", UP_B, DOWN_B)])
    frames = [
        book(UP_A, 1, [("0.48", "10"), ("0.49", "5")], [("0.52", "7")]),
        book(UP_B, 1, [("0.30", "1")], [("0.70", "1")]),
        delta(2, UP_A, "BUY", "0.50", "3", "0.50", "0.52"),
        json.dumps({"event_type": "last_trade_price", "asset_id": DOWN_B, "price": "0.3",
                    "size": "2", "side": "BUY", "timestamp": "3"}),
        "not json at all",
        delta(4, UP_B, "SELL", "0.69", "1", "0.31", "0.69"),  # disagrees: best bid is 0.30
        book("9" * 77, 5, [], []),
    ]
    write_recording(path, header, [(i * 1000, frame) for i, frame in enumerate(frames)])
    return path


def test_json_report_gives_each_tokens_top_levels_and_counts(
    two_windows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(two_windows), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["frames"], report["frame_errors"], report["unrouted"]) == (7, 1, 1)
    rows = {(t["slug"], t["outcome"]): t for t in report["tokens"]}
    a_up = rows[("a", "up")]
    assert (a_up["best_bid_micros"], a_up["best_ask_micros"]) == (500_000, 520_000)
    assert (a_up["bid_levels"], a_up["ask_levels"], a_up["frames"]) == (3, 1, 2)
    assert (a_up["resyncs"], a_up["errors"], a_up["needs_resync"]) == (0, 0, False)
    b_up = rows[("b", "up")]
    assert (b_up["best_bid_micros"], b_up["best_ask_micros"]) == (None, None)
    assert (b_up["resyncs"], b_up["errors"], b_up["needs_resync"]) == (1, 1, True)
    assert rows[("b", "down")]["trades"] == 1
    assert rows[("a", "down")]["frames"] == 0


def test_text_report_is_a_table_with_one_row_per_token(
    two_windows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(two_windows)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["window", "side", "bid", "ask", "levels", "frames", "trades",
                                "resyncs", "errors"]
    assert lines[1].split() == ["a", "up", "0.5", "0.52", "3/1", "2", "0", "0", "0"]
    assert lines[3].split()[:3] == ["b", "up", "(resync)"]
    assert lines[-1] == "7 frames, 1 unreadable, 1 naming no window"


def test_a_missing_or_broken_file_is_a_one_line_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "absent.zst")]) == 2
    assert "is not a file" in capsys.readouterr().err
    broken = tmp_path / "broken.zst"
    broken.write_bytes(b"plain text, not zstd")
    assert main(["replay", str(broken), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gabagool replay: ") and "not a zstd file" in err
    assert "\n" not in err


def test_replay_of_a_simulated_recording_matches_each_window_fed_alone(tmp_path: Path) -> None:
    windows = list(simulate("eth", 2, seed=7))
    path = tmp_path / "sim.zst"
    header = RecordingHeader(source="sim", markets=[w.header for w in windows])
    frames = [frame for w in windows for frame in w.frames()]
    write_recording(path, header, frames)
    report = replay_recording(path)
    assert report.frames == len(frames) and report.frame_errors == 0
    _, recorded = read_recording(path)
    alone = {w.header.slug: Market(w.up_token, w.down_token) for w in windows}
    for item in recorded:
        for market in alone.values():
            market.apply_frame(item.frame)
    for token in report.tokens:
        market = alone[token.slug]
        market.end_batch()
        bid, ask = market.best_bid(token.outcome), market.best_ask(token.outcome)
        assert token.best_bid_micros == (bid[0] if bid else None)
        assert token.best_ask_micros == (ask[0] if ask else None)
        assert token.bid_levels == len(market.levels(token.outcome, "bid"))
        assert token.trades == market.counters()[f"{token.outcome}_trades"] > 0
        assert token.errors == 0, "the simulator's frames are consistent"
        assert token.frames > 100


def test_reference_frames_are_counted_by_polybolt_channel_and_rtds_topic(tmp_path: Path) -> None:
    path = tmp_path / "ref.zst"
    header = RecordingHeader(source="test", markets=[window("a", UP_A, DOWN_A)])
    polybolt = {"v": 1, "channel": "price.crypto", "seq": 1, "ts": 1,
                "payload": {"symbol": "btcusd", "timestamp": 1, "value": 1,
                            "full_accuracy_value": "64000.5"}}
    rtds = {"topic": "crypto_prices_chainlink", "type": "update", "timestamp": 2,
            "payload": {"symbol": "btc/usd", "timestamp": 2, "value": 64000.5,
                        "full_accuracy_value": "64000500000000000000000"}}
    history = {"type": "subscribe", "payload": {"data": [{"timestamp": 1, "value": 64000.1}]}}
    frames = [(1, "ref", json.dumps(polybolt)), (2, "ref", json.dumps(rtds)),
              (3, "ref", json.dumps(rtds)), (4, "ref", json.dumps(history)),
              (5, book(UP_A, 5, [("0.48", "10")], [("0.52", "7")]))]
    write_recording(path, header, frames)  # type: ignore[arg-type]
    report = replay_recording(path).reference
    assert report.channels == {"crypto_prices_chainlink": 2, "price.crypto": 1}
    assert (report.frames, report.other) == (4, 1)
