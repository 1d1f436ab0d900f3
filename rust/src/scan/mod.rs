//! The strategy scan: pure decisions from (books, position, params, fees, time) to intents.
//!
//! `accumulate` applies DESIGN.md's accumulator rules, `equalize` its equalizer, `risk` the
//! risk metrics and the stop-loss flatten. Every price bound is checked exactly: a rule such
//! as `p + fee(p)/size + avg_other <= target` is multiplied out over its denominators and
//! compared in 256 bits, never divided with rounding.

mod accumulate;
mod equalize;
mod params;
mod pricing;
mod risk;
mod rules;

pub use accumulate::{accumulate, AccumulateFlags};
pub use equalize::{equalize, EqualizeFlags};
pub use params::{Mode, ParamsError, StrategyParams};
pub use pricing::worst_buy_cost;
pub use risk::{flatten, risk_metrics, RiskMetrics};
pub use rules::{buy_within_rule, Held};

use crate::fixed::{Price, Size};
use crate::market::Outcome;

/// Order sizes go to the exchange with two decimals: 0.01 share in micro-shares.
pub const SIZE_STEP: i64 = 10_000;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Buy,
    Sell,
}

impl Action {
    pub const fn name(self) -> &'static str {
        match self {
            Action::Buy => "buy",
            Action::Sell => "sell",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Rests until filled or cancelled (maker bids, post-only).
    Gtc,
    /// Fill what the book offers now, cancel the rest (taker orders).
    Fak,
}

impl OrderType {
    pub const fn name(self) -> &'static str {
        match self {
            OrderType::Gtc => "GTC",
            OrderType::Fak => "FAK",
        }
    }
}

/// Which rule produced an intent, so fills can be checked against it and counted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    Opening,
    Pairing,
    InstantPair,
    EqualizeMaker,
    EqualizeTaker,
    StopLossSell,
    StopLossBuy,
}

impl Rule {
    pub const fn name(self) -> &'static str {
        match self {
            Rule::Opening => "opening",
            Rule::Pairing => "pairing",
            Rule::InstantPair => "instant_pair",
            Rule::EqualizeMaker => "equalize_maker",
            Rule::EqualizeTaker => "equalize_taker",
            Rule::StopLossSell => "stop_loss_sell",
            Rule::StopLossBuy => "stop_loss_buy",
        }
    }

    /// The rule named `name` (as `name()` spells it).
    pub fn parse(name: &str) -> Option<Rule> {
        [
            Rule::Opening,
            Rule::Pairing,
            Rule::InstantPair,
            Rule::EqualizeMaker,
            Rule::EqualizeTaker,
            Rule::StopLossSell,
            Rule::StopLossBuy,
        ]
        .into_iter()
        .find(|rule| rule.name() == name)
    }
}

/// An order the strategy wants on the exchange.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Intent {
    pub outcome: Outcome,
    pub action: Action,
    /// Maker: the bid to rest. Taker: the worst price to take.
    pub price: Price,
    pub size: Size,
    pub order_type: OrderType,
    pub post_only: bool,
    pub rule: Rule,
}

impl Intent {
    fn maker_bid(outcome: Outcome, price: Price, size: Size, rule: Rule) -> Intent {
        Intent { outcome, action: Action::Buy, price, size, order_type: OrderType::Gtc, post_only: true, rule }
    }

    fn taker(outcome: Outcome, action: Action, price: Price, size: Size, rule: Rule) -> Intent {
        Intent { outcome, action, price, size, order_type: OrderType::Fak, post_only: false, rule }
    }
}

/// Floors a size to the exchange's 0.01-share step.
pub const fn floor_step(micros: i64) -> i64 {
    micros - micros.rem_euclid(SIZE_STEP)
}

#[cfg(test)]
pub(crate) mod testkit;
