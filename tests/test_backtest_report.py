"""The HTML report: every plot written, non-empty, referenced by index.html, nothing external."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from gabagool.backtest.reference import reference_windows
from gabagool.cli import main


def test_report_is_self_contained_with_every_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    args = ["backtest", "--sim", "3", "--assets", "btc", "--windows", "2", "--jobs", "1"]
    assert main([*args, "--report", str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    labels = [r["label"] for r in document["runs"]]
    assert labels[0] == "settings" and any("original rule" in label for label in labels)
    index = (out / "index.html").read_text()
    plots = sorted(p.name for p in out.glob("*.png"))
    assert plots == [
        "attribution.png",
        "cumulative_pnl.png",
        "pair_cost_delta.png",
        "pnl_per_window.png",
        "timeline.png",
    ]
    for name in plots:
        assert (out / name).stat().st_size > 1000
        assert f'data-file="{name}"' in index and f'href="{name}"' in index
    assert index.count('src="data:image/png;base64,') == len(plots)
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]", index.replace("data:image", ""))
    assert "<script" not in index
    assert json.loads((out / "backtest.json").read_text()) == document
    assert "btc-updown-15m-1767556800" in index  # the gabagool22 reference table


def test_gabagool22_reference_matches_its_readme() -> None:
    windows = reference_windows()
    assert len(windows) == 12
    pairs = sorted(w.pair_cost for w in windows if w.pair_cost)
    assert (pairs[0], pairs[-1]) == ("0.9455", "1.0109")
    deltas = sorted(float(w.final_delta) for w in windows)
    assert (deltas[0], deltas[-1]) == (-319.01, 329.16)
    assert sum(w.fills for w in windows) == 2793
