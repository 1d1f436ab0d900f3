//! The equalizer: buys the lagging side, in chunks, to bring delta back toward zero while
//! the resulting pair cost (fees included) stays below `max_pair_cost`.
//!
//! It never buys the over-weight side and never past zero delta. First choice is raising the
//! lagging side's maker bid; a FAK repair is sent only when the caller says it is urgent,
//! every fill behind the delta is CONFIRMED (a provisional fill may still FAIL), and the
//! window is outside `taker_cutoff`. When the book offers no repair, the maker bid stands.

use super::pricing::{maker_bid, marketable, taker_buy, wide};
use super::{floor_step, Action, Intent, Rule, StrategyParams};
use crate::fees::FeeSchedule;
use crate::fixed::Size;
use crate::market::Market;
use crate::position::Position;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EqualizeFlags {
    pub fills_confirmed: bool,
    pub urgent: bool,
    pub halted: bool,
}

impl Default for EqualizeFlags {
    fn default() -> Self {
        EqualizeFlags { fills_confirmed: true, urgent: false, halted: false }
    }
}

/// At most one intent buying the lagging side.
pub fn equalize(
    market: &Market,
    position: &Position,
    params: &StrategyParams,
    fees: &FeeSchedule,
    ms_to_end: i64,
    flags: EqualizeFlags,
) -> Vec<Intent> {
    if !params.equalizer || flags.halted || ms_to_end <= params.quote_cutoff_ms {
        return Vec::new();
    }
    let free = FeeSchedule::free();
    let fees = if params.fee_blind { &free } else { fees };
    let Some(heavy) = position.heavy() else {
        return Vec::new();
    };
    let lag = position.delta().abs();
    let side = heavy.other();
    let book = market.book(side);
    let size = floor_step(params.trade_size.min(lag));
    if lag < params.min_order_size || size < params.min_order_size || !book.has_snapshot() {
        return Vec::new();
    }
    let (c_s, q_s) = (position.cost(side), position.qty(side) as i128);
    let (c_o, q_o) = (position.cost(heavy), position.qty(heavy) as i128);
    let max = params.max_pair_cost as i128;
    // (c_s + cost)/(q_s + x) + c_o/q_o < max, over the common denominator (units cancel).
    let holds = move |cost: i128, x: i64| {
        let q_new = q_s + x as i128;
        wide(c_s + cost, q_o).plus(wide(c_o, q_new)) < wide(max * q_new, q_o)
    };
    if flags.urgent && flags.fills_confirmed && ms_to_end > params.taker_cutoff_ms {
        if let Some((limit, offered)) = taker_buy(book, fees, size, &holds) {
            if offered >= params.min_order_size && marketable(limit, offered) {
                return vec![Intent::taker(side, Action::Buy, limit, sized(offered), Rule::EqualizeTaker)];
            }
        }
    }
    maker_bid(book, fees, size, &holds, None, 1)
        .map(|price| vec![Intent::maker_bid(side, price, sized(size), Rule::EqualizeMaker)])
        .unwrap_or_default()
}

