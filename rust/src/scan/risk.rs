//! Risk: the window's exposure figures, the stop-loss test on the unhedged excess, and the
//! flatten that exits it.
//!
//! Matched pairs pay $1 and are never sold; only the excess of the heavy side is at risk.
//! The excess is marked at its best bid (nothing without a bid), its cost is the heavy
//! side's average cost; exit fees are weighed by `flatten`, not by the trigger.
//! The stop's base is the capital deployed in the window, but never less than what the
//! window may hold unhedged, `max_delta` shares at their $1 payout: measured against a lone
//! opening leg alone, 2% is less than one tick, and every leg would be sold as soon as the
//! price twitched, paying the spread and the taker fee each time, while the strategy is to
//! hold it until the other side gets cheap (the measured gabagool22 record has one SELL in
//! 12.9 M fills). `stop_loss_ppm` 0 turns the stop off: issue 11's backtests showed the
//! forced sells realising the unpaired legs' dips and paying the taker fee on top, so the
//! default bounds unpaired risk before buying instead. A flatten smaller than `min_order_size` is not sent (the exchange would refuse
//! it), so a dust excess is held to settlement.

use super::pricing::{marketable, wide};
use super::{floor_step, Action, Intent, Rule, StrategyParams};
use crate::book::{Book, BookSide};
use crate::fees::FeeSchedule;
use crate::fixed::{Price, Size, MICROS};
use crate::market::{Market, Outcome};
use crate::position::Position;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RiskMetrics {
    pub delta: i64,
    /// |delta| in micro-shares.
    pub unhedged: i64,
    /// The outcome holding the excess.
    pub heavy: Option<Outcome>,
    pub over_max_delta: bool,
    /// Every held side's bids could absorb the unhedged quantity.
    pub exit_liquidity_ok: bool,
    /// Pico-dollars: the cost basis of what is held.
    pub capital_deployed: i128,
    /// Pico-dollars the excess would lose if sold at its best bid now (0 if none).
    pub unhedged_mark_loss: i128,
    pub stop_loss_triggered: bool,
    pub mark_pnl: i128,
    pub worst_case_pnl: i128,
    pub best_case_pnl: i128,
}

/// What `size` shares are worth at the book's best bid, in picos (0 without a bid).
fn mark_value(book: &Book, size: i64) -> i128 {
    book.best_bid().map_or(0, |bid| bid.micros() as i128 * size as i128)
}

/// The capital the stop-loss percentage applies to, in picos.
fn stop_base(position: &Position, params: &StrategyParams) -> i128 {
    position.total_cost().max(params.max_delta as i128 * MICROS as i128)
}

pub fn risk_metrics(market: &Market, position: &Position, params: &StrategyParams) -> RiskMetrics {
    let delta = position.delta();
    let unhedged = delta.abs();
    let heavy = position.heavy();
    let exit_liquidity_ok = Outcome::BOTH.iter().all(|&o| {
        let book = market.book(o);
        let depth = book.levels(BookSide::Bid).map(|(_, size)| size.micros() as i128).sum::<i128>();
        position.qty(o) == 0 || depth >= unhedged as i128
    });
    let capital_deployed = position.total_cost();
    let (unhedged_mark_loss, stop_loss_triggered) = match heavy {
        None => (0, false),
        Some(h) => {
            let (c_h, q_h) = (position.cost(h), position.qty(h) as i128);
            let value = mark_value(market.book(h), unhedged);
            // loss = c_h x excess / q_h - value; the stop fires when loss > ppm/1e6 x capital.
            let excess_cost_times_q = c_h * unhedged as i128;
            let loss_times_q = excess_cost_times_q - value * q_h;
            let loss = if loss_times_q > 0 { loss_times_q / q_h } else { 0 };
            let threshold = value * MICROS as i128 + params.stop_loss_ppm as i128 * stop_base(position, params);
            // 0 turns the stop off (the default: no forced selling, see the module notes)
            let triggered =
                params.stop_loss_ppm > 0 && wide(excess_cost_times_q, MICROS as i128) > wide(threshold, q_h);
            (loss, triggered)
        }
    };
    RiskMetrics {
        delta,
        unhedged,
        heavy,
        over_max_delta: unhedged > params.max_delta,
        exit_liquidity_ok,
        capital_deployed,
        unhedged_mark_loss,
        stop_loss_triggered,
        mark_pnl: position.mark_pnl(market),
        worst_case_pnl: position.worst_case_pnl(),
        best_case_pnl: position.best_case_pnl(),
    }
}

