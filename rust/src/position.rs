//! One market window's position: quantities, costs (fees included), averages, pair cost,
//! delta and PnL bounds, with average-cost accounting and exact integers throughout.
//!
//! Quantities are micro-shares, costs and PnL pico-dollars, fees micro-dollars. A side's
//! quantity is capped at `MAX_QTY` so every product the accounting forms (cost x quantity,
//! a pair cost's common denominator) stays inside i128.

use crate::book::BookSide;
use crate::fixed::{format_micros, MICROS, PICOS};
use crate::market::{Market, Outcome};
use std::fmt;

/// The most micro-shares one side may hold: 100 million shares, far past any window's book.
pub const MAX_QTY: i64 = 100_000_000 * MICROS;

/// Why a fill was refused; the position is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PositionError {
    Size { size: i64 },
    Price { price: i64 },
    Fee { fee: i64, notional: i128 },
    Oversell { outcome: Outcome, size: i64, held: i64 },
    TooLarge { outcome: Outcome, size: i64, held: i64 },
}

impl fmt::Display for PositionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PositionError::Size { size } => write!(f, "fill size {} is not positive", format_micros(*size)),
            PositionError::Price { price } => {
                write!(f, "fill price {} out of range (0, 1)", format_micros(*price))
            }
            PositionError::Fee { fee, notional } => write!(
                f,
                "fill fee {} is negative or above the fill's notional {}",
                format_micros(*fee),
                crate::fixed::Money::from_picos(*notional)
            ),
            PositionError::Oversell { outcome, size, held } => {
                write!(f, "cannot sell {} {outcome} shares holding {}", format_micros(*size), format_micros(*held))
            }
            PositionError::TooLarge { outcome, size, held } => write!(
                f,
                "buying {} {outcome} shares on top of {} passes the {} share limit",
                format_micros(*size),
                format_micros(*held),
                format_micros(MAX_QTY)
            ),
        }
    }
}

impl std::error::Error for PositionError {}

/// An exact non-negative-denominator fraction `num / den`, in lowest terms.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ratio {
    pub num: i128,
    pub den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Ratio {
    pub fn new(num: i128, den: i128) -> Ratio {
        assert!(den > 0, "a ratio's denominator is positive");
        let g = gcd(num, den).max(1);
        Ratio { num: num / g, den: den / g }
    }
}

/// Average-cost accounting of one window's Up and Down holdings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    qty: [i64; 2],
    cost: [i128; 2],
    realized: i128,
    fees_paid: i64,
}

fn check_fill(price: i64, size: i64, fee: i64) -> Result<(), PositionError> {
    if size <= 0 {
        return Err(PositionError::Size { size });
    }
    if price <= 0 || price >= MICROS {
        return Err(PositionError::Price { price });
    }
    // A fee is at most size x rate x p(1-p) <= the notional; refusing more also keeps
    // every cost below 2 x the notional, which the i128 bounds above rely on.
    let notional = price as i128 * size as i128;
    if fee < 0 || fee as i128 * MICROS as i128 > notional {
        return Err(PositionError::Fee { fee, notional });
    }
    Ok(())
}

impl Position {
    pub fn new() -> Position {
        Position::default()
    }

    /// A buy: the shares arrive in full and the fee is paid on top, into the side's cost.
    pub fn buy(&mut self, outcome: Outcome, price: i64, size: i64, fee: i64) -> Result<(), PositionError> {
        check_fill(price, size, fee)?;
        let held = self.qty[outcome.index()];
        if size > MAX_QTY - held {
            return Err(PositionError::TooLarge { outcome, size, held });
        }
        let i = outcome.index();
        self.qty[i] += size;
        self.cost[i] += price as i128 * size as i128 + fee as i128 * MICROS as i128;
        self.fees_paid += fee;
        Ok(())
    }

    /// A sell: the side's cost drops by the sold shares' average cost (floored to a pico, so
    /// selling everything removes exactly all of it) and the rest goes to `realized`.
    pub fn sell(&mut self, outcome: Outcome, price: i64, size: i64, fee: i64) -> Result<(), PositionError> {
        check_fill(price, size, fee)?;
        let i = outcome.index();
        let held = self.qty[i];
        if size > held {
            return Err(PositionError::Oversell { outcome, size, held });
        }
        let removed = self.cost[i] * size as i128 / held as i128;
        self.qty[i] -= size;
        self.cost[i] -= removed;
        self.realized += price as i128 * size as i128 - fee as i128 * MICROS as i128 - removed;
        self.fees_paid += fee;
        Ok(())
    }

    pub fn qty(&self, outcome: Outcome) -> i64 {
        self.qty[outcome.index()]
    }

