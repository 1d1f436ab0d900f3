//! The accumulator: which buys may rest (maker) or be taken (taker) right now.
//!
//! Choices where DESIGN.md is silent, each what a careful trader would expect:
//! - a cutoff is "inside" when `ms_to_end <= cutoff`;
//! - `|delta| > max_delta` stops accumulating altogether (the equalizer takes over);
//! - the liquidity check guards new exposure, so a buy that only closes the gap to the
//!   other side needs none; when it fails, the order shrinks to that gap;
//! - the instant pair takes both best asks with FAK orders (taker fees included) in either
//!   mode, and when it fires it is the whole answer for this scan;
//! - a FAK buy must be worth $1 at its limit (the exchange's minimum for marketable buys).
//!
//! Bounds on unpaired risk, checked before a buy is sent (issue 11's backtests: the loss
//! comes from unpaired shares bought as the price falls through the bids, not from pairs):
//! - `delta_per_pair_ppm`: |delta| after a buy at most that share of the paired quantity,
//!   but always one `trade_size` (the opening leg), never over `max_delta`;
//! - `unhedged_cap`: filled in full at its worst cost, a buy leaves the window losing at most
//!   the cap if its side loses (all paid, fees included, less $1 a share of the other side);
//!   every buy, pairing ones and each leg of an instant pair included; a buy over it is
//!   shrunk to fit, or dropped;
//! - `mid_edge`: the book's mid is the fair value when nothing better is known; a side is
//!   bought only at or under its mid minus the edge (taker: fee included);
//! - `excess_min_mid`: shares beyond the pairs are bought only on a side whose mid is at
//!   least this (the likelier winner): a bid that fills alone is mostly on the loser;
//! - maker skew: the heavy side's bid drops `skew_ticks_per_clip` ticks per `trade_size` of
//!   |delta| under the usual one tick over the best bid; the lagging side may bid
//!   `lag_bid_ticks` over it, always under its pair bound.

use super::pricing::{buy_cost, maker_bid, marketable, max_buy_cost, taker_buy, wide, Holds};
use super::{floor_step, Action, Intent, Mode, Rule, StrategyParams};
use crate::book::BookSide;
use crate::fees::FeeSchedule;
use crate::fixed::{Price, Size, MICROS};
use crate::market::{Market, Outcome};
use crate::position::Position;

/// What else the engine knows when it scans.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AccumulateFlags {
    pub halted: bool,
    pub feed_stale: bool,
    /// Pico-dollars the portfolio caps still allow; None = no cap.
    pub capital_room: Option<i128>,
    /// Micro-shares of unhedged exposure the portfolio cap still allows; None = no cap.
    pub unhedged_room: Option<i64>,
}

/// The buys the accumulator wants now: in maker mode the post-only bids that should rest
/// (0..2), in taker mode the FAK orders to send. Both legs of an instant pair, when it fires.
pub fn accumulate(
    market: &Market,
    position: &Position,
    params: &StrategyParams,
    fees: &FeeSchedule,
    ms_to_end: i64,
    flags: AccumulateFlags,
) -> Vec<Intent> {
    if flags.halted || flags.feed_stale || ms_to_end <= params.quote_cutoff_ms {
        return Vec::new();
    }
    let free = FeeSchedule::free();
    let fees = if params.fee_blind { &free } else { fees };
    if position.delta().unsigned_abs() > params.max_delta as u64 {
        return Vec::new();
    }
    if !Outcome::BOTH.iter().all(|&o| market.book(o).has_snapshot()) {
        return Vec::new();
    }
    let mut intents = buys(market, position, params, fees, ms_to_end > params.open_cutoff_ms, flags.capital_room);
    if let Some(room) = flags.unhedged_room {
        // Each buy on its own: one that would add more unhedged shares than the room is dropped.
        let delta = position.delta();
        intents.retain(|intent| unhedged_added(delta, intent) <= room.max(0));
    }
    intents
}

