"""Store benchmark: fills per second the journal takes durably, on SQLite and on Redis.

Each fill is one `record_fill` that returns only once the fill and its position update are
committed: SQLite in WAL with `synchronous=FULL` (an fsync per fill), Redis with
`appendonly yes` + `appendfsync always` (an fsync per EXEC), and, for comparison, Redis with
no persistence (acknowledged in memory only). Measured both as plain calls and through the
Trio `Store` (a worker-thread hop per call), one writer, sequential, as the engine calls it.

The target: the engine's peak need is about 80 fills/s (4 assets x 2 sides, a fill every
100 ms each); a durable journal should take at least 100/s so it never sets the pace.
`python benches/bench_store.py` runs it alone; `make bench` runs it with the rest.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import trio
from gabagool.store import FillRecord, Journal, ThreadedStore, WindowRecord, open_journal

TARGET_FILLS_PER_S = 100
MAX_FILLS = 3_000
MAX_SECONDS = 3.0
WINDOW_ID = "btc-updown-15m-1764000000"


def row(what: str, value: float) -> dict:
    return {
        "bench": "store",
        "what": what,
        "value": value,
        "unit": "fills/s",
        "target": f">= {TARGET_FILLS_PER_S}",
        "ok": value >= TARGET_FILLS_PER_S,
    }


def fills() -> Iterator[FillRecord]:
    i = 0
    while True:
        yield FillRecord(
            trade_id=f"trade-{i}",
            order_id=f"order-{i // 3}",
            window_id=WINDOW_ID,
            outcome="up" if i % 2 else "down",
            side="buy",
            price_micros=400_000 + i % 1000,
            size_micros=10_000_000,
            fee_micros=i % 17,
            liquidity="maker",
            ts_ns=i,
        )
        i += 1


def prepare(journal: Journal) -> None:
    journal.clear()
    journal.record_window_opened(
        WindowRecord(
            window_id=WINDOW_ID,
            asset="btc",
            up_token="up",
            down_token="down",
            start_s=1_764_000_000,
            end_s=1_764_000_900,
            opened_ns=0,
        )
    )


def rate(record: Callable[[FillRecord], bool]) -> float:
    """Sequential fills per second, for up to MAX_FILLS or MAX_SECONDS."""
    count = 0
    source = fills()
    started = time.perf_counter()
    while count < MAX_FILLS and time.perf_counter() - started < MAX_SECONDS:
        if not record(next(source)):
            raise RuntimeError("a fresh fill was reported as already journaled")
        count += 1
    return count / (time.perf_counter() - started)


def rate_on_trio(journal: Journal) -> float:
    store = ThreadedStore(journal)

    async def main() -> float:
        count = 0
        source = fills()
        started = time.perf_counter()
        while count < MAX_FILLS and time.perf_counter() - started < MAX_SECONDS:
            await store.record_fill(next(source))
            count += 1
        return count / (time.perf_counter() - started)

    return trio.run(main)


def measure(name: str, location: str) -> list[dict]:
    journal = open_journal(location)
    try:
        prepare(journal)
        plain = rate(journal.record_fill)
        if journal.rebuild_positions()[WINDOW_ID] != journal.position_snapshot(WINDOW_ID):
            raise RuntimeError(f"{name}: the position is not the sum of its fills")
        prepare(journal)
        threaded = rate_on_trio(journal)
        return [row(f"{name}: record_fill", plain), row(f"{name}: Store.record_fill on Trio",
                                                         threaded)]
    finally:
        journal.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(workdir: Path, *persistence: str) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
         "--save", "", *persistence],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run() -> list[dict]:
    """Rows for benches/run.py. The temp dir must be on a real disk (not tmpfs) for the
    fsync numbers to mean anything: `findmnt -T "$TMPDIR"` tells."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        work = Path(tmp)
        rows += measure("sqlite WAL synchronous=FULL", str(work / "journal.sqlite3"))
        if shutil.which("redis-server") is None:
            print("bench_store: redis-server missing (`make dev` installs it); Redis skipped",
                  file=sys.stderr)
            return rows
        aof = work / "redis-aof"
        aof.mkdir()
        with redis_server(aof, "--appendonly", "yes", "--appendfsync", "always") as url:
            rows += measure("redis appendfsync=always", url)
        memory = work / "redis-memory"
        memory.mkdir()
        with redis_server(memory, "--appendonly", "no") as url:
            rows += measure("redis no persistence", url)
    return rows


if __name__ == "__main__":
    for r in run():
        print(f"{r['what']:<56} {r['value']:>10,.0f} {r['unit']}  target {r['target']}")
