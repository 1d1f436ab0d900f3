//! One token's order book: a fixed price ladder of 0.0001 steps with an occupancy bitmap.
//!
//! Prices live on a bounded grid (the finest tick the exchange uses is 0.0001, so there are
//! 9,999 possible levels), which makes a level update one array store plus a bit flip, and
//! the best price a cached index refreshed by a word scan of the bitmap only when the best
//! level itself empties.

use crate::fixed::{Money, Price, Size, MICROS};
use std::fmt;

/// Micro-dollars between two adjacent ladder slots: the exchange's finest tick, 0.0001.
pub const GRID_MICROS: i64 = 100;
/// Slots 1..=9999 hold prices 0.0001..=0.9999; slot 0 and 10000 are never valid.
const SLOTS: usize = (MICROS / GRID_MICROS) as usize;
const WORDS: usize = SLOTS.div_ceil(64);
/// The tick sizes the exchange uses, in micro-dollars.
pub const VALID_TICKS: [i64; 4] = [100_000, 10_000, 1_000, 100];

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BookSide {
    Bid,
    Ask,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookError {
    OffGrid { price: Price },
    InvalidTick { tick_micros: i64 },
    NoSnapshot,
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookError::OffGrid { price } => {
                write!(f, "price {price} is not on the 0.0001 grid")
            }
            BookError::InvalidTick { tick_micros } => write!(
                f,
                "tick size {} is not one of 0.1, 0.01, 0.001, 0.0001",
                crate::fixed::format_micros(*tick_micros)
            ),
            BookError::NoSnapshot => write!(f, "level update before the first snapshot"),
        }
    }
}

impl std::error::Error for BookError {}

/// Validates a tick size in micro-dollars.
pub fn check_tick(tick_micros: i64) -> Result<i64, BookError> {
    if VALID_TICKS.contains(&tick_micros) {
        Ok(tick_micros)
    } else {
        Err(BookError::InvalidTick { tick_micros })
    }
}

/// The result of walking one side of the book for a given quantity.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// Shares the book can provide within the limit (at most the quantity asked for).
    pub filled: Size,
    /// Exact money exchanged for `filled`, before fees.
    pub notional: Money,
    /// The last (worst) price touched, if anything filled.
    pub worst_price: Option<Price>,
}

/// One side of the ladder: sizes by slot, a bitmap of non-empty slots, a cached best slot.
#[derive(Clone)]
struct Ladder {
    sizes: Box<[i64; SLOTS + 1]>,
    occupied: [u64; WORDS + 1],
    /// Best slot (highest bid / lowest ask), 0 when the side is empty.
    best: usize,
    levels: u32,
    is_bid: bool,
}

impl Ladder {
    fn new(is_bid: bool) -> Ladder {
        Ladder { sizes: Box::new([0; SLOTS + 1]), occupied: [0; WORDS + 1], best: 0, levels: 0, is_bid }
    }

    fn clear(&mut self) {
        for word in 0..self.occupied.len() {
            let mut bits = self.occupied[word];
            while bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                self.sizes[word * 64 + bit] = 0;
                bits &= bits - 1;
            }
            self.occupied[word] = 0;
        }
        self.best = 0;
        self.levels = 0;
    }

    fn is_better(&self, a: usize, b: usize) -> bool {
        if self.is_bid {
            a > b
        } else {
            a < b
        }
    }

    fn set(&mut self, slot: usize, size: i64) {
        let (word, bit) = (slot / 64, slot % 64);
        let was = self.sizes[slot] != 0;
        self.sizes[slot] = size;
        if size != 0 {
            if !was {
                self.occupied[word] |= 1 << bit;
                self.levels += 1;
                if self.best == 0 || self.is_better(slot, self.best) {
                    self.best = slot;
                }
            }
        } else if was {
            self.occupied[word] &= !(1 << bit);
            self.levels -= 1;
            if slot == self.best {
                self.best = self.next_from(slot).unwrap_or(0);
            }
        }
    }

    /// The next occupied slot at or worse than `slot` (lower for bids, higher for asks).
    fn next_from(&self, slot: usize) -> Option<usize> {
        if self.is_bid {
            let mut word = slot / 64;
            let mut bits = self.occupied[word] & (u64::MAX >> (63 - slot % 64));
            loop {
                if bits != 0 {
                    return Some(word * 64 + 63 - bits.leading_zeros() as usize);
                }
                if word == 0 {
                    return None;
                }
                word -= 1;
                bits = self.occupied[word];
            }
        } else {
            let mut word = slot / 64;
            let mut bits = self.occupied[word] & (u64::MAX << (slot % 64));
            loop {
                if bits != 0 {
                    return Some(word * 64 + bits.trailing_zeros() as usize);
                }
                word += 1;
                if word >= self.occupied.len() {
                    return None;
                }
                bits = self.occupied[word];
            }
        }
    }

    /// Occupied slots from the best outward.
    fn iter(&self) -> LadderIter<'_> {
        LadderIter { ladder: self, next: if self.best == 0 { None } else { Some(self.best) } }
    }
}

