"""Runs every benchmark module (`benches/bench_*.py`), prints one table, saves JSON results.

Each module exposes `run() -> list[dict]` with rows
`{"bench", "what", "value", "unit", "target", "ok"}` (and optionally "before": the figure
before the change the row tracks); its rows are written to
`benches/results/<module minus "bench_">.json` together with the machine they ran on.
`python benches/run.py core wire` runs only those modules; `python benches/run.py --markdown`
runs nothing and prints the saved results as the README's Markdown table.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> dict[str, object]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "rustc": rustc,
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        # wall-clock rows depend on what else runs: the 1-minute load average at the start
        "load_1min": round(os.getloadavg()[0], 2),
    }


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(HERE))
    spec.loader.exec_module(module)
    return module


def format_value(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def print_table(rows: list[dict]) -> None:
    headers = ("bench", "what", "value", "unit", "target", "ok", "before")
    cells = [
        (r["bench"], r["what"], format_value(r["value"]), r["unit"], r["target"],
         "yes" if r["ok"] else "NO", r.get("before", "-"))
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))


def print_markdown(paths: list[Path]) -> None:
    print("| bench | what | value | unit | target | met | before | load |")
    print("|---|---|---|---|---|---|---|---|")
    for path in paths:
        saved = json.loads(path.read_text())
        load_1min = saved["machine"].get("load_1min", "-")
        for r in saved["rows"]:
            met = "yes" if r["ok"] else "**no**"
            print(f"| {r['bench']} | {r['what']} | {format_value(r['value'])} | {r['unit']} | "
                  f"{r['target']} | {met} | {r.get('before', '-')} | {load_1min} |")


def main(argv: list[str]) -> int:
    if argv == ["--markdown"]:
        print_markdown(sorted(RESULTS.glob("*.json")))
        return 0
    wanted = set(argv)
    modules = sorted(HERE.glob("bench_*.py"))
    if wanted:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in wanted]
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
          f"{info['rustc']}, load {info['load_1min']}")
    print(f"command: make bench ({' '.join(['python', 'benches/run.py', *argv])})\n")
    RESULTS.mkdir(exist_ok=True)
    all_rows: list[dict] = []
    for path in modules:
        name = path.stem.removeprefix("bench_")
        print(f"running {name} ...", flush=True)
        rows = load(path).run()
        (RESULTS / f"{name}.json").write_text(
            json.dumps({"machine": info, "rows": rows}, indent=2) + "\n"
        )
        all_rows.extend(rows)
    print()
    print_table(all_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
