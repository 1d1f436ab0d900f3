"""The design's pair rules (DESIGN.md "Strategy rules"), which the engine tests' scripted
books exercise (an opening bid at 0.40); the defaults add the backtests' bounds on unpaired
risk (docs/STRATEGY.md), which sit out such books and have scan tests of their own."""

DESIGN_PAIR_RULES = {
    "GABAGOOL_STRATEGY_TARGET_PAIR_COST": "0.98",
    "GABAGOOL_STRATEGY_EQUALIZER": "true",
    "GABAGOOL_STRATEGY_ENTRY_MAX_PRICE": "0.45",
    "GABAGOOL_STRATEGY_OPEN_CUTOFF": "120",
    "GABAGOOL_STRATEGY_EXCESS_MIN_MID": "0",
    "GABAGOOL_STRATEGY_UNHEDGED_CAP": "0",
    "GABAGOOL_STRATEGY_DELTA_PER_PAIR_PCT": "0",
}
