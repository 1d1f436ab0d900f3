"""`gabagool run`'s arguments, checked before anything starts: one line and exit 2 otherwise.

Whatever the run would trip on later (an asset the feed cannot serve, a start no window has,
a summary that cannot be written after an hour of trading, a data dir that is a file) is
found here, before a window opens, so a bad flag never costs a run or its results.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gabagool.cli import UsageError
from gabagool.commands.paths import (
    check_directory,
    check_output_file,
    check_readable_file,
    probe_writable,
)
from gabagool.config import ConfigError, Settings, load_settings
from gabagool.store import StoreError
from gabagool.store.location import resolve_location
from gabagool.types import WINDOW_SECONDS

# a unix time whose nanoseconds fit the core's 64-bit timestamps with room to spare
MAX_START = 2**32


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The flags as `section.field` settings (None: not given)."""
    return {
        "engine.assets": args.assets,
        "engine.venue": args.venue,
        "engine.feed": args.feed,
        "engine.speed": args.speed,
        "engine.duration": args.duration,
        "engine.summary_json": args.summary_json,
        "engine.data_dir": args.data_dir,
        "engine.seed": args.seed,
        "engine.view": False if args.no_view else None,
        "store.url": args.store,
    }


def check_run_args(args: argparse.Namespace) -> Settings:
    """Check every argument and setting of a run; returns the settings (UsageError if not)."""
    try:
        settings = load_settings(args.config, overrides=run_overrides(args))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    engine = settings.engine
    if engine.venue != "paper":
        raise UsageError(
            f"--venue {engine.venue} (real orders) is not built yet: use --venue paper, "
            "which trades on paper against --feed sim, live or replay:FILE"
        )
    _check_start(args.start)
    if engine.feed == "live":
        _check_live(engine, args.start)
    elif engine.feed == "sim":
        _check_sim_assets(engine.assets)
    else:
        check_readable_file(Path(engine.feed.removeprefix("replay:")).expanduser(), "recording")
    data_dir = Path(engine.data_dir).expanduser()
    check_directory(data_dir, "data dir")
    check_directory(data_dir / "logs", "log dir")
    if engine.summary_json:
        check_output_file(Path(engine.summary_json).expanduser(), "summary JSON")
    try:
        where = resolve_location(settings.store.url, data_dir)
    except StoreError as exc:
        raise UsageError(f"--store: {exc}") from None
    if where.path is not None:
        _check_journal(where.path)
    return settings


def _check_start(start: int | None) -> None:
    if start is None:
        return
    if not 0 < start < MAX_START:
        raise UsageError(f"--start {start} is out of range, expected a unix time in (0, 2^32)")
    if start % WINDOW_SECONDS:
        raise UsageError(f"--start {start} is not a multiple of {WINDOW_SECONDS}")


def _check_live(engine: Any, start: int | None) -> None:
    if engine.speed != 1:
        raise UsageError(f"--speed {engine.speed}: live market data runs at the market's pace")
    if start is not None:
        raise UsageError("--start: live market data trades the window of now")


def _check_sim_assets(assets: list[str]) -> None:
    from gabagool.sim import ASSETS

    unknown = [asset for asset in assets if asset not in ASSETS]
    if unknown:
        raise UsageError(
            f"--assets: the simulated feed has no {', '.join(unknown)} market "
            f"(it simulates {', '.join(sorted(ASSETS))})"
        )


def _check_journal(path: Path) -> None:
    if path.is_dir():
        raise UsageError(f"--store {path} is a directory, not a journal file")
    if path.parent.exists():
        if not path.parent.is_dir():
            raise UsageError(f"--store {path}: {path.parent} is a file, not a directory")
        probe_writable(path.parent, "journal directory")
