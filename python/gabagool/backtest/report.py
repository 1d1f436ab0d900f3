"""The HTML report: one self-contained `index.html` (plots embedded as base64 PNG, no
script, no external link), the same plots beside it as files, and the run's JSON.

Plots (matplotlib, Agg): cumulative PnL of every run over the same windows, PnL per window
and the pair-cost and final-delta histograms of the first run, the PnL split of every run,
and the timeline of the first run's worst window (both books' tops, our resting bids, our
fills, delta), re-run here with the timeline recorded.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import msgspec  # noqa: E402

from gabagool.backtest.fair import up_price, usd_price  # noqa: E402
from gabagool.backtest.one import Timeline, run_with_timeline  # noqa: E402
from gabagool.backtest.ranking import ranking_table  # noqa: E402
from gabagool.backtest.result import WindowResult  # noqa: E402
from gabagool.backtest.spec import WindowSpec  # noqa: E402
from gabagool.config import Settings  # noqa: E402
from gabagool.types import PICOS  # noqa: E402

DPI = 90


def _png(fig: Any, path: Path) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = buffer.getvalue()
    path.write_bytes(data)
    return base64.b64encode(data).decode()


def _usd(picos: int) -> float:
    return picos / PICOS  # plotting only: figures are drawn, never decided on


def cumulative_pnl(results: Mapping[str, Sequence[WindowResult]]) -> Any:
    fig, ax = plt.subplots(figsize=(9, 4))
    for label, windows in results.items():
        total, curve = 0, []
        for r in windows:
            total += r.pnl
            curve.append(_usd(total))
        ax.plot(range(1, len(curve) + 1), curve, label=label, linewidth=1.2)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_xlabel("window (seed, asset, time order)")
    ax.set_ylabel("cumulative settlement PnL ($)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Cumulative PnL, every run on the same windows")
    return fig


def pnl_per_window(windows: Sequence[WindowResult], label: str) -> Any:
    fig, ax = plt.subplots(figsize=(9, 3))
    values = [_usd(r.pnl) for r in windows]
    ax.bar(
        range(1, len(values) + 1),
        values,
        color=["tab:green" if v >= 0 else "tab:red" for v in values],
        width=1.0,
    )
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_xlabel("window")
    ax.set_ylabel("PnL ($)")
    ax.set_title(f"PnL per window: {label}")
    return fig


SPLIT = (
    ("locked", "locked pairs"),
    ("unpaired", "unpaired settlement"),
    ("sells", "sells"),
    ("fees", "fees"),
    ("rebates", "rebates (est., not in PnL)"),
)


def attribution(results: Mapping[str, Sequence[WindowResult]]) -> Any:
    labels = list(results)
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(labels) + 2))
    width = 0.8 / len(SPLIT)
    for k, (field, name) in enumerate(SPLIT):
        values = [
            _usd(sum(getattr(r, field) for r in results[label])) / max(1, len(results[label]))
            for label in labels
        ]
        ax.barh([i + k * width for i in range(len(labels))], values, height=width, label=name)
    ax.set_yticks(
        [i + 0.4 - width / 2 for i in range(len(labels))],
        [_short(label) for label in labels],
        fontsize=7,
    )
    ax.axvline(0, color="grey", linewidth=0.6)
    ax.set_xlabel("$ per window")
    ax.legend(fontsize=7)
    ax.set_title("Where the money goes (mean per window)")
    return fig


def _short(label: str, width: int = 40) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def histograms(windows: Sequence[WindowResult], label: str) -> Any:
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    pairs = [float(p) for r in windows if (p := r.pair_cost_fraction) is not None]
    left.hist(pairs, bins=30, color="tab:blue")
    left.set_xlabel("pair cost ($, fees included)")
    left.set_ylabel("windows")
    left.set_title("Pair cost")
    deltas = [r.delta / 1e6 for r in windows]
    right.hist(deltas, bins=30, color="tab:orange")
    right.set_xlabel("final delta (shares, Up - Down)")
    right.set_title("Final delta")
    fig.suptitle(label, fontsize=8)
    return fig


def timeline_plot(line: Timeline, result: WindowResult) -> Any:
    fig, (prices, delta) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, height_ratios=(3, 1))

    def series(values: Sequence[int | None]) -> list[float]:
        return [v / 1e6 if v is not None else float("nan") for v in values]

    prices.plot(line.t, series(line.up_bid), color="tab:green", linewidth=0.8, label="Up bid")
    prices.plot(
        line.t, series(line.up_ask), color="tab:green", linewidth=0.8, linestyle=":", label="Up ask"
    )
    prices.plot(line.t, series(line.down_bid), color="tab:red", linewidth=0.8, label="Down bid")
    prices.plot(
        line.t,
        series(line.down_ask),
        color="tab:red",
        linewidth=0.8,
        linestyle=":",
        label="Down ask",
    )
    for outcome, price, start, end in line.bids:
        color = "tab:green" if outcome == "up" else "tab:red"
        prices.hlines(price / 1e6, start, end, colors=color, linewidth=3, alpha=0.35)
    for t, outcome, action, price, _size, maker in line.fills:
        prices.scatter(
            [t],
            [price / 1e6],
            marker="^" if action == "buy" else "v",
            color="tab:green" if outcome == "up" else "tab:red",
            edgecolors="black" if maker else "none",
            s=30,
            zorder=3,
        )
    prices.set_ylabel("price ($)")
    prices.legend(fontsize=7, loc="best")
    prices.set_title(f"{result.spec.label}: our bids (bands), fills (triangles; outlined = maker)")
    delta.plot(line.t, [d / 1e6 for d in line.delta], color="black", linewidth=1)
    delta.axhline(0, color="grey", linewidth=0.6)
    delta.set_ylabel("delta (shares)")
    delta.set_xlabel("seconds into the window")
    return fig


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape('-' if c is None else str(c))}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1100px; }
table { border-collapse: collapse; font-size: 12px; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; }
"""


