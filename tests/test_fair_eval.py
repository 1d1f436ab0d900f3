"""The fair-value evaluator runs on a few simulated windows, gives sane figures, and gives the
same figures twice."""

from __future__ import annotations

import json
import logging
import math

import pytest
from gabagool import fair_eval
from gabagool.fair_value import FairSettings

SEED = 4242  # used by no other test


@pytest.fixture(scope="module")
def tapes() -> list[fair_eval.Tape]:
    return list(fair_eval.record_windows(["btc", "xrp"], 2, SEED))


def test_tapes_hold_what_the_engine_sees_in_receive_order(tapes: list[fair_eval.Tape]) -> None:
    assert len(tapes) == 4
    for tape in tapes:
        times = [t for t, _, _ in tape.events]
        assert times == sorted(times)
        assert tape.start_ms <= times[0] and times[-1] <= tape.end_ms + 2_000
        mids = [v for _, kind, v in tape.events if kind == fair_eval.MID]
        assert mids and all(v is None or 0 < v < 1_000_000 for v in mids)
        spots = [tape.ticks[v] for _, kind, v in tape.events if kind == fair_eval.TICK]
        assert sum(t.kind == "spot" for t in spots) > 800  # about one a second
        assert set(tape.true_at) == set(fair_eval.sample_seconds())
        assert all(0 <= p <= 1_000_000 for p in tape.true_at.values())
        assert tape.winner in ("up", "down")


def test_figures_are_finite_in_range_and_the_same_twice(tapes: list[fair_eval.Tape]) -> None:
    make = fair_eval.default_fair(FairSettings())
    report = fair_eval.evaluate(tapes, make)
    assert report.windows == 4 and report.missing == 0
    assert set(report.log_loss) == set(fair_eval.HORIZONS_S)
    for losses in report.log_loss.values():
        for value in losses.values():
            assert value is not None and math.isfinite(value) and 0 <= value < 14
    # samples every 10 s from T-890 s to T-60 s: 84 a window
    assert report.mae_samples == 4 * 84
    assert 0 < report.mae_fair < 0.2 and 0 < report.mae_mid < 0.2
    again = fair_eval.evaluate(list(fair_eval.record_windows(["btc", "xrp"], 2, SEED)), make)
    assert again == report
    # the model alone is another forecast: the evaluator tells them apart
    model_only = fair_eval.evaluate(tapes, fair_eval.default_fair(FairSettings(model_weight=1000)))
    assert model_only.mae_fair != report.mae_fair and model_only.mae_mid == report.mae_mid


def test_the_command_prints_a_table_or_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert fair_eval.main(["--windows", "1", "--seed", str(SEED), "--assets", "eth", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["windows"] == 1 and set(data["log_loss"]) == {"600", "300", "120", "30"}
    assert data["mae_samples"] == 84 and data["assets"] == ["eth"]
    assert fair_eval.main(["--windows", "1", "--seed", str(SEED), "--assets", "eth"]) == 0
    text = capsys.readouterr().out
    assert "T-600s" in text and "T-30s" in text and "mean absolute error" in text
    with pytest.raises(SystemExit):
        fair_eval.main(["--windows", "0"])
    # the reader's warnings are quiet during a run only
    assert logging.getLogger(fair_eval.READER_LOG).level == logging.NOTSET


def test_seeds_pool_their_windows_and_keep_each_seeds_own_difference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    seeds = [SEED, SEED + 1]
    alone = {s: fair_eval.run(["btc", "sol"], 1, s) for s in seeds}
    pooled = fair_eval.run_seeds(["btc", "sol"], 1, seeds)
    assert pooled.windows == 4 and pooled.seeds == tuple(seeds)
    assert pooled == fair_eval.run_seeds(["btc", "sol"], 1, seeds)  # deterministic
    for h in fair_eval.HORIZONS_S:
        # a seed inside the pool scores as it does alone; equal counts: the pool is the mean
        for s in seeds:
            assert pooled.seed_difference[s][h] == pytest.approx(alone[s].difference[h])
        mean = sum(alone[s].difference[h] for s in seeds) / 2
        assert pooled.difference[h] == pytest.approx(mean)
        for name in ("mid", "fair", "true"):
            both = sum(alone[s].log_loss[h][name] or 0.0 for s in seeds) / 2
            assert pooled.log_loss[h][name] == pytest.approx(both)
        low, high = pooled.ci95(h)
        assert low <= pooled.difference[h] <= high
        assert high - low == pytest.approx(2 * fair_eval.Z95 * pooled.difference_se[h])
        assert pooled.difference_se[h] > 0
    assert pooled.mae_samples == sum(alone[s].mae_samples for s in seeds)
    argv = ["--windows", "1", "--seeds", str(SEED), str(SEED + 1), "--assets", "btc", "sol"]
    assert fair_eval.main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["seeds"] == seeds and data["windows"] == 4 and "seed" not in data
    assert set(data["difference_ci95"]) == {"600", "300", "120", "30"}
    assert set(data["seed_difference"]) == {str(s) for s in seeds}
    assert fair_eval.main(argv) == 0
    text = capsys.readouterr().out
    assert f"seeds {SEED} {SEED + 1} pooled" in text and "95% CI" in text
    assert f"fair - mid on seed {SEED + 1} alone" in text
    with pytest.raises(SystemExit):
        fair_eval.main(["--seed", "1", "--seeds", "2", "3"])