fn sized(micros: i64) -> Size {
    Size::from_micros(micros).expect("sizes here are positive")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Outcome;
    use crate::scan::testkit::*;
    use crate::scan::OrderType;

    fn skewed() -> Position {
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 30 * SHARE, 0).unwrap();
        position.buy(Outcome::Down, 500_000, 10 * SHARE, 0).unwrap();
        position
    }

    #[test]
    fn raises_the_lagging_bid_up_to_the_max_pair_cost() {
        // 10 more Down at p: (5 + 10p)/20 + 0.40 < 1.00  <=>  p < 0.70, so up to 0.69; with
        // Down's bid at 0.60 (ask 0.72) it goes one tick over the bid, then to 0.69 when the
        // bid is 0.71.
        let market = mirrored(&[(280_000, 100)], &[(400_000, 100)]);
        let intents =
            equalize(&market, &skewed(), &StrategyParams::default(), &crypto_fees(), 600_000, EqualizeFlags::default());
        assert_eq!(intents.len(), 1);
        let bid = intents[0];
        assert_eq!((bid.outcome, bid.price.micros(), bid.size.micros()), (Outcome::Down, 610_000, 10 * SHARE));
        assert_eq!((bid.rule, bid.order_type, bid.post_only), (Rule::EqualizeMaker, OrderType::Gtc, true));
        let market = mirrored(&[(250_000, 100)], &[(290_000, 100)]);
        let intents =
            equalize(&market, &skewed(), &StrategyParams::default(), &crypto_fees(), 600_000, EqualizeFlags::default());
        assert_eq!(intents[0].price.micros(), 690_000);
    }

    #[test]
    fn switched_off_it_bids_nothing_even_when_urgent() {
        let market = mirrored(&[(280_000, 100)], &[(400_000, 100)]);
        let params = StrategyParams { equalizer: false, ..StrategyParams::default() };
        let flags = EqualizeFlags { urgent: true, ..EqualizeFlags::default() };
        assert!(equalize(&market, &skewed(), &params, &crypto_fees(), 600_000, flags).is_empty());
    }

    #[test]
    fn urgent_confirmed_repair_takes_the_ask_with_its_fee() {
        // Down ask 0.65 with fee 0.01638: (5 + 6.6638)/20 + 0.4 = 0.98319 < 1.
        let market = mirrored(&[(350_000, 100)], &[(360_000, 100)]);
        let urgent = EqualizeFlags { urgent: true, ..EqualizeFlags::default() };
        let intents = equalize(&market, &skewed(), &StrategyParams::default(), &crypto_fees(), 600_000, urgent);
        let repair = intents[0];
        assert_eq!(
            (repair.rule, repair.order_type, repair.price.micros()),
            (Rule::EqualizeTaker, OrderType::Fak, 650_000)
        );
        // Unconfirmed fills or inside the taker cutoff: the maker bid instead.
        let unconfirmed = EqualizeFlags { fills_confirmed: false, ..urgent };
        let intents = equalize(&market, &skewed(), &StrategyParams::default(), &crypto_fees(), 600_000, unconfirmed);
        assert_eq!(intents[0].rule, Rule::EqualizeMaker);
        let intents = equalize(&market, &skewed(), &StrategyParams::default(), &crypto_fees(), 30_000, urgent);
        assert_eq!(intents[0].rule, Rule::EqualizeMaker);
    }

    #[test]
    fn never_past_zero_delta_and_never_at_max_pair_cost() {
        let mut position = skewed();
        position.buy(Outcome::Down, 500_000, 14 * SHARE, 0).unwrap();
        let market = mirrored(&[(250_000, 100)], &[(290_000, 100)]);
        let intents =
            equalize(&market, &position, &StrategyParams::default(), &crypto_fees(), 600_000, EqualizeFlags::default());
        assert_eq!(intents[0].size.micros(), 6 * SHARE);
        position.buy(Outcome::Down, 500_000, 2 * SHARE, 0).unwrap();
        assert!(equalize(
            &market,
            &position,
            &StrategyParams::default(),
            &crypto_fees(),
            600_000,
            EqualizeFlags::default()
        )
        .is_empty());
        // Up bought dear at 0.60: the bound bites far below Down's 0.71 bid.
        let mut dear = Position::new();
        dear.buy(Outcome::Up, 600_000, 20 * SHARE, 0).unwrap();
        dear.buy(Outcome::Down, 390_000, 10 * SHARE, 0).unwrap();
        // Down at p: (3.9 + 10p)/20 + 0.6 < 1  <=>  p < 0.41; the bid rests at 0.40 at most.
        let intents =
            equalize(&market, &dear, &StrategyParams::default(), &crypto_fees(), 600_000, EqualizeFlags::default());
        assert_eq!(intents[0].price.micros(), 400_000);
    }

    #[test]
    fn halted_or_inside_the_quote_cutoff_does_nothing() {
        let market = mirrored(&[(280_000, 100)], &[(400_000, 100)]);
        let halted = EqualizeFlags { halted: true, ..EqualizeFlags::default() };
        assert!(equalize(&market, &skewed(), &StrategyParams::default(), &crypto_fees(), 600_000, halted).is_empty());
        assert!(equalize(
            &market,
            &skewed(),
            &StrategyParams::default(),
            &crypto_fees(),
            10_000,
            EqualizeFlags::default()
        )
        .is_empty());
    }
}
