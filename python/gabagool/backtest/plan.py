"""Which settings a backtest runs: the user's (`--set`), a grid of variations (`--sweep`),
and the baselines every report shows on the same windows.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from gabagool.config import ConfigError, Settings, load_settings

# The pair rules both baselines share: a 0.98 target, no bound on unpaired risk but
# `max_delta`, the equalizer on, the 2% stop-loss (DESIGN.md "What the first strategy taught
# us"), pinned so the baselines outlive new defaults.
_DESIGN_PAIR_RULES: dict[str, str] = {
    "strategy.target_pair_cost": "0.98",
    "strategy.entry_max_price": "0.45",
    "strategy.open_cutoff": "120",
    "strategy.max_pair_cost": "1.00",
    "strategy.trade_size": "10",
    "strategy.max_delta": "50",
    "strategy.delta_per_pair_pct": "0",
    "strategy.unhedged_cap": "0",
    "strategy.skew_ticks_per_clip": "0",
    "strategy.lag_bid_ticks": "1",
    "strategy.mid_rule": "false",
    "strategy.excess_min_mid": "0",
    "strategy.equalizer": "true",
    "risk.stop_loss_pct": "2",
}

# The first design's rule: taker buys up to a 0.98 pair, fees left out of the decision (the
# venue still charges them).
ORIGINAL_RULE: dict[str, str] = {
    "strategy.mode": "taker",
    "strategy.fee_blind": "true",
    **_DESIGN_PAIR_RULES,
}

# The defaults the engine had before the backtests (maker bids, the same pair rules):
# "today's rules" in issue 11.
PREVIOUS_DEFAULTS: dict[str, str] = {
    "strategy.mode": "auto",
    "strategy.fee_blind": "false",
    **_DESIGN_PAIR_RULES,
}

BASELINES: tuple[tuple[str, dict[str, str]], ...] = (
    ("baseline: original rule (taker 0.98, fee-blind)", ORIGINAL_RULE),
    ("baseline: previous defaults", PREVIOUS_DEFAULTS),
)


def parse_assignments(items: Sequence[str], flag: str) -> dict[str, str]:
    """`section.key=value` items as a dict (the last of a repeated key wins)."""
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or "." not in key or not value:
            raise ConfigError(f"{flag} {item!r}: expected section.key=value")
        out[key.strip()] = value.strip()
    return out


def sweep_grid(items: Sequence[str]) -> list[dict[str, str]]:
    """`key=a,b,c` items -> every combination, in the order given (first key slowest)."""
    axes: list[tuple[str, list[str]]] = []
    for item in items:
        key, eq, values = item.partition("=")
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not eq or "." not in key or not choices:
            raise ConfigError(f"--sweep {item!r}: expected section.key=a,b,c")
        axes.append((key.strip(), choices))
    if not axes:
        return [{}]
    keys = [key for key, _ in axes]
    return [
        dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ]


def settings_for(base: Mapping[str, str], extra: Mapping[str, str], config: str | None) -> Settings:
    """Defaults < the TOML file < `base` < `extra`; the environment is not read (a
    backtest's result must not depend on the shell it runs in)."""
    overrides = dict(base)
    overrides.update(extra)
    return load_settings(config, environ={}, overrides=overrides, dotenv=None)


def label_of(variation: Mapping[str, str]) -> str:
    if not variation:
        return "settings"
    return " ".join(f"{key.split('.', 1)[1]}={value}" for key, value in variation.items())


def plan_runs(
    sets: Mapping[str, str],
    sweeps: Sequence[Mapping[str, str]],
    config: str | None,
    baselines: bool,
) -> list[tuple[str, Settings, dict[str, str]]]:
    """(label, settings, the overrides that made them) for every run, baselines last."""
    runs = []
    for variation in sweeps:
        overrides = {**sets, **variation}
        runs.append((label_of(variation), settings_for(sets, variation, config), overrides))
    if baselines:
        for label, pinned in BASELINES:
            runs.append((label, settings_for(pinned, {}, config), dict(pinned)))
    labels = [label for label, _, _ in runs]
    if len(set(labels)) != len(labels):
        raise ConfigError("two runs have the same label: repeat no --sweep value")
    return runs
