"""`gabagool run` checks every argument before it starts: one line on stderr, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import assert_one_line_failure, gabagool, read_only_dir

# a run that would trade for a while if its arguments were accepted
BASE = ("run", "--no-view", "--speed", "100", "--duration", "900", "--start", "1767225600")


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (("--assets", "doge"), "the simulated feed has no doge market"),
        (("--assets", "btc,btc"), "engine.assets: btc named more than once"),
        (("--start", "-900"), "--start -900 is out of range"),
        (("--start", "1" + "0" * 23), "is out of range"),
        (("--start", "1e23"), "invalid int value: '1e23'"),
        (("--start", "1767225601"), "is not a multiple of 900"),
        (("--speed", "inf"), "engine.speed: Infinity is not a finite number"),
        (("--speed", "nan"), "engine.speed: NaN is not a finite number"),
        (("--speed", "1e-30"), "engine.speed: 1E-30 is out of range"),
        (("--duration", "Infinity"), "engine.duration: Infinity is not a finite number"),
        (("--duration", "-5"), "engine.duration: -5 is out of range"),
        (("--seed", "-1"), "engine.seed: -1 is out of range"),
        (("--store", "redis://[::1/0"), "not a valid URL"),
        (("--store", "redis://localhost:6379/zero"), "database 'zero' is not a number"),
        (("--feed", "replay:/nonexistent.zst"), "recording /nonexistent.zst does not exist"),
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2_before_anything_starts(
    tmp_path: Path, flags: tuple[str, ...], fragment: str
) -> None:
    result = gabagool(*BASE, "--data-dir", str(tmp_path / "data"), *flags, cwd=tmp_path)
    assert_one_line_failure(result, "gabagool run", fragment, code=2)
    # refused before the engine started: it journaled nothing
    assert not (tmp_path / "data" / "journal.sqlite3").exists()


def test_a_summary_json_into_a_missing_directory_is_refused_before_the_run(
    tmp_path: Path,
) -> None:
    target = tmp_path / "missing" / "summary.json"
    result = gabagool(
        *BASE, "--data-dir", str(tmp_path), "--summary-json", str(target), cwd=tmp_path
    )
    assert_one_line_failure(result, f"directory {target.parent} does not exist", code=2)
    assert not (tmp_path / "journal.sqlite3").exists()


def test_a_summary_json_into_a_read_only_directory_is_refused_before_the_run(
    tmp_path: Path,
) -> None:
    with read_only_dir(tmp_path) as ro:
        result = gabagool(
            *BASE, "--data-dir", str(tmp_path), "--summary-json", str(ro / "s.json"), cwd=tmp_path
        )
    assert_one_line_failure(result, "summary JSON", "is not writable", code=2)
    assert not (tmp_path / "journal.sqlite3").exists()


def test_a_summary_json_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    result = gabagool(*BASE, "--data-dir", str(tmp_path), "--summary-json", str(tmp_path),
                      cwd=tmp_path)
    assert_one_line_failure(result, "is a directory", code=2)


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = gabagool(*BASE, "--data-dir", str(afile), cwd=tmp_path)
    assert_one_line_failure(result, f"data dir {afile} is a file, not a directory", code=2)


def test_a_read_only_data_dir_is_refused(tmp_path: Path) -> None:
    with read_only_dir(tmp_path) as ro:
        result = gabagool(*BASE, "--data-dir", str(ro), cwd=tmp_path)
    assert_one_line_failure(result, "data dir", code=2)


def test_absurd_amounts_are_refused_before_the_engine_sees_them(tmp_path: Path) -> None:
    for env, fragment in (
        ({"GABAGOOL_STRATEGY_TRADE_SIZE": "1e13"}, "strategy.trade_size: 1E+13 is out of range"),
        ({"GABAGOOL_RISK_MAX_CAPITAL": "1e30"}, "risk.max_capital: 1E+30 is out of range"),
    ):
        result = gabagool(*BASE, "--data-dir", str(tmp_path), cwd=tmp_path, env=env)
        assert_one_line_failure(result, fragment, code=2)
