"""`gabagool sim`: write a recording of simulated windows (see docs/SIMULATOR.md)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import msgspec

from gabagool.cli import UsageError
from gabagool.commands.paths import check_output_file
from gabagool.recording import MARKET_SOURCE, RecordingHeader, RecordingWriter
from gabagool.sim import ASSETS, DEFAULT_START, run_frames, simulate

MAX_WINDOWS = 96 * 366  # a year of 15-minute windows: more is surely a typo
MAX_SEED = 2**63 - 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="write a recording of simulated 15-minute windows",
        description="Simulate consecutive 15-minute Up or Down windows of one asset and write "
        "them as a recording (zstd JSON lines of exchange-format frames), deterministic for a "
        "seed.",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="recording to write")
    parser.add_argument(
        "--asset", default="btc", help=f"one of {', '.join(sorted(ASSETS))} (default: btc)"
    )
    parser.add_argument("--windows", default="1", metavar="N", help="windows (default: 1)")
    parser.add_argument("--seed", default="0", metavar="N", help="random seed (default: 0)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=run)


def _count(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{name} {text!r} is not an integer") from None
    if not low <= value <= high:
        raise UsageError(f"{name} {value} out of range [{low}, {high}]")
    return value


def run(args: argparse.Namespace) -> int:
    windows = _count("--windows", args.windows, 1, MAX_WINDOWS)
    seed = _count("--seed", args.seed, 0, MAX_SEED)
    if args.asset not in ASSETS:
        raise UsageError(f"unknown asset {args.asset!r} (known: {', '.join(sorted(ASSETS))})")
    out = Path(args.out)
    check_output_file(out, "--out")

    began = time.perf_counter()
    sims = list(simulate(args.asset, windows, seed))
    header = RecordingHeader(
        source="sim",
        markets=[sim.header for sim in sims],
        created_ns=DEFAULT_START * 1_000_000_000,
        seed=seed,
    )
    # Written beside the target and renamed, so a failed run never leaves half a recording.
    partial = out.with_name(f".{out.name}.partial")
    try:
        frames = reference = 0
        with RecordingWriter(partial, header) as writer:
            for t_ns, source, frame in run_frames(sims):
                writer.write(t_ns, frame, source)
                if source == MARKET_SOURCE:
                    frames += 1
                else:
                    reference += 1
        os.replace(partial, out)
    except OSError as exc:
        with contextlib.suppress(OSError):  # it may never have been created
            partial.unlink(missing_ok=True)
        print(f"gabagool sim: cannot write {str(out)!r}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - began
    size = out.stat().st_size
    if args.json:
        summary = {
            "out": str(out),
            "asset": args.asset,
            "seed": seed,
            "windows": windows,
            "frames": frames,
            "reference_frames": reference,
            "bytes": size,
            "seconds": round(seconds, 3),
            "outcomes": [sim.outcome for sim in sims],
        }
        print(msgspec.json.encode(summary).decode())
    else:
        print(
            f"wrote {str(out)!r}: {windows} window(s) of {args.asset}, {frames} frames "
            f"and {reference} reference frames, {size} bytes in {seconds:.2f} s"
        )
    return 0

