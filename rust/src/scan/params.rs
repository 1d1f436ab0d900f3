//! The strategy's settings, with DESIGN.md's defaults and their valid ranges.

use super::SIZE_STEP;
use crate::fixed::MICROS;
use crate::position::MAX_QTY;
use std::fmt;

/// How orders reach the book: resting post-only bids, or FAK orders that take now.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Maker,
    Taker,
}

impl Mode {
    pub fn parse(text: &str) -> Result<Mode, ParamsError> {
        match text {
            "maker" => Ok(Mode::Maker),
            "taker" => Ok(Mode::Taker),
            other => Err(ParamsError { field: "mode", value: format!("{other:?}"), range: "'maker' or 'taker'" }),
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Mode::Maker => "maker",
            Mode::Taker => "taker",
        }
    }
}

/// A setting out of its range, naming the field and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamsError {
    pub field: &'static str,
    pub value: String,
    pub range: &'static str,
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {} is not {}", self.field, self.value, self.range)
    }
}

impl std::error::Error for ParamsError {}

/// Prices in micro-dollars, sizes in micro-shares, times in milliseconds, stop loss in
/// millionths of the capital deployed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StrategyParams {
    pub mode: Mode,
    pub target_pair_cost: i64,
    pub entry_max_price: i64,
    pub max_pair_cost: i64,
    pub trade_size: i64,
    pub min_order_size: i64,
    pub max_delta: i64,
    pub hedge_slippage: i64,
    pub liquidity_multiple: i64,
    pub open_cutoff_ms: i64,
    pub quote_cutoff_ms: i64,
    pub taker_cutoff_ms: i64,
    pub stop_loss_ppm: i64,
    /// Decide as if no fee were charged (the first design's rule; a baseline, never a default).
    pub fee_blind: bool,
    /// Pico-dollars the window may have paid for shares not paired: a buy that would raise
    /// it past the cap is shrunk or dropped before it is sent. 0 = no cap.
    pub unhedged_cap: i64,
    /// |delta| allowed after a buy: at most this many millionths of the paired quantity,
    /// but always one `trade_size` (the opening leg) and never over `max_delta`. 0 = off.
    pub delta_per_pair_ppm: i64,
    /// Maker skew: the heavy side's bid drops this many ticks below the usual price per
    /// `trade_size` of |delta|; 0 = off.
    pub skew_ticks_per_clip: i64,
    /// Maker skew: the lagging side may bid this many ticks over the best bid (one is the
    /// usual), still under its pair bound and never crossing.
    pub lag_bid_ticks: i64,
    /// Fair value from the book alone: the accumulator buys a side only at or under its
    /// mid minus this edge (micro-dollars, fee included for a taker). None = off.
    pub mid_edge: Option<i64>,
    /// A buy that raises |delta| (an opening leg, or past the gap) only on a side whose mid is
    /// at least this (micro-dollars): unpaired shares are held on the likelier winner, never
    /// on a side the market is giving up on. 0 = off.
    pub excess_min_mid: i64,
    /// The equalizer's bids (the lagging side up to `max_pair_cost`, priced from the book
    /// alone): false leaves the gap to the accumulator's pairing bids, which are bounded by
    /// `target_pair_cost` (and, with a reference feed, gated at fair value).
    pub equalizer: bool,
}

impl Default for StrategyParams {
    fn default() -> Self {
        StrategyParams {
            mode: Mode::Maker,
            target_pair_cost: 980_000,
            entry_max_price: 450_000,
            max_pair_cost: 1_000_000,
            trade_size: 10_000_000,
            min_order_size: 5_000_000,
            max_delta: 50_000_000,
            hedge_slippage: 20_000,
            liquidity_multiple: 3,
            open_cutoff_ms: 120_000,
            quote_cutoff_ms: 10_000,
            taker_cutoff_ms: 30_000,
            stop_loss_ppm: 20_000,
            fee_blind: false,
            unhedged_cap: 0,
            delta_per_pair_ppm: 0,
            skew_ticks_per_clip: 0,
            lag_bid_ticks: 1,
            mid_edge: None,
            excess_min_mid: 0,
            equalizer: true,
        }
    }
}

fn check(field: &'static str, value: i64, ok: bool, range: &'static str) -> Result<(), ParamsError> {
    if ok {
        Ok(())
    } else {
        Err(ParamsError { field, value: value.to_string(), range })
    }
}

/// A day in milliseconds: no cutoff of a 15-minute window comes near it.
const DAY_MS: i64 = 86_400_000;