fn buys(
    market: &Market,
    position: &Position,
    params: &StrategyParams,
    fees: &FeeSchedule,
    opening_window: bool,
    capital_room: Option<i128>,
) -> Vec<Intent> {
    if opening_window {
        if let Some(pair) = instant_pair(market, position, params, fees, capital_room) {
            return pair.to_vec();
        }
    }
    // Both bids may fill, so they share the room.
    let mut room = capital_room;
    let mut intents = Vec::with_capacity(2);
    for side in Outcome::BOTH {
        if let Some(intent) = side_buy(market, position, params, fees, side, opening_window, room) {
            room = room.map(|left| left - max_buy_cost(fees, &intent));
            intents.push(intent);
        }
    }
    intents
}

/// Micro-shares by which a buy, were it to fill, raises |delta| (negative: it lowers it).
fn unhedged_added(delta: i64, intent: &Intent) -> i64 {
    let size = intent.size.micros();
    let after = if intent.outcome == Outcome::Up { delta + size } else { delta - size };
    after.abs() - delta.abs()
}

/// Both best asks together, taker fees included, below the target: buy both at once.
fn instant_pair(
    market: &Market,
    position: &Position,
    params: &StrategyParams,
    fees: &FeeSchedule,
    room: Option<i128>,
) -> Option<[Intent; 2]> {
    let (up, down) = (market.book(Outcome::Up).best(BookSide::Ask)?, market.book(Outcome::Down).best(BookSide::Ask)?);
    // If only one leg fills, delta moves by the size either way.
    let delta_room = delta_bound(params, position) - position.delta().abs();
    let mut size = floor_step(params.trade_size.min(up.1.micros()).min(down.1.micros()).min(delta_room));
    for _ in 0..4 {
        if size < params.min_order_size || !marketable(up.0, size) || !marketable(down.0, size) {
            return None;
        }
        let cost = buy_cost(fees, up.0.micros(), size, false) + buy_cost(fees, down.0.micros(), size, false);
        if wide(cost, 1) >= wide(params.target_pair_cost as i128, size as i128) {
            return None;
        }
        let leg = |outcome, price| Intent::taker(outcome, Action::Buy, price, sized(size), Rule::InstantPair);
        let pair = [leg(Outcome::Up, up.0), leg(Outcome::Down, down.0)];
        let worst = max_buy_cost(fees, &pair[0]) + max_buy_cost(fees, &pair[1]);
        // Either leg may fill alone: each is bounded by the unhedged cap on its own.
        let over = |leg: &Intent| {
            let room = params.unhedged_cap as i128 - loss_if_lost(position, leg.outcome);
            let cost = max_buy_cost(fees, leg);
            (params.unhedged_cap > 0 && cost > room).then_some((room, cost))
        };
        match (room, over(&pair[0]).or(over(&pair[1]))) {
            (Some(room), _) if worst > room => size = shrink(size, room, worst),
            (_, Some((room, cost))) => size = shrink(size, room, cost),
            _ => return Some(pair),
        }
    }
    None
}

fn sized(micros: i64) -> Size {
    Size::from_micros(micros).expect("sizes here are positive")
}

/// The size that scales `worst` down to `room`, floored to the step.
fn shrink(size: i64, room: i128, worst: i128) -> i64 {
    floor_step((size as i128 * room.max(0) / worst) as i64)
}