    /// Pico-dollars paid for the shares held, fees included.
    pub fn cost(&self, outcome: Outcome) -> i128 {
        self.cost[outcome.index()]
    }

    pub fn total_cost(&self) -> i128 {
        self.cost[0] + self.cost[1]
    }

    pub fn realized(&self) -> i128 {
        self.realized
    }

    pub fn fees_paid(&self) -> i64 {
        self.fees_paid
    }

    pub fn delta(&self) -> i64 {
        self.qty[0] - self.qty[1]
    }

    pub fn hedged(&self) -> i64 {
        self.qty[0].min(self.qty[1])
    }

    /// The side holding more shares, if they differ.
    pub fn heavy(&self) -> Option<Outcome> {
        match self.delta() {
            0 => None,
            d if d > 0 => Some(Outcome::Up),
            _ => Some(Outcome::Down),
        }
    }

    /// Dollars per share paid for `outcome`, fees included; None when none is held.
    pub fn avg(&self, outcome: Outcome) -> Option<Ratio> {
        let qty = self.qty(outcome);
        (qty > 0).then(|| Ratio::new(self.cost(outcome), qty as i128 * MICROS as i128))
    }

    /// avg_up + avg_down in dollars, when both sides are held.
    pub fn pair_cost(&self) -> Option<Ratio> {
        let (qu, qd) = (self.qty[0] as i128, self.qty[1] as i128);
        if qu == 0 || qd == 0 {
            return None;
        }
        Some(Ratio::new(self.cost[0] * qd + self.cost[1] * qu, MICROS as i128 * qu * qd))
    }

    /// Dollars the matched pairs earn for sure: hedged x (1 - pair_cost).
    pub fn locked_profit(&self) -> Ratio {
        let (qu, qd) = (self.qty[0] as i128, self.qty[1] as i128);
        if qu == 0 || qd == 0 {
            return Ratio::new(0, 1);
        }
        let m = MICROS as i128;
        // hedged x (1e6 qu qd - cu qd - cd qu) / (1e12 qu qd), with hedged (= qu or qd)
        // cancelled against the denominator so nothing leaves i128.
        let surplus = m * qu * qd - self.cost[0] * qd - self.cost[1] * qu;
        let other = if qu <= qd { qd } else { qu };
        Ratio::new(surplus, PICOS * other)
    }

    /// PnL in pico-dollars if the side held least wins (realized included).
    pub fn worst_case_pnl(&self) -> i128 {
        self.qty[0].min(self.qty[1]) as i128 * MICROS as i128 - self.total_cost() + self.realized
    }

    /// PnL in pico-dollars if the side held most wins (realized included).
    pub fn best_case_pnl(&self) -> i128 {
        self.qty[0].max(self.qty[1]) as i128 * MICROS as i128 - self.total_cost() + self.realized
    }