def _fair_table(run: Mapping[str, Any]) -> str:
    totals = run["totals"].get("fair")
    if totals is None:
        return "<p>No reference feed in these windows: no fair value.</p>"
    horizons = list(totals["log_loss"])
    losses = _table(
        ["log loss against the winner", *(f"T-{h} s" for h in horizons)],
        [
            [name, *(totals["log_loss"][h][name] for h in horizons)]
            for name in ("fair", "mid")
        ],
    )

    def at(fair: Mapping[str, Any], horizon: str) -> str:
        sample = fair["at"].get(horizon)
        if sample is None:
            return "-"
        stale = "~" if sample["stale"] else ""
        return f"{up_price(sample['fair_up'])}{stale} / {up_price(sample['mid'])}"

    rows = []
    for w in run["windows"]:
        fair = w["fair"]
        if fair is None:
            rows.append([w["window"], "-", "-", *("-" for _ in horizons), w["winner"], "-", "-"])
            continue
        rows.append(
            [
                w["window"],
                usd_price(fair["open"]),
                fair["open_how"],
                *(at(fair, h) for h in horizons),
                w["winner"],
                (fair["reference_winner"] or "-")
                + (" (!)" if fair["resolution_disagrees"] else ""),
                f"{fair['gate_dropped']} / {fair['gate_lowered']}",
            ]
        )
    windows = _table(
        [
            "window",
            "open",
            "open from",
            *(f"fair / mid T-{h} s" for h in horizons),
            "winner",
            "reference's winner",
            "gate dropped / lowered",
        ],
        rows,
    )
    return losses + windows