/// One side's buy under the pairing rule (the other side is held) or the opening rule.
fn side_buy(
    market: &Market,
    position: &Position,
    params: &StrategyParams,
    fees: &FeeSchedule,
    side: Outcome,
    opening_window: bool,
    room: Option<i128>,
) -> Option<Intent> {
    let other = side.other();
    let (held, other_held) = (position.qty(side), position.qty(other));
    let gap = (other_held - held).max(0);
    // Filled in full, the buy leaves |delta| within its bound.
    let mut size = params.trade_size.min(delta_bound(params, position) + other_held - held);
    if !opening_window {
        // Inside the open cutoff only |delta|-reducing bids: never past the gap.
        size = size.min(gap);
    }
    if size > gap && !hedgeable(market, params, other) {
        size = gap;
    }
    if size > gap && params.excess_min_mid > 0 && mid(market.book(side)).is_none_or(|m| m < params.excess_min_mid) {
        size = gap;
    }
    let mut size = floor_step(size.max(0));
    let other_cost = position.cost(other);
    let (target, rule) =
        if other_held > 0 { (params.target_pair_cost, Rule::Pairing) } else { (params.entry_max_price, Rule::Opening) };
    // Pairing: (cost/size) + avg_other <= target, i.e. cost q_o + c_o size <= target size q_o;
    // opening: cost/size <= entry_max_price (q_o = 1, c_o = 0).
    let (q_o, c_o) = if other_held > 0 { (other_held as i128, other_cost) } else { (1, 0) };
    let fair_cap = match params.mid_edge {
        None => None,
        Some(edge) => Some(mid(market.book(side))? - edge),
    };
    let holds = move |cost: i128, size: i64| {
        fair_cap.is_none_or(|cap| cost <= cap as i128 * size as i128)
            && wide(cost, q_o).plus(wide(c_o, size as i128)) <= wide(target as i128 * size as i128, q_o)
    };
    // Without a fee the bound is linear: p q_o + c_o <= target q_o (a maker's usual case).
    let hint = i64::try_from((target as i128 * q_o - c_o).div_euclid(q_o)).ok();
    let book = market.book(side);
    let over_ticks = skew_ticks(params, held, other_held);
    for _ in 0..4 {
        if size < params.min_order_size {
            return None;
        }
        let intent = order(book, fees, params.mode, side, size, &holds, rule, hint, over_ticks)?;
        if intent.size.micros() < params.min_order_size {
            // A taker's order shrinks to the depth the rule allows, which may be less.
            return None;
        }
        let worst = max_buy_cost(fees, &intent);
        if let Some(room) = room.filter(|&room| worst > room) {
            size = shrink(intent.size.micros(), room, worst);
            continue;
        }
        match unhedged_fit(position, params, side, &intent, worst) {
            Some(fit) if fit < intent.size.micros() => size = fit,
            Some(_) => return Some(intent),
            None => return None,
        }
    }
    None
}

/// The book's mid in micro-dollars (floored), when it has both a bid and an ask.
fn mid(book: &crate::book::Book) -> Option<i64> {
    Some((book.best_bid()?.micros() + book.best_ask()?.micros()) / 2)
}

/// The |delta| a buy may leave: `max_delta`, or with `delta_per_pair_ppm` that share of the
/// paired quantity (but at least one `trade_size`, at most `max_delta`).
fn delta_bound(params: &StrategyParams, position: &Position) -> i64 {
    if params.delta_per_pair_ppm == 0 {
        return params.max_delta;
    }
    let scaled = (position.hedged() as i128 * params.delta_per_pair_ppm as i128 / MICROS as i128) as i64;
    scaled.max(params.trade_size).min(params.max_delta)
}

/// Ticks over the best bid side `held` may bid (see the module's notes on the skew).
fn skew_ticks(params: &StrategyParams, held: i64, other_held: i64) -> i64 {
    if held > other_held {
        1 - params.skew_ticks_per_clip * ((held - other_held) / params.trade_size)
    } else if held < other_held {
        params.lag_bid_ticks
    } else {
        1
    }
}

/// Pico-dollars the window loses at settlement if `side` loses (negative: it gains): all it
/// paid, fees included, less $1 for each share of the other side.
fn loss_if_lost(position: &Position, side: Outcome) -> i128 {
    position.cost(side) + position.cost(side.other()) - position.qty(side.other()) as i128 * MICROS as i128
}

