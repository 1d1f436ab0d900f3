//! Prices and sizes of single orders under an exact bound: the highest maker bid or taker
//! limit at which a rule still holds, and what an order could cost at most.

use super::{floor_step, Intent, OrderType};
use crate::book::{Book, BookSide};
use crate::fees::{FeeSchedule, U256};
use crate::fixed::{Price, Size, MICROS};

/// A rule's test for one buy: `holds(cost, size)` with `cost` the pico-dollars paid for
/// `size` micro-shares, fee included.
pub(crate) type Holds<'a> = &'a dyn Fn(i128, i64) -> bool;

/// Pico-dollars paid for `size` at `price`, fee included (0 fee for a maker when takers only pay).
pub(crate) fn buy_cost(fees: &FeeSchedule, price: i64, size: i64, maker: bool) -> i128 {
    let (p, s) = (Price::from_micros(price).expect("a valid price"), Size::from_micros(size).expect("a size"));
    price as i128 * size as i128 + fees.fee(p, s, maker) as i128 * MICROS as i128
}

/// a x b as 256 bits; both are non-negative by construction.
pub(crate) fn wide(a: i128, b: i128) -> U256 {
    debug_assert!(a >= 0 && b >= 0, "exact comparisons take non-negative terms");
    U256::mul(a as u128, b as u128)
}

/// The highest price on `tick`'s grid in [tick, upper] where `ok` holds, searched by bisection
/// (the bounds rise with the price: p + fee(p)/size has slope 1 + rate(1 - 2p)(...) > 0). The
/// price returned has been tested, so it always obeys the rule.
fn highest_price(tick: i64, upper: i64, hint: Option<i64>, ok: &dyn Fn(i64) -> bool) -> Option<Price> {
    let (mut lo, mut hi) = (1_i64, upper / tick);
    if hi < 1 {
        return None;
    }
    // A caller that can solve its bound in closed form passes it: two tests confirm it, and
    // a wrong hint only costs those two tests before the bisection.
    if let Some(hint) = hint {
        let slot = hint.div_euclid(tick);
        if (1..hi).contains(&slot) && ok(slot * tick) && !ok((slot + 1) * tick) {
            return Price::from_micros(slot * tick).ok();
        }
    }
    // A loose rule allows the cap itself: one test instead of a bisection.
    if ok(hi * tick) {
        return Price::from_micros(hi * tick).ok();
    }
    if !ok(tick) {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo + 1) / 2;
        if ok(mid * tick) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Price::from_micros(lo * tick).ok()
}

/// The post-only bid for `size` on `book`: the highest price the rule allows, but never more
/// than `over_ticks` ticks over the best bid (one: joining when the spread is one tick; fewer,
/// or negative, for a side the inventory skew holds back) and never at or over the best ask,
/// where it would cross and be rejected.
pub(crate) fn maker_bid(
    book: &Book,
    fees: &FeeSchedule,
    size: i64,
    holds: Holds<'_>,
    hint: Option<i64>,
    over_ticks: i64,
) -> Option<Price> {
    let tick = book.tick_micros();
    let mut upper = MICROS - tick;
    if let Some(bid) = book.best_bid() {
        upper = upper.min(bid.micros() + over_ticks * tick);
    }
    if let Some(ask) = book.best_ask() {
        upper = upper.min(ask.micros() - tick);
    }
    upper -= upper.rem_euclid(tick);
    highest_price(tick, upper, hint, &|price| holds(buy_cost(fees, price, size, true), size))
}

/// A FAK buy of up to `size`: takes the asks from the best level outward while the rule holds
/// at the level's price for this size. The bound rises with the price (see `highest_price`),
/// so the acceptable levels are a prefix of the ladder, and walking them touches only the
/// few levels the order could take instead of bisecting the whole price range.
/// Returns (limit = worst price taken, size the book offers now, floored to the size step).
pub(crate) fn taker_buy(book: &Book, fees: &FeeSchedule, size: i64, holds: Holds<'_>) -> Option<(Price, i64)> {
    let mut limit = None;
    let mut available: i64 = 0;
    for (price, level) in book.levels(BookSide::Ask) {
        if available >= size || !holds(buy_cost(fees, price.micros(), size, false), size) {
            break;
        }
        limit = Some(price);
        available = available.saturating_add(level.micros());
    }
    let limit = limit?;
    let offered = floor_step(available.min(size));
    if offered == 0 {
        return None;
    }
    let worst = book.walk(BookSide::Ask, Size::from_micros(offered).ok()?, Some(limit)).worst_price?;
    holds(buy_cost(fees, worst.micros(), offered, false), offered).then_some((worst, offered))
}

/// The most a buy intent could cost if it fills in full, fee included.
pub(crate) fn max_buy_cost(fees: &FeeSchedule, intent: &Intent) -> i128 {
    worst_buy_cost(fees, intent.price, intent.size, intent.order_type, intent.post_only)
}

/// The most `size` of a buy with limit `price` could cost if it fills in full, fee
/// included: a post-only GTC bid fills as a maker at its price; any other order may take at
/// any price up to its limit, and the fee per share peaks at p = 0.5.
pub fn worst_buy_cost(fees: &FeeSchedule, price: Price, size: Size, order_type: OrderType, post_only: bool) -> i128 {
    let (p, s) = (price.micros(), size.micros());
    match order_type {
        OrderType::Gtc if post_only => buy_cost(fees, p, s, true),
        _ => {
            let fee_price = p.min(MICROS / 2);
            let fee = fees.taker_fee(Price::from_micros(fee_price).expect("a valid price"), size);
            p as i128 * s as i128 + fee as i128 * MICROS as i128
        }
    }
}

/// The exchange refuses marketable buys under $1 of notional.
pub(crate) fn marketable(price: Price, size: i64) -> bool {
    price.micros() as i128 * size as i128 >= crate::fixed::PICOS
}
