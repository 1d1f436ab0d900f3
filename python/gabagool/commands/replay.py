"""`gabagool replay FILE [--json]`: parse a recording into books, print final tops and counts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gabagool._core import format_micros
from gabagool.cli import UsageError
from gabagool.errors import CoreError
from gabagool.recording import RecordingError
from gabagool.replay import ReplayReport, replay_recording

COLUMNS = ("window", "side", "bid", "ask", "levels", "frames", "trades", "resyncs", "errors")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a recording through the books; print final tops and counts",
        description="Feed every frame of a recording through the core's frame parser and "
        "books, then print per token the final best bid/ask, the number of levels, and the "
        "frames, trades, resyncs needed and errors seen.",
    )
    parser.add_argument("file", metavar="FILE", help="recording (zstd JSON lines)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.set_defaults(handler=run)


def _price(micros: int | None) -> str:
    return "-" if micros is None else format_micros(micros)


def render(report: ReplayReport) -> str:
    rows = [COLUMNS]
    for t in report.tokens:
        rows.append(
            (
                t.slug,
                t.outcome + (" (resync)" if t.needs_resync else ""),
                _price(t.best_bid_micros),
                _price(t.best_ask_micros),
                f"{t.bid_levels}/{t.ask_levels}",
                str(t.frames),
                str(t.trades),
                str(t.resyncs),
                str(t.errors),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.append(
        f"{report.frames} frames, {report.frame_errors} unreadable, "
        f"{report.unrouted} naming no window"
    )
    reference = report.reference
    if reference.frames:
        by_channel = ", ".join(f"{n} {channel}" for channel, n in reference.channels.items())
        lines.append(f"{reference.frames} reference frames ({by_channel or 'none readable'})")
    return "\n".join(lines)


def warning(report: ReplayReport) -> str | None:
    """One line for stderr when reading the recording found problems."""
    counts = {kind: n for kind, n in report.issues.items() if n}
    if not counts:
        return None
    parts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
    first = report.issue_messages[0] if report.issue_messages else ""
    return f"gabagool replay: warning: {parts}; first: {first}"


def run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file!r} is not a file")
    try:
        report = replay_recording(path)
    except (RecordingError, CoreError) as exc:
        raise UsageError(str(exc)) from None
    problem = warning(report)
    if problem is not None:
        print(problem, file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(render(report))
    return 0