/// Checks `intent` (costing `worst` at most) against `unhedged_cap`: Some(its size) when it
/// fits, Some(a smaller size) to try instead, None when no buy of this side fits.
///
/// The bound is the window's own loss: filled in full, the buy leaves the window losing at
/// most the cap if its side loses. Every buy is judged so, pairing ones included (a pairing
/// buy past its gap is an unpaired clip like any other; one within it lowers the loss).
fn unhedged_fit(position: &Position, params: &StrategyParams, side: Outcome, intent: &Intent, worst: i128) -> Option<i64> {
    let size = intent.size.micros();
    if params.unhedged_cap == 0 {
        return Some(size);
    }
    let room = params.unhedged_cap as i128 - loss_if_lost(position, side);
    if worst <= room {
        return Some(size);
    }
    let fit = floor_step((size as i128 * room.max(0) / worst.max(1)) as i64);
    (fit >= params.min_order_size && fit < size).then_some(fit)
}

#[allow(clippy::too_many_arguments)]
fn order(
    book: &crate::book::Book,
    fees: &FeeSchedule,
    mode: Mode,
    side: Outcome,
    size: i64,
    holds: Holds<'_>,
    rule: Rule,
    hint: Option<i64>,
    over_ticks: i64,
) -> Option<Intent> {
    match mode {
        Mode::Maker => {
            maker_bid(book, fees, size, holds, hint, over_ticks).map(|price| Intent::maker_bid(side, price, sized(size), rule))
        }
        Mode::Taker => {
            let (limit, offered) = taker_buy(book, fees, size, holds)?;
            marketable(limit, offered).then(|| Intent::taker(side, Action::Buy, limit, sized(offered), rule))
        }
    }
}

