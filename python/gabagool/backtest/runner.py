"""Many windows at once: a process pool by default, any `concurrent.futures.Executor`, or a
Dask cluster. Results come back sorted by (settings label, spec), whatever finished first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from gabagool.backtest.one import run_one
from gabagool.backtest.result import WindowResult
from gabagool.backtest.spec import WindowSpec
from gabagool.config import Settings

Progress = Callable[[int], None]  # called with the number of windows just finished


class InlineExecutor(Executor):
    """Runs each task at `submit`, in this process: `--jobs 1`, and tests."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def open_executor(jobs: int | None = None, cluster: str | None = None) -> Iterator[Executor]:
    """A process pool of `jobs` workers (all cores by default; 1: in this process), or the
    executor of a Dask cluster at `cluster` (tcp://HOST:PORT)."""
    if cluster is not None:
        from distributed import Client

        client = Client(cluster, set_as_default=False)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs {jobs}: expected at least 1")
    if jobs == 1:
        yield InlineExecutor()
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield pool


def _task(spec: WindowSpec, settings: Settings) -> WindowResult:
    return run_one(spec, settings)


def run_windows(
    runs: Sequence[tuple[str, Settings]],
    specs: Sequence[WindowSpec],
    executor: Executor,
    progress: Progress | None = None,
) -> dict[str, list[WindowResult]]:
    """Every window of `specs` under each (label, settings); per label, sorted by spec."""
    futures: dict[Future[WindowResult], str] = {}
    for label, settings in runs:
        for spec in specs:
            futures[executor.submit(_task, spec, settings)] = label
    out: dict[str, list[WindowResult]] = {label: [] for label, _ in runs}
    for future in as_completed(futures):
        out[futures[future]].append(future.result())
        if progress is not None:
            progress(1)
    for results in out.values():
        results.sort(key=lambda r: r.spec)
    return out