def write_report(
    directory: Path,
    runs: Sequence[tuple[str, Settings, dict[str, str]]],
    results: Mapping[str, Sequence[WindowResult]],
    specs: Sequence[WindowSpec],
    document: Mapping[str, Any],
) -> Path:
    """Writes DIR/index.html, DIR/*.png and DIR/backtest.json; returns the index's path."""
    directory.mkdir(parents=True, exist_ok=True)
    first_label, first_settings, _ = runs[0]
    first = results[first_label]
    plots: list[tuple[str, str, str]] = []  # (file, title, base64)

    def add(name: str, title: str, fig: Any) -> None:
        plots.append((name, title, _png(fig, directory / name)))

    add("cumulative_pnl.png", "Cumulative PnL", cumulative_pnl(results))
    add("pnl_per_window.png", "PnL per window", pnl_per_window(first, first_label))
    add("attribution.png", "PnL split", attribution(results))
    add("pair_cost_delta.png", "Pair cost and final delta", histograms(first, first_label))
    if first:
        worst = min(first, key=lambda r: (r.pnl, r.spec))
        result, line = run_with_timeline(worst.spec, first_settings)
        add(
            "timeline.png",
            f"Timeline of the worst window of '{first_label}'",
            timeline_plot(line, result),
        )
    (directory / "backtest.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(document)) + b"\n"
    )

    by_label = {r["label"]: r for r in document["runs"]}
    ranking = _table(*ranking_table(document, terminal=False))
    overrides = _table(
        ["run", "settings changed"],
        [
            [r["label"], ", ".join(f"{k}={v}" for k, v in r["overrides"].items()) or "(defaults)"]
            for r in document["runs"]
        ],
    )
    reference = _table(
        [
            "window",
            "fills",
            "merges",
            "shares Up",
            "shares Down",
            "VWAP Up",
            "VWAP Down",
            "pair cost",
            "final delta",
            "winner (inferred)",
            "PnL $",
        ],
        [
            [
                w["slug"],
                w["fills"],
                w["merges"],
                w["shares_up"],
                w["shares_down"],
                w["vwap_up"],
                w["vwap_down"],
                w["pair_cost"],
                w["final_delta"],
                w["winner_inferred"],
                w["pnl"],
            ]
            for w in document["gabagool22"]
        ],
    )
    windows_table = _table(
        [
            "window",
            "winner",
            "PnL",
            "locked",
            "unpaired",
            "sells",
            "fees",
            "pair cost",
            "final delta",
            "paired",
            "fills (maker)",
            "volume",
            "largest unhedged $",
            "halted",
        ],
        [
            [
                w["window"],
                w["winner"],
                w["pnl"],
                w["locked"],
                w["unpaired"],
                w["sells"],
                w["fees"],
                w["pair_cost"],
                w["final_delta"],
                w["paired"],
                f"{w['fills']} ({w['maker_fills']})",
                w["volume_shares"],
                w["max_unhedged_usd"],
                w["halted"],
            ]
            for w in by_label[first_label]["windows"]
        ],
    )
    fair_table = _fair_table(by_label[first_label])
    figures = "".join(
        f'<h3>{html.escape(title)}</h3><img alt="{html.escape(title)}" data-file="{name}" '
        f'src="data:image/png;base64,{data}">'
        for name, title, data in plots
    )
    files = ", ".join(f'<a href="{name}">{name}</a>' for name, _, _ in plots)
    sources = sorted({s.file or f"simulator seed {s.seed}" for s in specs})
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>gabagool backtest</title><style>{STYLE}</style></head>
<body>
<h1>gabagool backtest</h1>
<p>{len(specs)} windows a run ({html.escape(_short(", ".join(sources), 300))}; assets
{html.escape(", ".join(sorted({s.asset for s in specs})))}). Every run trades the same windows;
PnL is the settlement PnL (winning shares at $1, minus what was paid, fees included), split into
locked pairs, unpaired settlement, sells and fees; rebates are an estimate, not in the PnL.
Runs are ranked by the lower bound of the 95% bootstrap interval of the mean PnL per window.</p>
<h2>Runs</h2>{ranking}{overrides}
<h2>Plots</h2>{figures}
<p>The plots as files: {files}; the data: <a href="backtest.json">backtest.json</a>.</p>
<h2>Reference: gabagool22's real windows</h2>
<p>The trader's public fills on 12 real windows (no book, so not replayable): pair cost is the
VWAP of Up plus the VWAP of Down, the winner is inferred from its last fill prices.</p>{reference}
<h2>Windows of '{html.escape(first_label)}'</h2>{windows_table}
<h2>Fair value in the windows of '{html.escape(first_label)}'</h2>
<p>What the engine's core held of the underlying: the window's open (S_open) and how it was
known, Up's fair value beside the book's mid at each horizon (~: the reference price was
stale), and the accumulator buy intents the fair-value gate dropped or bid lower (counted per
scan).</p>{fair_table}
</body></html>
"""
    index = directory / "index.html"
    index.write_text(page)
    return index