struct LadderIter<'a> {
    ladder: &'a Ladder,
    next: Option<usize>,
}

impl Iterator for LadderIter<'_> {
    type Item = (usize, i64);

    fn next(&mut self) -> Option<(usize, i64)> {
        let slot = self.next?;
        self.next = if self.ladder.is_bid {
            if slot <= 1 {
                None
            } else {
                self.ladder.next_from(slot - 1)
            }
        } else if slot >= SLOTS - 1 {
            None
        } else {
            self.ladder.next_from(slot + 1)
        };
        Some((slot, self.ladder.sizes[slot]))
    }
}

fn slot_of(price: Price) -> Result<usize, BookError> {
    if price.micros() % GRID_MICROS != 0 {
        return Err(BookError::OffGrid { price });
    }
    Ok((price.micros() / GRID_MICROS) as usize)
}

fn price_of(slot: usize) -> Price {
    Price::from_micros(slot as i64 * GRID_MICROS).expect("occupied slots hold valid prices")
}

/// A token's order book.
#[derive(Clone)]
pub struct Book {
    bids: Ladder,
    asks: Ladder,
    tick_micros: i64,
    /// Bumped whenever the book is replaced or invalidated, so readers can tell books apart.
    epoch: u64,
    has_snapshot: bool,
}

impl Default for Book {
    fn default() -> Self {
        Book::new(10_000).expect("0.01 is a valid tick")
    }
}

