"""Synthetic 15-minute Up or Down markets: the exchange's market-channel frames and the
reference price's PolyBolt frames, from a model of the underlying.

- `model`: the underlying's path (a Brownian bridge in log price), the settlement TWAP and
  the true probability of Up;
- `agents`: makers quoting ladders around their noisy view of that probability, deep stale
  orders and walls, noise takers and fee-aware informed takers;
- `book`: the one mirrored book they trade on (an Up bid at p is a Down ask at 1 - p);
- `loop`: when each participant acts (an event heap);
- `wire`: frames in the exchange's exact formats;
- `reference`: the engine's lagged, sampled view of the underlying;
- `calibration`: the statistics the model is calibrated against (docs/SIMULATOR.md).

Same `(asset, start, seed, params)`, same bytes: nothing reads the wall clock.
"""

from gabagool.sim.agents import BACKGROUND_CANCEL_DISTANCE, BACKGROUND_RESTORE_DISTANCE
from gabagool.sim.book import (
    ASK,
    BACKGROUND_OWNER,
    BID,
    COARSE_TICK,
    FINE_TICK,
    FINE_TICK_ABOVE,
    FINE_TICK_BELOW,
    FULL,
    WALL_OWNER,
)
from gabagool.sim.loop import BACKGROUND_STEP_MS, QUIET_TAIL_MS
from gabagool.sim.model import (
    ASSETS,
    DEFAULT_START,
    MODEL_STEP_MS,
    SECONDS_PER_YEAR,
    TWAP_SECONDS,
    AssetModel,
    UnderlyingPath,
    check_asset,
    check_start,
)
from gabagool.sim.params import UNCALIBRATED, MarketParams
from gabagool.sim.reference import reference_frames
from gabagool.sim.window import (
    MARKET,
    REFERENCE,
    WindowSimulator,
    chain_open,
    merge_sources,
    run_frames,
    simulate,
)
from gabagool.sim.wire import (
    DEFAULT_FEE_SCHEDULE,
    DEFAULT_MIN_ORDER_SIZE,
    DEFAULT_TICK_SIZE,
    LATENCY_NS,
    PRICE_TEXT,
    SPOT_CHANNEL,
    TWAP_CHANNEL,
    size_text,
    token_id,
)

__all__ = [
    "ASK",
    "ASSETS",
    "BACKGROUND_CANCEL_DISTANCE",
    "BACKGROUND_OWNER",
    "BACKGROUND_RESTORE_DISTANCE",
    "BACKGROUND_STEP_MS",
    "BID",
    "COARSE_TICK",
    "DEFAULT_FEE_SCHEDULE",
    "DEFAULT_MIN_ORDER_SIZE",
    "DEFAULT_START",
    "DEFAULT_TICK_SIZE",
    "FINE_TICK",
    "FINE_TICK_ABOVE",
    "FINE_TICK_BELOW",
    "FULL",
    "LATENCY_NS",
    "MARKET",
    "MODEL_STEP_MS",
    "PRICE_TEXT",
    "QUIET_TAIL_MS",
    "REFERENCE",
    "SECONDS_PER_YEAR",
    "SPOT_CHANNEL",
    "TWAP_CHANNEL",
    "TWAP_SECONDS",
    "UNCALIBRATED",
    "WALL_OWNER",
    "AssetModel",
    "MarketParams",
    "UnderlyingPath",
    "WindowSimulator",
    "chain_open",
    "check_asset",
    "check_start",
    "merge_sources",
    "reference_frames",
    "run_frames",
    "simulate",
    "size_text",
    "token_id",
]
