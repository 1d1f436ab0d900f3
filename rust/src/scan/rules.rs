//! The checks made on a buy after the fact, with the scan's own bounds: did a fill keep the
//! rule that asked for it. The engine calls these (through `_core`) so a rule has one home.
//!
//! Opening `p_eff <= entry_max_price`, pairing `p_eff + avg_other <= target_pair_cost`,
//! equalizing `avg_self + avg_other < max_pair_cost` (strictly below, as `equalize` prices
//! it), with `p_eff = paid / size`; each is multiplied out over its denominators and compared
//! in 256 bits.

use super::pricing::wide;
use super::{Rule, StrategyParams};

/// What a side held just before a buy: micro-shares and pico-dollars at cost.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub qty: i64,
    pub cost: i128,
}

/// Whether a buy of `size` micro-shares that cost `paid` pico-dollars (fee included) met
/// `rule`, judged on the position just before it. Stop-loss buys have no price bound; a
/// pairing buy with nothing held on the other side is the first leg of an instant pair,
/// whose other leg is still on its way.
pub fn buy_within_rule(rule: Rule, params: &StrategyParams, paid: i128, size: i64, own: Held, other: Held) -> bool {
    if paid < 0 || size <= 0 || own.qty < 0 || other.qty < 0 || own.cost < 0 || other.cost < 0 {
        return false; // no real fill looks like this: report a breach rather than pass it
    }
    let (q, c) = (other.qty as i128, other.cost);
    let size = size as i128;
    match rule {
        Rule::Opening => paid <= params.entry_max_price as i128 * size,
        Rule::Pairing | Rule::InstantPair => {
            q == 0 || wide(paid, q).plus(wide(c, size)) <= wide(params.target_pair_cost as i128 * size, q)
        }
        Rule::EqualizeMaker | Rule::EqualizeTaker => {
            let held = own.qty as i128 + size;
            q == 0 || wide(own.cost + paid, q).plus(wide(c, held)) < wide(params.max_pair_cost as i128 * held, q)
        }
        Rule::StopLossSell | Rule::StopLossBuy => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::PICOS;
    use crate::market::Outcome;
    use crate::position::Position;
    use crate::scan::testkit::*;
    use crate::scan::{accumulate, equalize, AccumulateFlags, EqualizeFlags, Mode};

    fn held(position: &Position, outcome: Outcome) -> Held {
        Held { qty: position.qty(outcome), cost: position.cost(outcome) }
    }

    #[test]
    fn equalizing_is_strictly_below_the_max_pair_cost() {
        // Holding 30 Up at 0.40 and 10 Down at 0.50: 10 more Down at 0.70 makes the pair
        // cost (5 + 7)/20 + 0.40 = 1.00 exactly, which breaks `<`; 0.69 keeps it.
        let params = StrategyParams::default();
        let (own, other) = (Held { qty: 10 * SHARE, cost: 5 * PICOS }, Held { qty: 30 * SHARE, cost: 12 * PICOS });
        let paid = |price: i64| price as i128 * 10 * SHARE as i128;
        assert!(!buy_within_rule(Rule::EqualizeMaker, &params, paid(700_000), 10 * SHARE, own, other));
        assert!(buy_within_rule(Rule::EqualizeTaker, &params, paid(690_000), 10 * SHARE, own, other));
        // With nothing held on the other side there is no pair to judge.
        assert!(buy_within_rule(Rule::EqualizeMaker, &params, paid(990_000), 10 * SHARE, own, Held::default()));
    }

    #[test]
    fn opening_and_pairing_allow_their_bound_itself() {
        let params = StrategyParams::default(); // entry 0.45, target 0.98
        let size = 10 * SHARE;
        let at = |price: i64| price as i128 * size as i128;
        assert!(buy_within_rule(Rule::Opening, &params, at(450_000), size, Held::default(), Held::default()));
        assert!(!buy_within_rule(Rule::Opening, &params, at(450_000) + 1, size, Held::default(), Held::default()));
        // 10 Up held at 0.40: Down at 0.58 pairs at 0.98 exactly, allowed; one pico more is not.
        let up = Held { qty: size, cost: 4 * PICOS };
        assert!(buy_within_rule(Rule::Pairing, &params, at(580_000), size, Held::default(), up));
        assert!(!buy_within_rule(Rule::InstantPair, &params, at(580_000) + 1, size, Held::default(), up));
        assert!(buy_within_rule(Rule::InstantPair, &params, at(990_000), size, Held::default(), Held::default()));
        assert!(buy_within_rule(Rule::StopLossBuy, &params, at(990_000), size, Held::default(), up));
        assert!(!buy_within_rule(Rule::Opening, &params, -1, size, Held::default(), Held::default()));
    }

    #[test]
    fn the_equalizers_bid_passes_and_one_tick_more_does_not() {
        // The scan's highest bid under its own bound is exactly the edge of this check.
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 30 * SHARE, 0).unwrap();
        position.buy(Outcome::Down, 500_000, 10 * SHARE, 0).unwrap();
        let market = mirrored(&[(250_000, 100)], &[(290_000, 100)]);
        let params = StrategyParams::default();
        let fees = crypto_fees();
        let bid = equalize(&market, &position, &params, &fees, 600_000, EqualizeFlags::default())[0];
        let (own, other) = (held(&position, Outcome::Down), held(&position, Outcome::Up));
        let size = bid.size.micros();
        let paid = |price: i64| super::super::pricing::buy_cost(&fees, price, size, true);
        assert!(buy_within_rule(bid.rule, &params, paid(bid.price.micros()), size, own, other));
        assert!(!buy_within_rule(bid.rule, &params, paid(bid.price.micros() + 10_000), size, own, other));
    }

    #[test]
    fn the_pairing_bid_passes_and_one_tick_more_does_not() {
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 10 * SHARE, 0).unwrap();
        // Down's bid 0.60, ask 0.65: the bound (0.58) binds, not the book.
        let market = mirrored(&[(350_000, 100)], &[(400_000, 100)]);
        let params = StrategyParams { mode: Mode::Maker, ..StrategyParams::default() };
        let fees = crypto_fees();
        let intents = accumulate(&market, &position, &params, &fees, 600_000, AccumulateFlags::default());
        let bid = find(&intents, Outcome::Down).expect("a pairing bid");
        assert_eq!(bid.rule, Rule::Pairing);
        let (own, other) = (held(&position, Outcome::Down), held(&position, Outcome::Up));
        let size = bid.size.micros();
        let paid = |price: i64| super::super::pricing::buy_cost(&fees, price, size, true);
        assert!(buy_within_rule(bid.rule, &params, paid(bid.price.micros()), size, own, other));
        assert!(!buy_within_rule(bid.rule, &params, paid(bid.price.micros() + 10_000), size, own, other));
    }

    #[test]
    fn rules_parse_by_their_names() {
        for rule in [Rule::Opening, Rule::Pairing, Rule::InstantPair, Rule::EqualizeMaker, Rule::StopLossBuy] {
            assert_eq!(Rule::parse(rule.name()), Some(rule));
        }
        assert_eq!(Rule::parse("equalise"), None);
    }

    #[test]
    fn worst_buy_cost_is_a_makers_price_or_a_takers_limit_with_the_peak_fee() {
        use crate::fixed::{Price, Size};
        use crate::scan::{worst_buy_cost, OrderType};
        let fees = crypto_fees();
        let size = Size::from_micros(10 * SHARE).unwrap();
        let at = |p: i64| Price::from_micros(p).unwrap();
        // A post-only bid pays no fee (takers only); 10 x 0.70 = $7.
        assert_eq!(worst_buy_cost(&fees, at(700_000), size, OrderType::Gtc, true), 7 * PICOS);
        // A FAK at 0.70 may fill lower, where the fee is higher: 10 x 0.072 x 0.25 = $0.18 at 0.50.
        assert_eq!(worst_buy_cost(&fees, at(700_000), size, OrderType::Fak, false), 7 * PICOS + 180_000 * 1_000_000);
        // Below 0.50 the fee at the limit is the peak: 10 x 0.072 x 0.4 x 0.6 = $0.1728.
        assert_eq!(worst_buy_cost(&fees, at(400_000), size, OrderType::Fak, false), 4 * PICOS + 172_800 * 1_000_000);
        // A GTC that may cross is judged as a taker.
        assert_eq!(
            worst_buy_cost(&fees, at(400_000), size, OrderType::Gtc, false),
            worst_buy_cost(&fees, at(400_000), size, OrderType::Fak, false)
        );
    }
}