impl StrategyParams {
    /// Checks every field; the scan relies on these ranges (a size step of 0.01 share, pair
    /// costs up to $2, cutoffs nested quote <= open).
    pub fn validate(&self) -> Result<(), ParamsError> {
        let two = 2 * MICROS;
        check(
            "target_pair_cost",
            self.target_pair_cost,
            (1..=two).contains(&self.target_pair_cost),
            "in (0, 2_000_000]",
        )?;
        check(
            "max_pair_cost",
            self.max_pair_cost,
            (self.target_pair_cost..=two).contains(&self.max_pair_cost),
            "in [target_pair_cost, 2_000_000]",
        )?;
        check(
            "entry_max_price",
            self.entry_max_price,
            (1..MICROS).contains(&self.entry_max_price),
            "in (0, 1_000_000)",
        )?;
        check(
            "trade_size",
            self.trade_size,
            (SIZE_STEP..=MAX_QTY).contains(&self.trade_size),
            "in [10_000, 1e14] micro-shares",
        )?;
        check(
            "min_order_size",
            self.min_order_size,
            (SIZE_STEP..=self.trade_size).contains(&self.min_order_size),
            "in [10_000, trade_size] micro-shares",
        )?;
        check("max_delta", self.max_delta, (0..=MAX_QTY).contains(&self.max_delta), "in [0, 1e14] micro-shares")?;
        check("hedge_slippage", self.hedge_slippage, (0..MICROS).contains(&self.hedge_slippage), "in [0, 1_000_000)")?;
        check(
            "liquidity_multiple",
            self.liquidity_multiple,
            (0..=1_000).contains(&self.liquidity_multiple),
            "in [0, 1000]",
        )?;
        check("quote_cutoff_ms", self.quote_cutoff_ms, (0..=DAY_MS).contains(&self.quote_cutoff_ms), "in [0, 1 day]")?;
        check(
            "open_cutoff_ms",
            self.open_cutoff_ms,
            (self.quote_cutoff_ms..=DAY_MS).contains(&self.open_cutoff_ms),
            "in [quote_cutoff_ms, 1 day]",
        )?;
        check("taker_cutoff_ms", self.taker_cutoff_ms, (0..=DAY_MS).contains(&self.taker_cutoff_ms), "in [0, 1 day]")?;
        check("stop_loss_ppm", self.stop_loss_ppm, (0..=MICROS).contains(&self.stop_loss_ppm), "in [0, 1_000_000]")?;
        check(
            "unhedged_cap",
            self.unhedged_cap,
            (0..=1_000_000 * crate::fixed::PICOS as i64).contains(&self.unhedged_cap),
            "in [0, $1,000,000] pico-dollars",
        )?;
        check(
            "delta_per_pair_ppm",
            self.delta_per_pair_ppm,
            (0..=MICROS).contains(&self.delta_per_pair_ppm),
            "in [0, 1_000_000]",
        )?;
        check(
            "skew_ticks_per_clip",
            self.skew_ticks_per_clip,
            (0..=100).contains(&self.skew_ticks_per_clip),
            "in [0, 100]",
        )?;
        check("lag_bid_ticks", self.lag_bid_ticks, (0..=100).contains(&self.lag_bid_ticks), "in [0, 100]")?;
        check("excess_min_mid", self.excess_min_mid, (0..MICROS).contains(&self.excess_min_mid), "in [0, 1_000_000)")?;
        if let Some(edge) = self.mid_edge {
            check("mid_edge", edge, (-MICROS / 2..=MICROS / 2).contains(&edge), "in [-500_000, 500_000]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_design() {
        let params = StrategyParams::default();
        params.validate().unwrap();
        assert_eq!(params.target_pair_cost, 980_000);
        assert_eq!(params.mode, Mode::Maker);
    }

    #[test]
    fn bad_values_name_the_field_and_value() {
        let bad = StrategyParams { min_order_size: 20_000_000, ..StrategyParams::default() };
        assert_eq!(
            bad.validate().unwrap_err().to_string(),
            "min_order_size = 20000000 is not in [10_000, trade_size] micro-shares"
        );
        let bad = StrategyParams { max_pair_cost: 900_000, ..StrategyParams::default() };
        assert_eq!(bad.validate().unwrap_err().field, "max_pair_cost");
        let bad = StrategyParams { open_cutoff_ms: 5_000, ..StrategyParams::default() };
        assert_eq!(bad.validate().unwrap_err().field, "open_cutoff_ms");
        assert_eq!(Mode::parse("both").unwrap_err().to_string(), "mode = \"both\" is not 'maker' or 'taker'");
    }
}
