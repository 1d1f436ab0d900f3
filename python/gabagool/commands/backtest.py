"""`gabagool backtest`: the engine over many simulated or recorded windows, on a virtual
clock, in parallel; totals with PnL attribution, sweeps, baselines and an HTML report."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from gabagool.backtest import plan
from gabagool.backtest.fair import run_lines
from gabagool.backtest.ranking import ranking_table
from gabagool.backtest.reference import reference_windows
from gabagool.backtest.result import dollars, to_json
from gabagool.backtest.runner import Progress, default_jobs, open_executor, run_windows
from gabagool.backtest.spec import SpecError, parse_seeds, recording_specs, sim_specs
from gabagool.backtest.stats import mean_ci, totals
from gabagool.cli import UsageError
from gabagool.config import ConfigError, micros

DEFAULT_WINDOWS = 96  # a simulated day per seed and asset


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "backtest",
        help="the engine over many simulated or recorded windows, in a plain loop",
        description="Backtest the engine (its window core and the paper venue, in a plain "
        "loop: deterministic, whatever the load) over simulator seeds x assets x "
        "windows, or over recordings. Prints totals with the PnL split, or JSON.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="recordings (instead of --sim)")
    parser.add_argument("--sim", metavar="SEEDS", help="simulator seeds: 1-20, 1,5,9 (default: 1)")
    parser.add_argument("--assets", metavar="LIST", help="comma-separated (default: btc,eth)")
    parser.add_argument(
        "--windows", metavar="N", type=int, help=f"per seed and asset (default: {DEFAULT_WINDOWS})"
    )
    parser.add_argument(
        "--variant", default="", metavar="V", help="simulator variation: vol=2,informed=0.5"
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings file")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="section.key=value"
    )
    parser.add_argument(
        "--sweep", action="append", default=[], metavar="KEY=A,B", help="a grid: section.key=a,b"
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip the baseline runs")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: cores)")
    group.add_argument("--cluster", metavar="URL", help="a Dask scheduler, tcp://HOST:PORT")
    parser.add_argument("--report", metavar="DIR", help="write DIR/index.html with plots")
    parser.add_argument("--out", metavar="FILE", help="also write the JSON to FILE")
    parser.add_argument("--json", action="store_true", help="print JSON, no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    assets = [a.strip() for a in (args.assets or "btc,eth").split(",") if a.strip()]
    try:
        if args.files:
            if args.sim:
                raise UsageError("give --sim SEEDS or recordings, not both")
            specs = recording_specs(args.files, assets if args.assets else None, args.windows)
        else:
            seeds = parse_seeds(args.sim or "1")
            specs = sim_specs(seeds, assets, args.windows or DEFAULT_WINDOWS, args.variant)
        sets = plan.parse_assignments(args.set, "--set")
        runs = plan.plan_runs(
            sets, plan.sweep_grid(args.sweep), args.config, baselines=not args.no_baselines
        )
    except (SpecError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: expected at least 1")
    total = len(specs) * len(runs)
    began = time.perf_counter()
    try:
        with (
            open_executor(args.jobs, args.cluster) as executor,
            _progress(total, quiet=args.json or not sys.stderr.isatty()) as progress,
        ):
            results = run_windows([(label, s) for label, s, _ in runs], specs, executor, progress)
    except OSError as exc:
        raise UsageError(f"--cluster {args.cluster}: {exc}") from None
    elapsed = time.perf_counter() - began
    document = _document(runs, results)
    encoded = msgspec.json.format(msgspec.json.encode(document)) + b"\n"
    if args.out:
        Path(args.out).write_bytes(encoded)
    if args.report:
        from gabagool.backtest.report import write_report

        index = write_report(Path(args.report), runs, results, specs, document)
        if not args.json:
            print(f"report: {index}")
    if args.json:
        sys.stdout.buffer.write(encoded)
    else:
        _print_table(document, len(specs), elapsed, args.jobs or default_jobs(), args.cluster)
    return 0


def _document(runs, results) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out_runs = []
    for label, settings, overrides in runs:
        windows = results[label]
        clip = micros(settings.strategy.trade_size, "strategy.trade_size")
        out_runs.append(
            {
                "label": label,
                "overrides": overrides,
                "totals": msgspec.to_builtins(totals(windows, clip)),
                "windows": [to_json(r) for r in windows],
            }
        )
    order = sorted(
        range(len(runs)),
        key=lambda i: (-mean_ci(results[runs[i][0]])[1], runs[i][0]),
    )
    return {
        "windows": len(next(iter(results.values()), [])),
        "ranking": [runs[i][0] for i in order],  # by the CI's lower bound, best first
        "runs": out_runs,
        "gabagool22": [msgspec.to_builtins(w) for w in reference_windows()],
    }


def _print_table(document, windows: int, elapsed: float, jobs: int, cluster: str | None) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{windows} windows a run, best first (by the 95% CI's lower bound)")
    headers, rows = ranking_table(document, terminal=True)
    for name in headers:
        table.add_column(name, justify="left" if name == "run" else "right")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console = Console()
    console.print(table)
    for line in run_lines(document["runs"][0]):
        console.print(line, highlight=False, markup=False)
    where = cluster or f"{jobs} job(s)"
    runs = len(document["runs"])
    console.print(
        f"{windows * runs} window runs in {elapsed:.1f} s on {where} "
        f"({elapsed / max(1, windows * runs):.3f} s a window run)"
    )


@contextmanager
def _progress(total: int, *, quiet: bool) -> Iterator[Progress | None]:
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    with Bar(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("windows", total=total)
        yield lambda n: bar.advance(task, n)


__all__ = ["dollars", "register", "run"]
