//! Rust-side timings of the core's hot operations; prints one JSON object to stdout.
//! Run through `benches/bench_core.py` (`make bench`), which adds the Python-side numbers.

use gabagool_core::book::{Book, BookSide};
use gabagool_core::fees::FeeSchedule;
use gabagool_core::fixed::{Price, Size};
use gabagool_core::market::{Market, Outcome};
use gabagool_core::position::Position;
use gabagool_core::scan::{accumulate, equalize, AccumulateFlags, EqualizeFlags, Mode, StrategyParams};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

/// xorshift64*: deterministic inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Best of `rounds` timings of `body`, in ns per operation.
fn time_per_op(rounds: usize, ops: usize, mut body: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let start = Instant::now();
        body();
        best = best.min(start.elapsed().as_nanos() as f64 / ops as f64);
    }
    best
}

/// The tree alternative the ladder is measured against: sorted maps of price -> size.
#[derive(Default)]
struct TreeBook {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl TreeBook {
    fn set_level(&mut self, side: BookSide, price: Price, size: Size) {
        let levels = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if size.is_zero() {
            levels.remove(&price.micros());
        } else {
            levels.insert(price.micros(), size.micros());
        }
    }

    fn best_bid(&self) -> Option<i64> {
        self.bids.last_key_value().map(|(price, _)| *price)
    }
}

fn price(cents: i64) -> Price {
    Price::from_micros(cents * 10_000).unwrap()
}

/// A realistic 15-minute-market book: 25 levels a side around 0.50 on a 0.01 tick.
type Levels = Vec<(Price, Size)>;

fn levels(rng: &mut Rng) -> (Levels, Levels) {
    let bids = (0..25).map(|i| (price(49 - i), Size::from_micros(1 + rng.below(5_000_000_000) as i64).unwrap())).collect();
    let asks = (0..25).map(|i| (price(51 + i), Size::from_micros(1 + rng.below(5_000_000_000) as i64).unwrap())).collect();
    (bids, asks)
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (bids, asks) = levels(&mut rng);

    // Level updates near the top of book, one in five a removal, as price_change frames carry.
    const UPDATES: usize = 1 << 20;
    let updates: Vec<(BookSide, Price, Size)> = (0..UPDATES)
        .map(|_| {
            let bid = rng.below(2) == 0;
            let offset = rng.below(10) as i64;
            let size = if rng.below(5) == 0 { 0 } else { 1 + rng.below(1_000_000_000) as i64 };
            let (side, cents) = if bid { (BookSide::Bid, 49 - offset) } else { (BookSide::Ask, 51 + offset) };
            (side, price(cents), Size::from_micros(size).unwrap())
        })
        .collect();
    let mut book = Book::new(10_000).unwrap();
    book.apply_snapshot(&bids, &asks).unwrap();
    let level_update_ns = time_per_op(5, UPDATES, || {
        for &(side, p, s) in &updates {
            book.set_level(side, p, s).unwrap();
            black_box(book.best_bid());
        }
    });

    let mut tree = TreeBook::default();
    for &(p, s) in &bids {
        tree.set_level(BookSide::Bid, p, s);
    }
    for &(p, s) in &asks {
        tree.set_level(BookSide::Ask, p, s);
    }
    let tree_update_ns = time_per_op(5, UPDATES, || {
        for &(side, p, s) in &updates {
            tree.set_level(side, p, s);
            black_box(tree.best_bid());
        }
    });

    const SNAPSHOTS: usize = 100_000;
    let snapshot_ns = time_per_op(5, SNAPSHOTS, || {
        for _ in 0..SNAPSHOTS {
            book.apply_snapshot(black_box(&bids), black_box(&asks)).unwrap();
        }
    });

    const WALKS: usize = 1_000_000;
    let quantity = Size::from_micros(300_000_000).unwrap();
    let walk_ns = time_per_op(5, WALKS, || {
        for _ in 0..WALKS {
            black_box(book.walk(BookSide::Ask, black_box(quantity), Some(price(60))));
        }
    });

    // The scan on a mirrored market with one leg held, so the pairing rule is evaluated.
    let mut market = Market::new("1", "2", 10_000).unwrap();
    let mirror = |levels: &Levels| -> Levels { levels.iter().map(|&(p, s)| (p.complement(), s)).collect() };
    market.book_mut(Outcome::Up).apply_snapshot(&bids, &asks).unwrap();
    market.book_mut(Outcome::Down).apply_snapshot(&mirror(&asks), &mirror(&bids)).unwrap();
    let mut position = Position::new();
    position.buy(Outcome::Up, 400_000, 20_000_000, 0).unwrap();
    let fees = FeeSchedule::new(72_000, 1, true).unwrap();
    let maker = StrategyParams::default();
    let taker = StrategyParams { mode: Mode::Taker, ..StrategyParams::default() };
    const SCANS: usize = 1_000_000;
    let scan_ns = |params: &StrategyParams| {
        time_per_op(5, SCANS, || {
            for _ in 0..SCANS {
                black_box(accumulate(&market, &position, params, &fees, black_box(600_000), AccumulateFlags::default()));
            }
        })
    };
    let maker_scan_ns = scan_ns(&maker);
    let taker_scan_ns = scan_ns(&taker);
    let equalize_ns = time_per_op(5, SCANS, || {
        for _ in 0..SCANS {
            black_box(equalize(&market, &position, &maker, &fees, black_box(600_000), EqualizeFlags::default()));
        }
    });
    let update_and_scan_ns = time_per_op(5, UPDATES, || {
        for &(side, p, s) in &updates {
            market.book_mut(Outcome::Up).set_level(side, p, s).unwrap();
            black_box(accumulate(&market, &position, &maker, &fees, 600_000, AccumulateFlags::default()));
        }
    });

    println!(
        "{{\"maker_scan_ns\": {maker_scan_ns:.1}, \"taker_scan_ns\": {taker_scan_ns:.1}, \"equalize_ns\": {equalize_ns:.1}, \"update_and_scan_ns\": {update_and_scan_ns:.1}, \"level_update_ns\": {level_update_ns:.2}, \"btree_level_update_ns\": {tree_update_ns:.2}, \"snapshot_50_levels_ns\": {snapshot_ns:.1}, \"walk_asks_ns\": {walk_ns:.1}}}"
    );
}
