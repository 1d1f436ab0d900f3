"""One row of a bench's results, as `run.py` prints it and saves it as JSON."""

from __future__ import annotations


def result_row(
    bench: str, what: str, value: float, unit: str, target: str, ok: bool, before: str = "-"
) -> dict:
    return {
        "bench": bench,
        "what": what,
        "value": value,
        "unit": unit,
        "target": target,
        "ok": ok,
        "before": before,
    }
