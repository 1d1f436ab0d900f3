//! Books and fee schedules for the scan's unit tests.

use super::Intent;
use crate::book::BookSide;
use crate::fees::FeeSchedule;
use crate::fixed::{Price, Size, MICROS};
use crate::market::{Market, Outcome};

pub const SHARE: i64 = MICROS;

/// Crypto markets' late-2026 schedule: 0.072, exponent 1, takers only.
pub fn crypto_fees() -> FeeSchedule {
    FeeSchedule::new(72_000, 1, true).unwrap()
}

fn levels(levels: &[(i64, i64)]) -> Vec<(Price, Size)> {
    levels
        .iter()
        .map(|&(p, shares)| (Price::from_micros(p).unwrap(), Size::from_micros(shares * SHARE).unwrap()))
        .collect()
}

/// A window whose Down book mirrors the Up book given as (price, whole shares) levels: an
/// Up bid at p is a Down ask at 1 - p, as on the exchange's single matching engine.
pub fn mirrored(up_bids: &[(i64, i64)], up_asks: &[(i64, i64)]) -> Market {
    let flip = |side: &[(i64, i64)]| side.iter().map(|&(p, s)| (MICROS - p, s)).collect::<Vec<_>>();
    let mut market = Market::new("up", "down", 10_000).unwrap();
    market.book_mut(Outcome::Up).apply_snapshot(&levels(up_bids), &levels(up_asks)).unwrap();
    market.book_mut(Outcome::Down).apply_snapshot(&levels(&flip(up_asks)), &levels(&flip(up_bids))).unwrap();
    market
}

/// Replaces one side's asks, keeping its bids.
pub fn set_asks(market: &mut Market, outcome: Outcome, asks: &[(i64, i64)]) {
    let book = market.book_mut(outcome);
    let bids: Vec<_> = book.levels(BookSide::Bid).collect();
    book.apply_snapshot(&bids, &levels(asks)).unwrap();
}

pub fn find(intents: &[Intent], outcome: Outcome) -> Option<Intent> {
    intents.iter().copied().find(|i| i.outcome == outcome)
}