impl fmt::Debug for Book {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Book")
            .field("best_bid", &self.best_bid())
            .field("best_ask", &self.best_ask())
            .field("bid_levels", &self.bids.levels)
            .field("ask_levels", &self.asks.levels)
            .field("tick_micros", &self.tick_micros)
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl Book {
    pub fn new(tick_micros: i64) -> Result<Book, BookError> {
        Ok(Book {
            bids: Ladder::new(true),
            asks: Ladder::new(false),
            tick_micros: check_tick(tick_micros)?,
            epoch: 0,
            has_snapshot: false,
        })
    }

    /// Replaces the whole book. Levels may come in any order; a zero size is skipped and a
    /// price repeated keeps its last size. Nothing changes when any price is off the grid.
    pub fn apply_snapshot(&mut self, bids: &[(Price, Size)], asks: &[(Price, Size)]) -> Result<(), BookError> {
        for &(price, _) in bids.iter().chain(asks) {
            slot_of(price)?;
        }
        self.reset_levels();
        for &(price, size) in bids {
            self.bids.set(price.micros() as usize / GRID_MICROS as usize, size.micros());
        }
        for &(price, size) in asks {
            self.asks.set(price.micros() as usize / GRID_MICROS as usize, size.micros());
        }
        self.has_snapshot = true;
        Ok(())
    }

    /// Empties the book and starts a new epoch; level updates are refused until a snapshot.
    pub fn invalidate(&mut self) {
        self.reset_levels();
        self.has_snapshot = false;
    }

    fn reset_levels(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.epoch += 1;
    }

    /// Sets the total size at one level; zero removes it.
    pub fn set_level(&mut self, side: BookSide, price: Price, size: Size) -> Result<(), BookError> {
        if !self.has_snapshot {
            return Err(BookError::NoSnapshot);
        }
        let slot = slot_of(price)?;
        match side {
            BookSide::Bid => self.bids.set(slot, size.micros()),
            BookSide::Ask => self.asks.set(slot, size.micros()),
        }
        Ok(())
    }

    pub fn set_tick(&mut self, tick_micros: i64) -> Result<(), BookError> {
        self.tick_micros = check_tick(tick_micros)?;
        Ok(())
    }

    pub fn tick_micros(&self) -> i64 {
        self.tick_micros
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn has_snapshot(&self) -> bool {
        self.has_snapshot
    }

    fn ladder(&self, side: BookSide) -> &Ladder {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    pub fn best(&self, side: BookSide) -> Option<(Price, Size)> {
        let ladder = self.ladder(side);
        (ladder.best != 0).then(|| (price_of(ladder.best), Size::from_micros(ladder.sizes[ladder.best]).unwrap()))
    }

    pub fn best_bid(&self) -> Option<Price> {
        (self.bids.best != 0).then(|| price_of(self.bids.best))
    }

    pub fn best_ask(&self) -> Option<Price> {
        (self.asks.best != 0).then(|| price_of(self.asks.best))
    }

    pub fn level_count(&self, side: BookSide) -> u32 {
        self.ladder(side).levels
    }

    pub fn size_at(&self, side: BookSide, price: Price) -> Size {
        match slot_of(price) {
            Ok(slot) => Size::from_micros(self.ladder(side).sizes[slot]).unwrap(),
            Err(_) => Size::ZERO,
        }
    }

    /// Levels from the best outward.
    pub fn levels(&self, side: BookSide) -> impl Iterator<Item = (Price, Size)> + '_ {
        self.ladder(side).iter().map(|(slot, size)| (price_of(slot), Size::from_micros(size).unwrap()))
    }

    /// True when the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        self.bids.best != 0 && self.asks.best != 0 && self.bids.best >= self.asks.best
    }

    /// Total size on `side` at prices no worse than `bound` (asks at or below it, bids at or
    /// above it), saturating at the largest `Size`.
    pub fn depth_within(&self, side: BookSide, bound: Price) -> Size {
        let bound_micros = bound.micros();
        let mut total: i128 = 0;
        for (slot, size) in self.ladder(side).iter() {
            let price = slot as i64 * GRID_MICROS;
            let inside = match side {
                BookSide::Bid => price >= bound_micros,
                BookSide::Ask => price <= bound_micros,
            };
            if !inside {
                break;
            }
            total += i128::from(size);
        }
        Size::from_micros(total.min(i128::from(i64::MAX)) as i64).unwrap()
    }

    /// Walks `side` from its best level for up to `quantity` shares at prices no worse than
    /// `limit` (None: no limit). Buying walks the asks, selling walks the bids.
    pub fn walk(&self, side: BookSide, quantity: Size, limit: Option<Price>) -> Walk {
        let mut remaining = quantity.micros();
        let mut walk = Walk::default();
        let mut filled: i64 = 0;
        for (slot, size) in self.ladder(side).iter() {
            if remaining == 0 {
                break;
            }
            let price = price_of(slot);
            if let Some(limit) = limit {
                let acceptable = match side {
                    BookSide::Ask => price <= limit,
                    BookSide::Bid => price >= limit,
                };
                if !acceptable {
                    break;
                }
            }
            let take = size.min(remaining);
            remaining -= take;
            filled += take;
            walk.notional += Money::notional(price, Size::from_micros(take).unwrap());
            walk.worst_price = Some(price);
        }
        walk.filled = Size::from_micros(filled).unwrap();
        walk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn s(text: &str) -> Size {
        Size::parse(text).unwrap()
    }

    fn sample() -> Book {
        let mut book = Book::new(10_000).unwrap();
        book.apply_snapshot(
            &[(p("0.48"), s("500")), (p("0.50"), s("200")), (p("0.49"), s("350"))],
            &[(p("0.53"), s("400")), (p("0.51"), s("150")), (p("0.52"), s("250"))],
        )
        .unwrap();
        book
    }

    #[test]
    fn snapshot_in_any_order_gives_best_prices() {
        let book = sample();
        assert_eq!(book.best_bid(), Some(p("0.50")));
        assert_eq!(book.best_ask(), Some(p("0.51")));
        assert_eq!(book.best(BookSide::Ask), Some((p("0.51"), s("150"))));
        assert_eq!(book.level_count(BookSide::Bid), 3);
        let bids: Vec<_> = book.levels(BookSide::Bid).map(|(price, _)| price).collect();
        assert_eq!(bids, vec![p("0.50"), p("0.49"), p("0.48")]);
        let asks: Vec<_> = book.levels(BookSide::Ask).map(|(price, _)| price).collect();
        assert_eq!(asks, vec![p("0.51"), p("0.52"), p("0.53")]);
    }

    #[test]
    fn removing_the_best_level_finds_the_next_one() {
        let mut book = sample();
        book.set_level(BookSide::Bid, p("0.50"), Size::ZERO).unwrap();
        assert_eq!(book.best_bid(), Some(p("0.49")));
        book.set_level(BookSide::Ask, p("0.51"), Size::ZERO).unwrap();
        assert_eq!(book.best_ask(), Some(p("0.52")));
        book.set_level(BookSide::Ask, p("0.0001"), s("1")).unwrap();
        assert_eq!(book.best_ask(), Some(p("0.0001")));
        book.set_level(BookSide::Ask, p("0.0001"), Size::ZERO).unwrap();
        book.set_level(BookSide::Ask, p("0.52"), Size::ZERO).unwrap();
        book.set_level(BookSide::Ask, p("0.53"), Size::ZERO).unwrap();
        assert_eq!(book.best_ask(), None);
        assert_eq!(book.level_count(BookSide::Ask), 0);
        book.set_level(BookSide::Bid, p("0.9999"), s("2")).unwrap();
        assert_eq!(book.best_bid(), Some(p("0.9999")));
        assert_eq!(book.levels(BookSide::Bid).count(), 3);
    }

    #[test]
    fn removing_an_absent_level_changes_nothing() {
        let mut book = sample();
        book.set_level(BookSide::Bid, p("0.30"), Size::ZERO).unwrap();
        assert_eq!(book.level_count(BookSide::Bid), 3);
    }

    #[test]
    fn updates_before_a_snapshot_are_refused() {
        let mut book = Book::new(10_000).unwrap();
        assert_eq!(book.set_level(BookSide::Bid, p("0.5"), s("1")), Err(BookError::NoSnapshot));
        let mut book = sample();
        let epoch = book.epoch();
        book.invalidate();
        assert!(book.epoch() > epoch);
        assert_eq!(book.best_bid(), None);
        assert_eq!(book.set_level(BookSide::Bid, p("0.5"), s("1")), Err(BookError::NoSnapshot));
    }

    #[test]
    fn off_grid_snapshot_leaves_the_book_unchanged() {
        let mut book = sample();
        let err = book.apply_snapshot(&[(p("0.12345"), s("1"))], &[]).unwrap_err();
        assert_eq!(err, BookError::OffGrid { price: p("0.12345") });
        assert_eq!(book.best_bid(), Some(p("0.50")));
        assert!(book.set_level(BookSide::Ask, p("0.00005"), s("1")).is_err());
    }

    #[test]
    fn walking_the_asks_gives_exact_cost() {
        let book = sample();
        let walk = book.walk(BookSide::Ask, s("200"), None);
        assert_eq!(walk.filled, s("200"));
        assert_eq!(walk.notional, Money::notional(p("0.51"), s("150")) + Money::notional(p("0.52"), s("50")));
        assert_eq!(walk.worst_price, Some(p("0.52")));
        let limited = book.walk(BookSide::Ask, s("1000"), Some(p("0.52")));
        assert_eq!(limited.filled, s("400"));
        let sell = book.walk(BookSide::Bid, s("250"), Some(p("0.49")));
        assert_eq!(sell.filled, s("250"));
        assert_eq!(sell.notional, Money::notional(p("0.50"), s("200")) + Money::notional(p("0.49"), s("50")));
    }

    #[test]
    fn depth_and_crossing() {
        let mut book = sample();
        assert_eq!(book.depth_within(BookSide::Ask, p("0.52")), s("400"));
        assert_eq!(book.depth_within(BookSide::Bid, p("0.49")), s("550"));
        assert_eq!(book.depth_within(BookSide::Bid, p("0.99")), Size::ZERO);
        assert!(!book.is_crossed());
        book.set_level(BookSide::Bid, p("0.51"), s("1")).unwrap();
        assert!(book.is_crossed());
    }

    #[test]
    fn ticks_are_validated() {
        assert!(Book::new(10_000).is_ok());
        assert!(Book::new(100).is_ok());
        assert_eq!(Book::new(5_000).unwrap_err(), BookError::InvalidTick { tick_micros: 5_000 });
        let mut book = sample();
        book.set_tick(1_000).unwrap();
        assert_eq!(book.tick_micros(), 1_000);
    }
}