/// Fills `size` against `side` of `book` level by level on a copy of the position, each
/// level a taker fill with its own fee. Returns the copy and the worst price touched.
fn simulate(
    position: &Position,
    book: &Book,
    fees: &FeeSchedule,
    outcome: Outcome,
    side: BookSide,
    size: i64,
) -> Option<(Position, Price)> {
    let mut after = position.clone();
    let mut remaining = size;
    let mut worst = None;
    for (price, level) in book.levels(side) {
        if remaining == 0 {
            break;
        }
        let take = level.micros().min(remaining);
        let fee = fees.taker_fee(price, Size::from_micros(take).ok()?);
        match side {
            BookSide::Bid => after.sell(outcome, price.micros(), take, fee).ok()?,
            BookSide::Ask => after.buy(outcome, price.micros(), take, fee).ok()?,
        }
        remaining -= take;
        worst = Some(price);
    }
    (remaining == 0).then_some((after, worst?))
}

/// How much of `size` the book's `side` can fill now, floored to the size step.
fn fillable(book: &Book, side: BookSide, size: i64) -> i64 {
    floor_step(book.walk(side, Size::from_micros(size).unwrap_or(Size::ZERO), None).filled.micros())
}

/// The stop-loss / panic exit of the unhedged excess: one FAK, selling it at the bids or
/// buying the missing leg at the asks, whichever leaves the better worst-case PnL with fees
/// (selling on a tie, as it frees capital). Empty when there is no excess to exit.
pub fn flatten(market: &Market, position: &Position, params: &StrategyParams, fees: &FeeSchedule) -> Vec<Intent> {
    let Some(heavy) = position.heavy() else {
        return Vec::new();
    };
    let light = heavy.other();
    let excess = floor_step(position.delta().abs());
    let mut options: Vec<(i128, Intent)> = Vec::with_capacity(2);
    let sell_size = fillable(market.book(heavy), BookSide::Bid, excess);
    if sell_size >= params.min_order_size {
        if let Some((after, worst)) = simulate(position, market.book(heavy), fees, heavy, BookSide::Bid, sell_size) {
            let size = Size::from_micros(sell_size).expect("positive");
            options.push((after.worst_case_pnl(), Intent::taker(heavy, Action::Sell, worst, size, Rule::StopLossSell)));
        }
    }
    let buy_size = fillable(market.book(light), BookSide::Ask, excess);
    if buy_size >= params.min_order_size {
        if let Some((after, worst)) = simulate(position, market.book(light), fees, light, BookSide::Ask, buy_size) {
            if marketable(worst, buy_size) {
                let size = Size::from_micros(buy_size).expect("positive");
                options
                    .push((after.worst_case_pnl(), Intent::taker(light, Action::Buy, worst, size, Rule::StopLossBuy)));
            }
        }
    }
    // max_by_key keeps the last of equals; the sell is pushed first, so reverse.
    options.into_iter().rev().max_by_key(|(pnl, _)| *pnl).map(|(_, intent)| vec![intent]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::testkit::*;
    use crate::scan::OrderType;

    fn up_heavy() -> Position {
        let mut position = Position::new();
        position.buy(Outcome::Up, 500_000, 30 * SHARE, 0).unwrap();
        position.buy(Outcome::Down, 450_000, 10 * SHARE, 0).unwrap();
        position
    }

    #[test]
    fn metrics_of_a_skewed_position() {
        // Up bid 0.40 (50 shares): the 20-share excess cost 10 and is marked at 8.
        let market = mirrored(&[(400_000, 50)], &[(420_000, 50)]);
        let params = StrategyParams { max_delta: 15 * SHARE, ..StrategyParams::default() };
        let m = risk_metrics(&market, &up_heavy(), &params);
        assert_eq!((m.delta, m.unhedged, m.heavy), (20 * SHARE, 20 * SHARE, Some(Outcome::Up)));
        assert!(m.over_max_delta);
        assert!(m.exit_liquidity_ok);
        assert_eq!(m.capital_deployed, 19_500_000 * MICROS as i128);
        assert_eq!(m.unhedged_mark_loss, (10_000_000 - 8_000_000) * MICROS as i128);
        // 2 > 2% of 19.5 = 0.39.
        assert!(m.stop_loss_triggered);
        assert_eq!(m.worst_case_pnl, -9_500_000 * MICROS as i128);
        assert_eq!(m.best_case_pnl, 10_500_000 * MICROS as i128);
        // Down's bids (0.58, 50 shares) cover 20 as well; 19 Up bids would not.
        let thin = mirrored(&[(400_000, 19)], &[(420_000, 50)]);
        assert!(!risk_metrics(&thin, &up_heavy(), &params).exit_liquidity_ok);
    }

    #[test]
    fn a_lone_opening_leg_is_not_stopped_for_a_tick_but_is_for_a_slump() {
        // 10 Up bought at 0.40; the base is 50 shares x $1, so the stop is at a $1 loss.
        let mut leg = Position::new();
        leg.buy(Outcome::Up, 400_000, 10 * SHARE, 0).unwrap();
        let params = StrategyParams::default();
        let one_tick = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let m = risk_metrics(&one_tick, &leg, &params);
        assert_eq!(m.unhedged_mark_loss, 100_000 * MICROS as i128);
        assert!(!m.stop_loss_triggered);
        let at_the_stop = mirrored(&[(300_000, 100)], &[(310_000, 100)]);
        assert!(!risk_metrics(&at_the_stop, &leg, &params).stop_loss_triggered, "$1 is not beyond $1");
        let slump = mirrored(&[(290_000, 100)], &[(300_000, 100)]);
        assert!(risk_metrics(&slump, &leg, &params).stop_loss_triggered);
    }

    #[test]
    fn a_zero_stop_never_triggers() {
        let market = mirrored(&[(10_000, 50)], &[(20_000, 50)]);
        let off = StrategyParams { stop_loss_ppm: 0, ..StrategyParams::default() };
        let m = risk_metrics(&market, &up_heavy(), &off);
        assert!(m.unhedged_mark_loss > 0 && !m.stop_loss_triggered);
        assert!(risk_metrics(&market, &up_heavy(), &StrategyParams::default()).stop_loss_triggered);
    }

    #[test]
    fn stop_loss_holds_while_the_excess_loss_is_small() {
        // Up bid 0.50 with no fee: the excess is worth what it cost.
        let market = mirrored(&[(500_000, 50)], &[(510_000, 50)]);
        let m = risk_metrics(&market, &up_heavy(), &StrategyParams::default());
        assert_eq!(m.unhedged_mark_loss, 0);
        assert!(!m.stop_loss_triggered);
        let mut hedged = Position::new();
        hedged.buy(Outcome::Up, 500_000, 10 * SHARE, 0).unwrap();
        hedged.buy(Outcome::Down, 600_000, 10 * SHARE, 0).unwrap();
        let m = risk_metrics(&market, &hedged, &StrategyParams::default());
        assert_eq!((m.heavy, m.stop_loss_triggered, m.unhedged_mark_loss), (None, false, 0));
    }

    #[test]
    fn flatten_picks_the_cheaper_exit() {
        // On mirrored books selling Up at p and buying Down at 1 - p cost the same (the fee
        // depends on p(1 - p)): a tie, and the sell is kept.
        let mut market = mirrored(&[(400_000, 50)], &[(420_000, 50)]);
        let exit = flatten(&market, &up_heavy(), &StrategyParams::default(), &crypto_fees())[0];
        assert_eq!((exit.action, exit.rule), (Action::Sell, Rule::StopLossSell));
        // Selling 20 Up at 0.40 fetches 8 - 0.3456; buying 20 Down at 0.58 costs 11.6 + 0.35078.
        // Worst case after the sell: 10 - (5 + 4.5) + (7.6544 - 10) = -1.8456; after the buy:
        // 30 - (15 + 4.5 + 11.95078) = -1.45078. The buy wins.
        set_asks(&mut market, Outcome::Down, &[(580_000, 50)]);
        let intents = flatten(&market, &up_heavy(), &StrategyParams::default(), &crypto_fees());
        assert_eq!(intents.len(), 1);
        let exit = intents[0];
        assert_eq!((exit.outcome, exit.action, exit.rule), (Outcome::Down, Action::Buy, Rule::StopLossBuy));
        assert_eq!((exit.price.micros(), exit.size.micros(), exit.order_type), (580_000, 20 * SHARE, OrderType::Fak));
        // Down asks far away (0.90): selling is cheaper.
        set_asks(&mut market, Outcome::Down, &[(900_000, 50)]);
        let exit = flatten(&market, &up_heavy(), &StrategyParams::default(), &crypto_fees())[0];
        assert_eq!(
            (exit.outcome, exit.action, exit.rule, exit.price.micros()),
            (Outcome::Up, Action::Sell, Rule::StopLossSell, 400_000)
        );
        assert!(flatten(&market, &Position::new(), &StrategyParams::default(), &crypto_fees()).is_empty());
    }
}