/// The liquidity rule: the other side's asks within `hedge_slippage` of its best ask hold at
/// least `liquidity_multiple` x `trade_size`, so a leg bought now can still be hedged.
fn hedgeable(market: &Market, params: &StrategyParams, other: Outcome) -> bool {
    let book = market.book(other);
    let Some(best) = book.best_ask() else {
        return false;
    };
    let bound = Price::from_micros((best.micros() + params.hedge_slippage).min(crate::fixed::MICROS - 1))
        .expect("inside (0, 1)");
    let depth = book.depth_within(BookSide::Ask, bound).micros() as i128;
    depth >= params.liquidity_multiple as i128 * params.trade_size as i128
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::testkit::*;
    use crate::scan::OrderType;

    fn maker() -> StrategyParams {
        StrategyParams::default()
    }

    fn taker() -> StrategyParams {
        StrategyParams { mode: Mode::Taker, ..StrategyParams::default() }
    }

    const OPEN: i64 = 600_000;

    #[test]
    fn opening_leg_bids_when_up_is_cheap() {
        // Up ask 0.40: the opening rule allows 0.45, but a bid at the ask would cross, so it
        // joins the 0.39 bid (a one-tick spread).
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let intents = accumulate(&market, &Position::new(), &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        let up = find(&intents, Outcome::Up).expect("an Up bid");
        assert_eq!((up.price.micros(), up.size.micros(), up.rule), (400_000 - 10_000, 10 * SHARE, Rule::Opening));
        assert!(up.post_only && up.order_type == OrderType::Gtc);
        // Down's best bid is 0.60, far above 0.45: the rule allows 0.45 and the cap lets it rest there.
        let down = find(&intents, Outcome::Down).expect("a Down bid at the opening bound");
        assert_eq!(down.price.micros(), 450_000);
    }

    #[test]
    fn pairing_leg_after_the_up_leg_in_taker_mode_includes_the_fee() {
        // Holding 10 Up at 0.40, the Down ask is 0.55: 0.55 + fee + 0.40 <= 0.98 with
        // fee(0.55) = 0.072 x 0.2475 = 0.01782 a share.
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 10 * SHARE, 0).unwrap();
        let market = mirrored(&[(450_000, 100)], &[(460_000, 100)]);
        let intents = accumulate(&market, &position, &taker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        let down = find(&intents, Outcome::Down).expect("a Down FAK");
        assert_eq!((down.price.micros(), down.size.micros(), down.rule), (550_000, 10 * SHARE, Rule::Pairing));
        assert_eq!(down.order_type, OrderType::Fak);
        // At 0.57 the fee (0.01764) pushes the pair to 0.98764 > 0.98: no Down buy.
        let market = mirrored(&[(430_000, 100)], &[(440_000, 100)]);
        let intents = accumulate(&market, &position, &taker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(find(&intents, Outcome::Down).is_none(), "{intents:?}");
    }

    #[test]
    fn pairing_bid_is_the_highest_price_under_the_target_in_maker_mode() {
        // avg_up 0.40, target 0.98: a maker Down bid may go to 0.58; Down bid 0.57, ask 0.60.
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 10 * SHARE, 0).unwrap();
        let market = mirrored(&[(400_000, 100)], &[(430_000, 100)]);
        let intents = accumulate(&market, &position, &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        let down = find(&intents, Outcome::Down).unwrap();
        assert_eq!((down.price.micros(), down.rule), (580_000, Rule::Pairing));
        // With Down's best bid 0.52, it goes one tick over: 0.53.
        let market = mirrored(&[(400_000, 100)], &[(480_000, 100)]);
        let intents = accumulate(&market, &position, &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Down).unwrap().price.micros(), 530_000);
    }

    #[test]
    fn joins_the_best_bid_when_the_spread_is_one_tick() {
        let market = mirrored(&[(300_000, 100)], &[(310_000, 100)]);
        let intents = accumulate(&market, &Position::new(), &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Up).unwrap().price.micros(), 300_000);
    }

    #[test]
    fn sizing_keeps_delta_inside_max_delta() {
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 45 * SHARE, 0).unwrap();
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let intents = accumulate(&market, &position, &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Up).unwrap().size.micros(), 5 * SHARE);
        position.buy(Outcome::Up, 400_000, SHARE, 0).unwrap();
        let intents = accumulate(&market, &position, &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(find(&intents, Outcome::Up).is_none(), "4 shares of room is under the minimum order");
    }

    #[test]
    fn thin_opposite_side_blocks_new_exposure() {
        // Down's asks within 0.02 of its best hold 20 shares < 3 x 10.
        let market = mirrored(&[(390_000, 20)], &[(400_000, 100)]);
        let intents = accumulate(&market, &Position::new(), &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(find(&intents, Outcome::Up).is_none(), "{intents:?}");
        let market = mirrored(&[(390_000, 20), (380_000, 10)], &[(400_000, 100)]);
        let intents = accumulate(&market, &Position::new(), &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(find(&intents, Outcome::Up).is_some(), "{intents:?}");
    }

    #[test]
    fn cutoffs_allow_only_reducing_bids_then_nothing() {
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 8 * SHARE, 0).unwrap();
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let inside_open = accumulate(&market, &position, &maker(), &crypto_fees(), 60_000, AccumulateFlags::default());
        assert_eq!(inside_open.len(), 1, "{inside_open:?}");
        assert_eq!((inside_open[0].outcome, inside_open[0].size.micros()), (Outcome::Down, 8 * SHARE));
        let inside_quote = accumulate(&market, &position, &maker(), &crypto_fees(), 10_000, AccumulateFlags::default());
        assert!(inside_quote.is_empty());
    }

    #[test]
    fn halt_stale_feed_and_capital_cap_stop_new_orders() {
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let pos = Position::new();
        for flags in [
            AccumulateFlags { halted: true, ..Default::default() },
            AccumulateFlags { feed_stale: true, ..Default::default() },
            AccumulateFlags { capital_room: Some(0), ..Default::default() },
        ] {
            assert!(accumulate(&market, &pos, &maker(), &crypto_fees(), OPEN, flags).is_empty(), "{flags:?}");
        }
        // $3 of room: the 0.39 bid shrinks to 7.69 shares and leaves too little for Down.
        let flags = AccumulateFlags { capital_room: Some(3 * crate::fixed::PICOS), ..Default::default() };
        let intents = accumulate(&market, &pos, &maker(), &crypto_fees(), OPEN, flags);
        assert_eq!(intents.len(), 1, "{intents:?}");
        assert_eq!((intents[0].outcome, intents[0].size.micros()), (Outcome::Up, 7_690_000));
        let flags = AccumulateFlags { capital_room: Some(7 * crate::fixed::PICOS), ..Default::default() };
        let intents = accumulate(&market, &pos, &maker(), &crypto_fees(), OPEN, flags);
        assert_eq!(intents.len(), 2, "{intents:?}");
        let total: i128 = intents.iter().map(|i| max_buy_cost(&crypto_fees(), i)).sum();
        assert!(total <= 7 * crate::fixed::PICOS);
    }

    #[test]
    fn unhedged_cap_drops_only_the_buys_that_would_add_exposure_beyond_it() {
        // 40 Up held: a 10-share Up bid adds 10 unhedged, the 10-share Down bid removes 10.
        let mut position = Position::new();
        position.buy(Outcome::Up, 300_000, 40 * SHARE, 0).unwrap();
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let sides = |room| {
            let flags = AccumulateFlags { unhedged_room: room, ..Default::default() };
            let intents = accumulate(&market, &position, &maker(), &crypto_fees(), OPEN, flags);
            intents.iter().map(|i| (i.outcome, i.size.micros())).collect::<Vec<_>>()
        };
        let both = vec![(Outcome::Up, 10 * SHARE), (Outcome::Down, 10 * SHARE)];
        assert_eq!(sides(None), both);
        assert_eq!(sides(Some(10 * SHARE)), both);
        assert_eq!(sides(Some(5 * SHARE)), vec![(Outcome::Down, 10 * SHARE)]);
        assert_eq!(sides(Some(0)), vec![(Outcome::Down, 10 * SHARE)]);
    }

    #[test]
    fn a_taker_buy_shrunk_by_the_book_below_the_minimum_order_is_not_sent() {
        // Holding 1 micro-share of Up at 0.25, Down pairs up to 0.60 a share; its ask holds
        // 2 shares, under the 2.000001 minimum: a hypothesis case, where a 2-share FAK came out.
        let mut position = Position::new();
        position.buy(Outcome::Up, 250_000, 1, 0).unwrap();
        let params = StrategyParams {
            target_pair_cost: 850_000,
            entry_max_price: 200_000,
            max_pair_cost: 850_000,
            trade_size: 3 * SHARE,
            min_order_size: 2 * SHARE + 1,
            hedge_slippage: 0,
            liquidity_multiple: 0,
            ..taker()
        };
        let market = mirrored(&[(500_000, 2)], &[(510_000, 10)]);
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(intents.is_empty(), "{intents:?}");
        let market = mirrored(&[(500_000, 3)], &[(510_000, 10)]);
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        let down = find(&intents, Outcome::Down).expect("3 shares offered: the buy goes");
        assert_eq!((down.price.micros(), down.size.micros()), (500_000, 3 * SHARE));
    }

    #[test]
    fn delta_bound_scales_with_the_paired_quantity() {
        // 20% of the pairs, at least one clip: 30 paired + 10 Up allow no more Up at first.
        let params = StrategyParams { delta_per_pair_ppm: 200_000, ..maker() };
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 40 * SHARE, 0).unwrap();
        position.buy(Outcome::Down, 500_000, 30 * SHARE, 0).unwrap();
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(find(&intents, Outcome::Up).is_none(), "{intents:?}");
        assert_eq!(find(&intents, Outcome::Down).unwrap().size.micros(), 10 * SHARE);
        // 100 paired: |delta| may reach 20, so 10 more Up fit.
        position.buy(Outcome::Up, 400_000, 60 * SHARE, 0).unwrap();
        position.buy(Outcome::Down, 500_000, 70 * SHARE, 0).unwrap();
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Up).unwrap().size.micros(), 10 * SHARE);
        // Flat and empty: one clip a side (the opening legs).
        let intents = accumulate(&market, &Position::new(), &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(intents.len(), 2, "{intents:?}");
    }

    #[test]
    fn unhedged_cap_shrinks_or_drops_buys_that_add_unpaired_cost() {
        // $3 cap: an opening Up bid at 0.39 for 10 shares ($3.90) shrinks to 7.69 shares.
        let params = StrategyParams { unhedged_cap: 3 * crate::fixed::PICOS as i64, ..maker() };
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let intents = accumulate(&market, &Position::new(), &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        let up = find(&intents, Outcome::Up).unwrap();
        assert_eq!((up.price.micros(), up.size.micros()), (390_000, 7_690_000));
        // Holding 8 unpaired Up at 0.35 ($2.80): no more Up (0.20 left buys under 5 shares),
        // but the Down bid that pairs them is untouched: if Down loses, 8 Up pay $8.
        let mut position = Position::new();
        position.buy(Outcome::Up, 350_000, 8 * SHARE, 0).unwrap();
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(find(&intents, Outcome::Up).is_none(), "{intents:?}");
        assert_eq!(find(&intents, Outcome::Down).unwrap().size.micros(), 10 * SHARE);
    }

    #[test]
    fn unhedged_cap_bounds_a_pairing_clip_by_the_windows_loss() {
        // 5 Up at 0.60 and 5 Down at 0.40, flat: a full 10-share Up clip at its pair bound
        // 0.58 ($5.80) would leave the window losing $5.80 if Up lost (seed 1001 eth #21 lost
        // $5.85 so, against a $3 cap). The clip is cut to 5.17 shares.
        let params = StrategyParams {
            unhedged_cap: 3 * crate::fixed::PICOS as i64,
            entry_max_price: 600_000,
            excess_min_mid: 600_000,
            ..maker()
        };
        let mut position = Position::new();
        position.buy(Outcome::Up, 600_000, 5 * SHARE, 0).unwrap();
        position.buy(Outcome::Down, 400_000, 5 * SHARE, 0).unwrap();
        let market = mirrored(&[(600_000, 100)], &[(610_000, 100)]);
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        let up = find(&intents, Outcome::Up).expect("an Up bid");
        assert_eq!((up.rule, up.price.micros(), up.size.micros()), (Rule::Pairing, 580_000, 5_170_000));
        let loss = loss_if_lost(&position, Outcome::Up) + max_buy_cost(&crypto_fees(), &up);
        assert!(loss <= params.unhedged_cap as i128, "{loss}");
        // 15 Down at 0.40 instead: 10 Up only pair ($6 paid, $5 less lost if Up wins): whole.
        position.buy(Outcome::Down, 400_000, 10 * SHARE, 0).unwrap();
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Up).unwrap().size.micros(), 10 * SHARE);
    }

    #[test]
    fn instant_pair_legs_are_each_bounded_by_the_unhedged_cap() {
        // Asks 0.40 + 0.50, no fee: 10 shares a leg would put $5 in Down alone; $3 allows 6.
        let params = StrategyParams { unhedged_cap: 3 * crate::fixed::PICOS as i64, ..maker() };
        let mut market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        set_asks(&mut market, Outcome::Down, &[(500_000, 12)]);
        let intents =
            accumulate(&market, &Position::new(), &params, &FeeSchedule::free(), OPEN, AccumulateFlags::default());
        assert_eq!(intents.len(), 2, "{intents:?}");
        assert!(intents.iter().all(|i| i.rule == Rule::InstantPair && i.size.micros() == 6 * SHARE), "{intents:?}");
    }

    #[test]
    fn skew_lowers_the_heavy_bid_and_raises_the_lagging_one() {
        // Spread 0.37 - 0.45 on Up: Up usually bids 0.38, Down (bid 0.55) 0.56.
        let market = mirrored(&[(370_000, 100)], &[(450_000, 100)]);
        let mut position = Position::new();
        position.buy(Outcome::Up, 300_000, 20 * SHARE, 0).unwrap();
        position.buy(Outcome::Down, 300_000, 10 * SHARE, 0).unwrap();
        let plain = StrategyParams { target_pair_cost: 990_000, entry_max_price: 600_000, ..maker() };
        let intents = accumulate(&market, &position, &plain, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Up).unwrap().price.micros(), 380_000);
        assert_eq!(find(&intents, Outcome::Down).unwrap().price.micros(), 560_000);
        // One clip of delta, two ticks per clip: Up one tick under its best bid; Down three
        // ticks over its bid.
        let skewed = StrategyParams { skew_ticks_per_clip: 2, lag_bid_ticks: 3, ..plain };
        let intents = accumulate(&market, &position, &skewed, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Up).unwrap().price.micros(), 360_000);
        assert_eq!(find(&intents, Outcome::Down).unwrap().price.micros(), 580_000);
    }

    #[test]
    fn excess_only_on_a_side_whose_mid_is_high_enough() {
        // Up mid 0.395: with excess_min_mid 0.5 no opening Up bid; Down (mid 0.605) bids.
        let params = StrategyParams { excess_min_mid: 500_000, entry_max_price: 700_000, ..maker() };
        let market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        let intents = accumulate(&market, &Position::new(), &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(find(&intents, Outcome::Up).is_none(), "{intents:?}");
        assert!(find(&intents, Outcome::Down).is_some(), "{intents:?}");
        // Holding 10 Down, an Up bid that only pairs is still allowed, up to the gap.
        let mut position = Position::new();
        position.buy(Outcome::Down, 300_000, 10 * SHARE, 0).unwrap();
        let intents = accumulate(&market, &position, &params, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Up).unwrap().size.micros(), 10 * SHARE);
    }

    #[test]
    fn fee_blind_takes_what_the_fee_would_have_forbidden() {
        // Holding 10 Up at 0.40, Down ask 0.57: with the fee 0.98764 > 0.98, without 0.97.
        let mut position = Position::new();
        position.buy(Outcome::Up, 400_000, 10 * SHARE, 0).unwrap();
        let market = mirrored(&[(430_000, 100)], &[(440_000, 100)]);
        let blind = StrategyParams { fee_blind: true, ..taker() };
        let intents = accumulate(&market, &position, &blind, &crypto_fees(), OPEN, AccumulateFlags::default());
        assert_eq!(find(&intents, Outcome::Down).unwrap().price.micros(), 570_000);
    }

    #[test]
    fn instant_pair_buys_both_asks_when_they_sum_below_target() {
        // Asks 0.40 + 0.50 with no fee: 0.90 < 0.98.
        let mut market = mirrored(&[(390_000, 100)], &[(400_000, 100)]);
        set_asks(&mut market, Outcome::Down, &[(500_000, 12)]);
        let intents =
            accumulate(&market, &Position::new(), &maker(), &FeeSchedule::free(), OPEN, AccumulateFlags::default());
        assert_eq!(intents.len(), 2);
        assert!(intents.iter().all(|i| i.rule == Rule::InstantPair && i.order_type == OrderType::Fak));
        assert_eq!(intents[1].size.micros(), 10 * SHARE);
        // With crypto fees (~0.0173 + 0.018 a share) 0.9353 still passes; at 0.56 it does not.
        set_asks(&mut market, Outcome::Down, &[(560_000, 12)]);
        let intents = accumulate(&market, &Position::new(), &maker(), &crypto_fees(), OPEN, AccumulateFlags::default());
        assert!(intents.iter().all(|i| i.rule != Rule::InstantPair), "{intents:?}");
    }
}