    /// Holdings valued at each side's best bid (nothing when it has none), minus cost, plus
    /// realized: what the window is worth if sold at the tops right now, before fees.
    pub fn mark_pnl(&self, market: &Market) -> i128 {
        let value: i128 = Outcome::BOTH
            .into_iter()
            .map(|o| match market.book(o).best(BookSide::Bid) {
                Some((price, _)) => price.micros() as i128 * self.qty(o) as i128,
                None => 0,
            })
            .sum();
        value - self.total_cost() + self.realized
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::{Price, Size};
    use Outcome::{Down, Up};

    const SHARE: i64 = MICROS;

    #[test]
    fn buys_accumulate_cost_with_fees_and_averages_are_exact() {
        let mut pos = Position::new();
        pos.buy(Up, 400_000, 10 * SHARE, 0).unwrap();
        pos.buy(Up, 430_000, 5 * SHARE, 100_000).unwrap();
        assert_eq!(pos.qty(Up), 15 * SHARE);
        assert_eq!(pos.cost(Up), (4_000_000 + 2_150_000 + 100_000) as i128 * MICROS as i128);
        assert_eq!(pos.avg(Up), Some(Ratio::new(6_250_000, 15_000_000)));
        assert_eq!(pos.avg(Down), None);
        assert_eq!(pos.pair_cost(), None);
        assert_eq!(pos.locked_profit(), Ratio::new(0, 1));
        assert_eq!(pos.fees_paid(), 100_000);
    }

    #[test]
    fn pair_cost_and_locked_profit_of_a_hedged_pair() {
        let mut pos = Position::new();
        pos.buy(Up, 400_000, 10 * SHARE, 0).unwrap();
        pos.buy(Down, 550_000, 10 * SHARE, 0).unwrap();
        assert_eq!(pos.pair_cost(), Some(Ratio::new(95, 100)));
        assert_eq!(pos.locked_profit(), Ratio::new(1, 2));
        assert_eq!(pos.delta(), 0);
        assert_eq!(pos.hedged(), 10 * SHARE);
        assert_eq!(pos.worst_case_pnl(), 500_000 * MICROS as i128);
        pos.buy(Down, 500_000, 4 * SHARE, 0).unwrap();
        // 10 x (1 - 0.4 - 7.5/14) = 9/14; if Down wins: 14 - 11.5.
        assert_eq!(pos.locked_profit(), Ratio::new(9, 14));
        assert_eq!(pos.best_case_pnl(), 2_500_000 * MICROS as i128);
        assert_eq!(pos.worst_case_pnl(), -1_500_000 * MICROS as i128);
        assert_eq!(pos.heavy(), Some(Down));
    }

    #[test]
    fn selling_removes_average_cost_and_realizes_the_rest() {
        let mut pos = Position::new();
        pos.buy(Up, 300_000, 3 * SHARE, 0).unwrap();
        pos.sell(Up, 500_000, SHARE, 20_000).unwrap();
        assert_eq!(pos.qty(Up), 2 * SHARE);
        assert_eq!(pos.cost(Up), 600_000 * MICROS as i128);
        assert_eq!(pos.realized(), (500_000 - 20_000 - 300_000) * MICROS as i128);
        pos.buy(Up, 100_000, 1, 0).unwrap();
        pos.sell(Up, 100_000, 2 * SHARE + 1, 0).unwrap();
        assert_eq!(pos.cost(Up), 0);
        assert_eq!(pos.qty(Up), 0);
    }

    #[test]
    fn bad_fills_are_refused_and_change_nothing() {
        let mut pos = Position::new();
        pos.buy(Up, 400_000, SHARE, 0).unwrap();
        let before = pos.clone();
        assert_eq!(pos.buy(Up, 400_000, 0, 0), Err(PositionError::Size { size: 0 }));
        assert_eq!(pos.buy(Up, 0, SHARE, 0), Err(PositionError::Price { price: 0 }));
        assert_eq!(pos.buy(Up, MICROS, SHARE, 0), Err(PositionError::Price { price: MICROS }));
        assert_eq!(
            pos.buy(Up, 400_000, SHARE, -1),
            Err(PositionError::Fee { fee: -1, notional: 400_000 * SHARE as i128 })
        );
        assert!(matches!(pos.buy(Up, 400_000, SHARE, 400_001), Err(PositionError::Fee { .. })));
        assert_eq!(
            pos.sell(Up, 400_000, 2 * SHARE, 0),
            Err(PositionError::Oversell { outcome: Up, size: 2 * SHARE, held: SHARE })
        );
        assert!(matches!(pos.buy(Up, 400_000, MAX_QTY, 0), Err(PositionError::TooLarge { .. })));
        assert_eq!(pos, before);
        assert_eq!(pos.sell(Down, 400_000, SHARE, 0).unwrap_err().to_string(), "cannot sell 1 down shares holding 0");
        assert_eq!(pos.buy(Up, 1_500_000, SHARE, 0).unwrap_err().to_string(), "fill price 1.5 out of range (0, 1)");
    }

    #[test]
    fn mark_pnl_values_holdings_at_best_bids() {
        let mut market = Market::new("u", "d", 10_000).unwrap();
        let level = |p: i64, s: i64| (Price::from_micros(p).unwrap(), Size::from_micros(s).unwrap());
        market.book_mut(Up).apply_snapshot(&[level(450_000, SHARE)], &[level(470_000, SHARE)]).unwrap();
        market.book_mut(Down).apply_snapshot(&[], &[level(550_000, SHARE)]).unwrap();
        let mut pos = Position::new();
        pos.buy(Up, 400_000, 10 * SHARE, 0).unwrap();
        pos.buy(Down, 500_000, 10 * SHARE, 0).unwrap();
        // Up 10 x 0.45, Down has no bid: 4.5 - 9.
        assert_eq!(pos.mark_pnl(&market), -4_500_000 * MICROS as i128);
    }

    #[test]
    fn extreme_quantities_stay_exact() {
        let mut pos = Position::new();
        pos.buy(Up, 999_999, MAX_QTY, 999_999 * (MAX_QTY / MICROS)).unwrap();
        pos.buy(Down, 1, MAX_QTY - 1, 0).unwrap();
        let pair = pos.pair_cost().unwrap();
        assert!(pair.num > pair.den);
        let locked = pos.locked_profit();
        assert!(locked.num < 0);
        assert!(pos.worst_case_pnl() < 0);
    }
}
