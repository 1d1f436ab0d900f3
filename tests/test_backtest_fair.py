"""A backtest reports the underlying as the engine's core held it: S_open and how it was known,
Up's fair value beside the mid at T-600/-300/-120/-30 s, and what the fair-value gate did;
reading it changes none of the engine's decisions."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from gabagool.backtest.fair import usd_price, window_line
from gabagool.backtest.one import run_one
from gabagool.backtest.result import to_json
from gabagool.backtest.spec import WindowSpec, window_frames
from gabagool.cli import main
from gabagool.config import load_settings
from gabagool.engine import backtest_loop
from gabagool.engine.backtest_loop import FAIR_HORIZONS_S, run_window
from gabagool.sim import DEFAULT_START
from gabagool.types import NS

SPEC = WindowSpec(seed=1000, asset="btc", start=DEFAULT_START)


def settings():  # type: ignore[no-untyped-def]
    return load_settings(environ={}, dotenv=None)


def test_a_simulated_window_carries_the_cores_fair_value_beside_the_mid() -> None:
    result = run_one(SPEC, settings())
    fair = result.fair
    assert fair is not None
    assert fair.open is not None and fair.open > 0 and fair.open_how == "price to beat"
    assert fair.ticks > 800  # the spot about once a second, and the TWAP
    assert [s.seconds_left for s in fair.samples] == list(FAIR_HORIZONS_S)
    for sample in fair.samples:
        # reference frames arrive from the window's start: known at every horizon
        assert sample.fair_up is not None and 0 <= sample.fair_up <= 1_000_000
        assert sample.mid is not None and 0 < sample.mid < 1_000_000
    assert fair.reference_winner == result.winner and not fair.resolution_disagrees
    assert fair.gate_dropped >= 0 and fair.gate_lowered >= 0
    shown = to_json(result)["fair"]
    assert isinstance(shown, dict)
    assert Fraction(shown["open"]) == Fraction(fair.open, 10**18)
    assert set(shown["at"]) == {str(h) for h in FAIR_HORIZONS_S}
    for sample in shown["at"].values():
        assert 0 <= Fraction(sample["fair_up"]) <= 1 and 0 < Fraction(sample["mid"]) < 1
    line = window_line({**to_json(result), "fair": shown})
    assert line.startswith("seed 1000 btc #0: open $") and "(price to beat)" in line
    assert "fair up vs mid: T-600 s 0." in line and "T-30 s" in line


def test_a_sample_is_what_the_core_held_at_its_horizon() -> None:
    """Cut the window's frames at T-300 s: the core then holds at its end what the full run
    held at T-300 s, and the sample is the same."""
    window = window_frames(SPEC)
    full = run_window(window.frames, window.header, settings(), outcome=window.outcome)
    cut_ns = (window.header.end - 300) * NS
    cut = run_window(
        [f for f in window.frames if f[0] <= cut_ns],
        window.header,
        settings(),
        outcome=window.outcome,
    )
    assert full.fair is not None and cut.fair is not None
    assert full.fair.samples[:2] == cut.fair.samples[:2]  # T-600 s and T-300 s
    assert cut.fair.samples[1].seconds_left == 300


def test_reading_the_fair_value_changes_no_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    window = window_frames(SPEC)
    sampled = run_window(window.frames, window.header, settings(), outcome=window.outcome)
    monkeypatch.setattr(backtest_loop._FairSampler, "frames", lambda self, frames: frames)
    unsampled = run_window(window.frames, window.header, settings(), outcome=window.outcome)
    assert sampled.fills == unsampled.fills and sampled.journal == unsampled.journal
    assert sampled.settlement_pnl == unsampled.settlement_pnl
    assert sampled.fair is not None and unsampled.fair is not None
    assert sampled.fair.samples and not unsampled.fair.samples


def test_without_a_reference_feed_there_is_no_fair_value() -> None:
    off = settings()
    off.reference.source = "off"
    result = run_one(SPEC, off)
    assert result.fair is None and to_json(result)["fair"] is None


ARGS = ["backtest", "--sim", "1000", "--assets", "btc", "--windows", "2", "--no-baselines"]


def test_the_backtest_json_and_table_show_fair_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--json", "--jobs", "1"]) == 0
    document = json.loads(capsys.readouterr().out)
    (run,) = document["runs"]
    for window in run["windows"]:
        fair = window["fair"]
        assert float(fair["open"]) > 0 and fair["reference_ticks"] > 0
        for sample in fair["at"].values():
            assert 0 <= float(sample["fair_up"]) <= 1 and 0 < float(sample["mid"]) < 1
    totals = run["totals"]["fair"]
    assert totals["windows"] == 2 and totals["resolution_disagreements"] == 0
    for losses in totals["log_loss"].values():
        assert losses["windows"] == 2 and 0 <= float(losses["fair"]) < 14
    assert main([*ARGS, "--jobs", "1"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal's width
    assert "fair value ('settings'): known in 2 of 2 windows" in text
    assert "seed 1000 btc #1: open $" in text and " vs " in text


def test_reference_prices_read_as_dollars() -> None:
    assert usd_price("97123.45678900") == "$97,123.45"
    assert usd_price("2.12345678") == "$2.1234"
    assert usd_price(None) == "-"
