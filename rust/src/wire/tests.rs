//! Behaviour of frames applied to a market, on hand-made frames and the captured fixtures.

use super::json::Scanner;
use super::*;
use crate::book::{Book, BookSide};
use crate::fixed::{Price, Size};
use crate::market::{Market, Outcome};
use std::path::PathBuf;

const UP: &str = "76670567130917723816490572615540605537878462672464291990940067659127658071111";
const DOWN: &str = "54179564009642723353355316176091991063553046330768303687769988635499280029688";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/polymarket").join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The raw bytes of each element of a JSON array.
fn elements(array: &[u8]) -> Vec<&[u8]> {
    let mut s = Scanner::new(array);
    let mut out = Vec::new();
    if s.array_start().unwrap() {
        return out;
    }
    loop {
        s.peek().unwrap();
        let start = s.pos();
        s.skip_value(1).unwrap();
        out.push(&array[start..s.pos()]);
        if !s.array_next().unwrap() {
            return out;
        }
    }
}

fn p(text: &str) -> Price {
    Price::parse(text).unwrap()
}

fn s(text: &str) -> Size {
    Size::parse(text).unwrap()
}

type Levels = Vec<(Price, Size)>;

fn levels(book: &Book, side: BookSide) -> Levels {
    book.levels(side).collect()
}

/// Down's book is Up's seen from the other side: a bid for Up at p is an ask for Down at 1 - p.
fn mirror(book: &Book) -> (Levels, Levels) {
    let flip = |side| book.levels(side).map(|(price, size): (Price, Size)| (price.complement(), size)).collect();
    (flip(BookSide::Ask), flip(BookSide::Bid))
}

fn book_frame(token: &str, ts: u64, bids: &str, asks: &str) -> String {
    format!(r#"{{"event_type":"book","asset_id":"{token}","market":"0x1","bids":[{bids}],"asks":[{asks}],"timestamp":"{ts}","hash":"h{ts}"}}"#)
}

fn change(token: &str, side: &str, price: &str, size: &str, best_bid: &str, best_ask: &str) -> String {
    format!(r#"{{"asset_id":"{token}","price":"{price}","size":"{size}","side":"{side}","hash":"x","best_bid":"{best_bid}","best_ask":"{best_ask}"}}"#)
}

fn price_change(ts: u64, changes: &[String]) -> String {
    format!(r#"{{"market":"0x1","price_changes":[{}],"timestamp":"{ts}","event_type":"price_change"}}"#, changes.join(","))
}

fn level(price: &str, size: &str) -> String {
    format!(r#"{{"price":"{price}","size":"{size}"}}"#)
}

/// Up: bids 0.48 x 100, 0.49 x 200; asks 0.51 x 150, 0.52 x 250. Down mirrors it.
fn live_market() -> (Market, FeedState) {
    let mut market = Market::new(UP, DOWN, 10_000).unwrap();
    let mut feed = FeedState::new();
    let up = book_frame(UP, 1, &[level("0.48", "100"), level("0.49", "200")].join(","), &[level("0.51", "150"), level("0.52", "250")].join(","));
    let down = book_frame(DOWN, 1, &[level("0.49", "150"), level("0.48", "250")].join(","), &[level("0.51", "200"), level("0.52", "100")].join(","));
    let frame = format!("[{up},{down}]");
    let summary = feed.apply_frame(&mut market, frame.as_bytes()).unwrap();
    assert_eq!(summary.changed, 0b11);
    assert!(summary.problems.is_empty());
    (market, feed)
}

#[test]
fn crossing_burst_replays_to_the_closing_snapshot_without_resyncs() {
    let file = fixture("ws_market_price_change_crossing_burst.json");
    let frames = elements(&file);
    assert_eq!(frames.len(), 51);
    let mut market = Market::new(UP, DOWN, 1_000).unwrap();
    let mut feed = FeedState::new();
    feed.apply_frame(&mut market, frames[0]).unwrap();
    let (bids, asks) = mirror(market.book(Outcome::Up));
    market.book_mut(Outcome::Down).apply_snapshot(&bids, &asks).unwrap();
    let mut closing = Market::new(UP, DOWN, 1_000).unwrap();
    FeedState::new().apply_frame(&mut closing, frames[50]).unwrap();

    for (i, frame) in frames.iter().enumerate().take(50).skip(1) {
        let summary = feed.apply_frame(&mut market, frame).unwrap();
        assert!(summary.problems.is_empty(), "{:?}", summary.problems);
        assert_eq!(market.book(Outcome::Up).is_crossed(), i == 47 || i == 48, "crossed inside the last burst only");
    }
    // The deltas alone rebuild the closing snapshot, before it is applied.
    let want = closing.book(Outcome::Up);
    assert!(!want.is_crossed());
    feed.apply_frame(&mut market, frames[50]).unwrap();
    let summary = feed.end_batch(&mut market);
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    for side in [BookSide::Bid, BookSide::Ask] {
        assert_eq!(levels(market.book(Outcome::Up), side), levels(want, side));
    }
    let (bids, asks) = mirror(want);
    assert_eq!(levels(market.book(Outcome::Down), BookSide::Bid), bids);
    assert_eq!(levels(market.book(Outcome::Down), BookSide::Ask), asks);
    assert_eq!(market.book(Outcome::Up).best_bid(), Some(p("0.29")));
    assert_eq!(market.book(Outcome::Up).best_ask(), Some(p("0.301")));
    for outcome in Outcome::BOTH {
        assert_eq!(feed.token_counters(outcome).resyncs, 0);
        assert_eq!(feed.token_counters(outcome).problem_total(), 0);
    }
    assert_eq!(feed.counters().duplicates, 0);
}

#[test]
fn deltas_alone_rebuild_the_closing_snapshot() {
    let file = fixture("ws_market_price_change_crossing_burst.json");
    let frames = elements(&file);
    let mut market = Market::new(UP, DOWN, 1_000).unwrap();
    let mut feed = FeedState::new();
    for frame in &frames[..50] {
        feed.apply_frame(&mut market, frame).unwrap();
    }
    let mut closing = Market::new(UP, DOWN, 1_000).unwrap();
    FeedState::new().apply_frame(&mut closing, frames[50]).unwrap();
    for side in [BookSide::Bid, BookSide::Ask] {
        assert_eq!(levels(market.book(Outcome::Up), side), levels(closing.book(Outcome::Up), side));
    }
    // Down never had a snapshot in the capture: its first delta asks for one, the rest wait.
    let down = feed.token_counters(Outcome::Down);
    assert_eq!(down.problems[Problem::NoSnapshot.index()], 1);
    assert_eq!(down.ignored_deltas, 48);
    assert_eq!(feed.token_counters(Outcome::Up).problem_total(), 0);
}

#[test]
fn the_whole_capture_as_one_frame_gives_the_same_book() {
    let file = fixture("ws_market_price_change_crossing_burst.json");
    let mut market = Market::new(UP, "other", 1_000).unwrap();
    let mut feed = FeedState::new();
    feed.apply_frame(&mut market, &file).unwrap();
    let summary = feed.end_batch(&mut market);
    assert!(summary.problems.is_empty());
    assert_eq!(feed.counters().events, 51);
    assert_eq!(feed.token_counters(Outcome::Up).events, 51);
    assert_eq!(market.book(Outcome::Up).level_count(BookSide::Bid), 23);
    assert_eq!(market.book(Outcome::Up).level_count(BookSide::Ask), 23);
}

#[test]
fn a_cross_that_outlives_its_burst_sends_the_token_to_resync() {
    let (mut market, mut feed) = live_market();
    let frame = price_change(2, &[change(UP, "BUY", "0.51", "10", "0.51", "0.51")]);
    let summary = feed.apply_frame(&mut market, frame.as_bytes()).unwrap();
    assert!(summary.problems.is_empty(), "the check waits for the burst to end");
    let summary = feed.end_batch(&mut market);
    assert_eq!(summary.problems, vec![(Some(Outcome::Up), Problem::Crossed)]);
    assert_eq!(summary.needs_resync, 0b01);
    assert_eq!(summary.changed, 0b01, "the distrusted book is emptied");
    assert_eq!(market.book(Outcome::Up).best_bid(), None);
    assert_eq!(market.book(Outcome::Down).best_bid(), Some(p("0.49")), "Down is untouched");
}

#[test]
fn a_best_price_mismatch_is_found_when_the_next_timestamp_arrives() {
    let (mut market, mut feed) = live_market();
    let first = price_change(2, &[change(UP, "BUY", "0.50", "10", "0.50", "0.52")]);
    assert!(feed.apply_frame(&mut market, first.as_bytes()).unwrap().problems.is_empty());
    let next = price_change(3, &[change(DOWN, "SELL", "0.55", "10", "0.49", "0.51")]);
    let summary = feed.apply_frame(&mut market, next.as_bytes()).unwrap();
    assert_eq!(summary.problems, vec![(Some(Outcome::Up), Problem::BestMismatch)]);
    assert_eq!(feed.token_counters(Outcome::Up).problems[Problem::BestMismatch.index()], 1);
    let summary = feed.end_batch(&mut market);
    assert!(summary.problems.is_empty(), "Down's update agreed with its book");
}

#[test]
fn a_token_in_resync_ignores_deltas_until_a_snapshot() {
    let (mut market, mut feed) = live_market();
    let bad = price_change(2, &[change(UP, "BUY", "0.5x", "10", "0.5", "0.51"), change(DOWN, "SELL", "0.50", "5", "0.49", "0.50")]);
    let summary = feed.apply_frame(&mut market, bad.as_bytes()).unwrap();
    assert_eq!(summary.problems, vec![(Some(Outcome::Up), Problem::BadNumber)]);
    assert_eq!(market.book(Outcome::Down).best_ask(), Some(p("0.50")));
    let later = price_change(3, &[change(UP, "BUY", "0.40", "10", "0.40", "0.51")]);
    let summary = feed.apply_frame(&mut market, later.as_bytes()).unwrap();
    assert!(summary.problems.is_empty());
    assert_eq!(summary.needs_resync, 0b01);
    assert_eq!(feed.token_counters(Outcome::Up).ignored_deltas, 1);
    let snapshot = book_frame(UP, 4, &level("0.45", "1"), &level("0.55", "1"));
    let summary = feed.apply_frame(&mut market, snapshot.as_bytes()).unwrap();
    assert_eq!(summary.needs_resync, 0);
    assert_eq!(market.book(Outcome::Up).best_bid(), Some(p("0.45")));
    assert_eq!(feed.token_counters(Outcome::Up).resyncs, 1);
}

#[test]
fn a_tick_size_change_drops_the_book_until_a_snapshot() {
    let (mut market, mut feed) = live_market();
    let frame = format!(r#"{{"event_type":"tick_size_change","asset_id":"{UP}","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"5"}}"#);
    let summary = feed.apply_frame(&mut market, frame.as_bytes()).unwrap();
    assert!(summary.problems.is_empty());
    assert_eq!(summary.needs_resync, 0b01);
    assert!(!market.book(Outcome::Up).has_snapshot());
    assert_eq!(market.book(Outcome::Up).tick_micros(), 1_000);
    let delta = price_change(6, &[change(UP, "BUY", "0.971", "10", "0.971", "0.98")]);
    feed.apply_frame(&mut market, delta.as_bytes()).unwrap();
    assert_eq!(market.book(Outcome::Up).best_bid(), None);
    assert_eq!(feed.token_counters(Outcome::Up).tick_changes, 1);
}

#[test]
fn duplicate_frames_are_dropped_but_same_timestamp_bursts_are_not() {
    let (mut market, mut feed) = live_market();
    let a = price_change(2, &[change(UP, "BUY", "0.50", "10", "0.50", "0.51")]);
    let b = price_change(2, &[change(UP, "BUY", "0.50", "0", "0.49", "0.51")]);
    feed.apply_frame(&mut market, a.as_bytes()).unwrap();
    feed.apply_frame(&mut market, b.as_bytes()).unwrap();
    feed.apply_frame(&mut market, a.as_bytes()).unwrap();
    assert_eq!(feed.counters().duplicates, 1);
    assert_eq!(market.book(Outcome::Up).best_bid(), Some(p("0.49")));
    assert!(feed.end_batch(&mut market).problems.is_empty());
}

#[test]
fn the_same_levels_on_the_other_side_are_not_a_duplicate() {
    let (mut market, mut feed) = live_market();
    let as_bids = book_frame(UP, 7, &level("0.47", "1"), "");
    let as_asks = book_frame(UP, 7, "", &level("0.47", "1"));
    feed.apply_frame(&mut market, as_bids.as_bytes()).unwrap();
    feed.apply_frame(&mut market, as_asks.as_bytes()).unwrap();
    assert_eq!(feed.counters().duplicates, 0);
    assert_eq!(market.book(Outcome::Up).best_ask(), Some(p("0.47")));
    assert_eq!(market.book(Outcome::Up).best_bid(), None);
}

#[test]
fn trades_resolution_quotes_and_unknown_events_are_reported() {
    let (mut market, mut feed) = live_market();
    let frame = format!(
        r#"[{{"event_type":"last_trade_price","asset_id":"{DOWN}","price":"0.51","size":"25.5","side":"SELL","fee_rate_bps":"0","timestamp":"9"}},
            {{"event_type":"best_bid_ask","asset_id":"{UP}","best_bid":"0.49","best_ask":"0.51","spread":"0.02","timestamp":"9"}},
            {{"event_type":"market_resolved","winning_asset_id":"{UP}","winning_outcome":"Up","timestamp":"10"}},
            {{"event_type":"something_new","asset_id":"{UP}","extra":[1,{{"deep":null}}]}},
            {{"event_type":"last_trade_price","asset_id":"999","price":"0.5","size":"1","side":"BUY"}}]"#
    );
    let summary = feed.apply_frame(&mut market, frame.as_bytes()).unwrap();
    assert_eq!(summary.trades, vec![Trade { outcome: Outcome::Down, price: p("0.51"), size: s("25.5"), side: TradeSide::Sell }]);
    assert_eq!(summary.quotes, vec![(Outcome::Up, Expect::At(p("0.49")), Expect::At(p("0.51")))]);
    assert_eq!(summary.resolved, Some(Outcome::Up));
    assert_eq!(summary.changed, 0);
    assert_eq!(feed.counters().unknown_events, 1);
    assert_eq!(feed.counters().foreign_events, 1);
}

#[test]
fn rest_resync_replays_only_updates_newer_than_the_snapshot() {
    let (mut market, mut feed) = live_market();
    feed.begin_resync(&mut market, Outcome::Up);
    assert_eq!(market.book(Outcome::Up).best_bid(), None);
    let old = price_change(100, &[change(UP, "BUY", "0.40", "7", "0.50", "0.51")]);
    let new = price_change(300, &[change(UP, "BUY", "0.505", "9", "0.505", "0.51")]);
    feed.apply_frame(&mut market, old.as_bytes()).unwrap();
    feed.apply_frame(&mut market, new.as_bytes()).unwrap();
    assert_eq!(feed.token_counters(Outcome::Up).buffered_deltas, 2);
    let body = fixture("clob_book_response.json");
    let body = String::from_utf8(body).unwrap().replace("12345678901234567890", UP).replace("1703875200000", "200");
    let summary = feed.apply_rest_book(&mut market, Outcome::Up, body.as_bytes()).unwrap();
    assert!(summary.problems.is_empty());
    assert_eq!(summary.needs_resync, 0);
    let book = market.book(Outcome::Up);
    assert_eq!(book.best_bid(), Some(p("0.505")));
    assert_eq!(book.size_at(BookSide::Bid, p("0.40")), Size::ZERO, "older than the snapshot");
    assert_eq!(book.best_ask(), Some(p("0.51")));
    assert_eq!(book.size_at(BookSide::Bid, p("0.48")), s("100"));
    assert!(feed.end_batch(&mut market).problems.is_empty());
    let wrong = feed.apply_rest_book(&mut market, Outcome::Down, body.as_bytes()).unwrap_err();
    assert_eq!(wrong, RestBookError::WrongToken { outcome: Outcome::Down });
}

#[test]
fn a_rest_book_overtaken_by_a_websocket_snapshot_is_ignored() {
    let (mut market, mut feed) = live_market();
    feed.begin_resync(&mut market, Outcome::Up);
    let snapshot = book_frame(UP, 500, &level("0.45", "1"), &level("0.55", "1"));
    feed.apply_frame(&mut market, snapshot.as_bytes()).unwrap();
    let body = String::from_utf8(fixture("clob_book_response.json")).unwrap().replace("12345678901234567890", UP).replace("1703875200000", "400");
    let summary = feed.apply_rest_book(&mut market, Outcome::Up, body.as_bytes()).unwrap();
    assert_eq!(summary.changed, 0);
    assert_eq!(market.book(Outcome::Up).best_bid(), Some(p("0.45")));
    assert_eq!(feed.counters().stale_rest_books, 1);
}

#[test]
fn a_rest_resync_that_lost_updates_keeps_waiting() {
    let (mut market, mut feed) = live_market();
    feed.begin_resync(&mut market, Outcome::Up);
    for ts in 0..70_000u64 {
        let frame = price_change(10 + ts, &[change(UP, "BUY", "0.40", &(ts % 50 + 1).to_string(), "0.40", "0.51")]);
        feed.apply_frame(&mut market, frame.as_bytes()).unwrap();
    }
    let body = String::from_utf8(fixture("clob_book_response.json")).unwrap().replace("12345678901234567890", UP).replace("1703875200000", "100");
    let summary = feed.apply_rest_book(&mut market, Outcome::Up, body.as_bytes()).unwrap();
    assert_eq!(summary.problems, vec![(Some(Outcome::Up), Problem::ResyncGap)]);
    assert_eq!(summary.needs_resync, 0b01);
    let fresh = body.replace("\"100\"", "\"70000\"");
    let summary = feed.apply_rest_book(&mut market, Outcome::Up, fresh.as_bytes()).unwrap();
    assert_eq!(summary.needs_resync, 0);
    assert_eq!(market.book(Outcome::Up).size_at(BookSide::Bid, p("0.40")), s("50"), "the last update, loop index 69,999");
}

#[test]
fn unreadable_frames_are_errors_that_change_nothing() {
    let (mut market, mut feed) = live_market();
    let before = levels(market.book(Outcome::Up), BookSide::Bid);
    let valid = price_change(2, &[change(UP, "BUY", "0.30", "10", "0.49", "0.51")]);
    let truncated = format!("[{valid},{}", &valid[..40]);
    let deep = "[".repeat(100_000);
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
    let cases: Vec<&[u8]> = vec![b"", b"PONG", b"\xff\xfe\x00garbage", truncated.as_bytes(), deep.as_bytes(), huge.as_bytes(), b"[1, 2]", b"\"text\"", b"{} {}", b"{\"a\":1,}"];
    for case in cases {
        assert!(feed.apply_frame(&mut market, case).is_err(), "{:?}", String::from_utf8_lossy(&case[..case.len().min(20)]));
    }
    assert_eq!(levels(market.book(Outcome::Up), BookSide::Bid), before);
    assert_eq!(feed.counters().frame_errors, 10);
}

#[test]
fn wrong_types_in_known_fields_are_problems_for_that_token_only() {
    let (mut market, mut feed) = live_market();
    let frame = format!(
        r#"{{"event_type":"price_change","timestamp":"2","price_changes":[{{"asset_id":"{UP}","price":0.5,"size":"1","side":"BUY"}},{{"asset_id":"{DOWN}","price":"0.50","size":"1","side":"SELL"}}]}}"#
    );
    let summary = feed.apply_frame(&mut market, frame.as_bytes()).unwrap();
    assert_eq!(summary.problems, vec![(Some(Outcome::Up), Problem::BadField)]);
    assert_eq!(market.book(Outcome::Down).best_ask(), Some(p("0.50")));
    let no_asset = r#"{"event_type":"book","bids":[],"asks":[],"timestamp":"3"}"#;
    let summary = feed.apply_frame(&mut market, no_asset.as_bytes()).unwrap();
    assert_eq!(summary.problems, vec![(None, Problem::MissingAsset)]);
    let levels_not_array = format!(r#"{{"event_type":"book","asset_id":"{DOWN}","bids":{{}},"asks":[],"timestamp":"4"}}"#);
    let summary = feed.apply_frame(&mut market, levels_not_array.as_bytes()).unwrap();
    assert_eq!(summary.problems, vec![(Some(Outcome::Down), Problem::BadField)]);
}

#[test]
fn fixtures_parse_to_the_books_they_describe() {
    let token = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    let mut market = Market::new(token, "52114319501245915516055106046884209969926127482827954674443846427813813222426", 10_000).unwrap();
    let mut feed = FeedState::new();
    feed.apply_frame(&mut market, &fixture("ws_book_snapshot.json")).unwrap();
    let book = market.book(Outcome::Up);
    assert_eq!(levels(book, BookSide::Bid), vec![(p("0.50"), s("200")), (p("0.49"), s("350")), (p("0.48"), s("500"))]);
    assert_eq!(levels(book, BookSide::Ask), vec![(p("0.51"), s("150")), (p("0.52"), s("250")), (p("0.53"), s("400"))]);
    let summary = feed.apply_frame(&mut market, &fixture("ws_market_price_change_msg.json")).unwrap();
    assert!(summary.problems.is_empty());
    assert_eq!(market.book(Outcome::Up).best(BookSide::Bid), Some((p("0.51"), s("150"))));
    // The hand-written delta bids at the snapshot's best ask without removing it: once the
    // batch ends that cross is a fault.
    assert_eq!(feed.end_batch(&mut market).problems, vec![(Some(Outcome::Up), Problem::Crossed)]);
}

/// A small deterministic generator, so the tests need no extra crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn the_one_pass_decimal_reader_agrees_with_the_full_parser() {
    let alphabet = b"0123456789012345678901234567890123456789....x-e ";
    let mut rng = Lcg(42);
    let mut accepted = 0;
    for _ in 0..300_000 {
        let len = rng.below(22);
        let text: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let quoted = [&text[..], b"\""].concat();
        if let Some((micros, used)) = super::parse::fast_decimal_for_tests(&quoted) {
            accepted += 1;
            assert_eq!(used, text.len(), "{:?}", String::from_utf8_lossy(&text));
            assert_eq!(crate::fixed::parse_micros(&text, "t"), Ok(micros), "{:?}", String::from_utf8_lossy(&text));
        }
    }
    assert!(accepted > 10_000);
    for (text, micros) in [("0.52", 520_000), ("220045", 220_045_000_000), ("0.000001", 1), ("999999999999.999999", 999_999_999_999_999_999)] {
        let quoted = format!("{text}\"");
        assert_eq!(super::parse::fast_decimal_for_tests(quoted.as_bytes()), Some((micros, text.len())));
    }
    for refused in ["1234567890123\"", "0.1234567\"", ".5\"", "5.\"", "\"", "1e3\""] {
        assert_eq!(super::parse::fast_decimal_for_tests(refused.as_bytes()), None, "{refused}");
    }
}

#[test]
fn truncated_and_corrupted_fixtures_never_panic_and_rejected_ones_change_nothing() {
    let mut rng = Lcg(7);
    for name in ["ws_market_price_change_crossing_burst.json", "ws_book_snapshot_captured.json", "ws_quotes.json", "ws_market_new_market_msg.json"] {
        let file = fixture(name);
        for cut in (0..file.len()).step_by(7) {
            let (mut market, mut feed) = live_market();
            let _ = feed.apply_frame(&mut market, &file[..cut]);
        }
        for _ in 0..400 {
            let mut bytes = file.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len());
                bytes[at] = b"\"{}[],:0.9x\\\x00\xff"[rng.below(14)];
            }
            let (mut market, mut feed) = live_market();
            let before: Vec<Levels> = Outcome::BOTH.iter().flat_map(|&o| [levels(market.book(o), BookSide::Bid), levels(market.book(o), BookSide::Ask)]).collect();
            if feed.apply_frame(&mut market, &bytes).is_err() {
                let after: Vec<Levels> = Outcome::BOTH.iter().flat_map(|&o| [levels(market.book(o), BookSide::Bid), levels(market.book(o), BookSide::Ask)]).collect();
                assert_eq!(after, before, "a rejected frame changes nothing");
            }
            let _ = feed.end_batch(&mut market);
        }
    }
}

#[test]
fn the_canonical_change_reader_agrees_with_the_general_one() {
    let mut rng = Lcg(99);
    let market = Market::new(UP, DOWN, 10_000).unwrap();
    let tokens = MarketTokens::new(&market);
    let pick = |rng: &mut Lcg, options: &[&'static str]| options[rng.below(options.len())];
    let (mut canonical, mut general) = (Parsed::default(), Parsed::default());
    let mut fast_taken = 0;
    for _ in 0..3_000 {
        let changes: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                let token = pick(&mut rng, &[UP, DOWN, UP, DOWN, "999"]);
                let price = pick(&mut rng, &["0.5", "0.51", "0.001", "0", "1", "1.5", "0.5x", ".5", "0.1234567"]);
                let size = pick(&mut rng, &["0", "10", "2.5", "1234567.123456", "-1", "1e3"]);
                let side = pick(&mut rng, &["BUY", "SELL", "buy", ""]);
                let hash = pick(&mut rng, &["5e72df1c0ffee", "", "0xhash001", "a-b"]);
                let bid = pick(&mut rng, &["0", "0.49", "1", "x"]);
                let ask = pick(&mut rng, &["1", "0.52", "0", ""]);
                format!(r#"{{"asset_id":"{token}","price":"{price}","size":"{size}","side":"{side}","hash":"{hash}","best_bid":"{bid}","best_ask":"{ask}"}}"#)
            })
            .collect();
        let frame = format!(r#"{{"event_type":"price_change","price_changes":[{}],"timestamp":"7"}}"#, changes.join(","));
        // A space after each brace keeps every change off the canonical path.
        let spaced = frame.replace("{\"asset_id\"", "{ \"asset_id\"");
        canonical.parse(frame.as_bytes(), &tokens).unwrap();
        general.parse(spaced.as_bytes(), &tokens).unwrap();
        assert_eq!(canonical.changes, general.changes, "{frame}");
        assert_eq!(canonical.events, general.events, "{frame}");
        fast_taken += canonical.changes.iter().filter(|c| c.level.is_ok()).count();
    }
    assert!(fast_taken > 100);
}

const CONDITION: &str = "0x85d2925a21a0bc76ff0503c433360fb7daba561673e2c9cd8ac4ca68d9763459";

fn pick(rng: &mut Lcg, options: &[&'static str]) -> &'static str {
    options[rng.below(options.len())]
}

/// Parses each frame `make` writes as it is and with a space after the brace before
/// `first_key` (which keeps it off the canonical readers): both must give the same result.
/// `make` also says whether the canonical reader takes the frame; many must be taken.
fn assert_canonical_agrees(seed: u64, first_key: &str, mut make: impl FnMut(&mut Lcg, &MarketTokens<'_>) -> (String, bool)) {
    let market = Market::new(UP, DOWN, 10_000).unwrap();
    let tokens = MarketTokens::new(&market);
    let mut rng = Lcg(seed);
    let (mut canonical, mut general) = (Parsed::default(), Parsed::default());
    let (key, spaced_key) = (format!("{{\"{first_key}\""), format!("{{ \"{first_key}\""));
    let mut taken = 0;
    for _ in 0..5_000 {
        let (frame, fast) = make(&mut rng, &tokens);
        let spaced = frame.replace(&key, &spaced_key);
        let (fast_result, general_result) = (canonical.parse(frame.as_bytes(), &tokens), general.parse(spaced.as_bytes(), &tokens));
        assert_eq!(fast_result.is_ok(), general_result.is_ok(), "{frame}");
        if fast_result.is_ok() {
            assert_eq!(canonical.events, general.events, "{frame}");
            assert_eq!(canonical.changes, general.changes, "{frame}");
        }
        taken += usize::from(fast);
    }
    assert!(taken > 100, "{taken}");
}

#[test]
fn the_canonical_price_change_reader_agrees_with_the_general_one() {
    assert_canonical_agrees(11, "market", |rng, _| {
        let market_id = pick(rng, &[CONDITION, CONDITION, CONDITION, "0x12", r"0x85d2925a21a0bc76ff0503c433360fb7daba561673e2c9cd8ac4ca68d97\u0030"]);
        let changes: Vec<String> = (0..rng.below(4))
            .map(|_| {
                let token = pick(rng, &[UP, DOWN, UP, DOWN, "999"]);
                let price = pick(rng, &["0.5", "0.51", "0.5", "1.5", "x"]);
                let bid = pick(rng, &["0.49", "0.49", "0", "x"]);
                format!(r#"{{"asset_id":"{token}","price":"{price}","size":"10","side":"BUY","hash":"5e72df1c","best_bid":"{bid}","best_ask":"1"}}"#)
            })
            .collect();
        let mut array = format!("[{}]", changes.join(","));
        if rng.below(12) == 0 {
            array = pick(rng, &["{}", "\"x\"", "7"]).to_owned();
        }
        let stamp = pick(rng, &["1767225606070", "1767225606070", "176722560607", "17672256060701", "176722560607x"]);
        let tail = pick(rng, &[r#","event_type":"price_change"}"#, r#","event_type":"price_change"}"#, r#","event_type":"book"}"#, r#"}"#, r#","event_type":"price_change","x":1}"#]);
        let event = format!(r#"{{"market":"{market_id}","price_changes":{array},"timestamp":"{stamp}"{tail}"#);
        // written as the exchange writes them: the shape the canonical reader takes
        let fast = market_id == CONDITION && array.starts_with('[') && stamp.len() == 13 && !stamp.ends_with('x') && tail.ends_with(r#""price_change"}"#);
        let frame = if rng.below(2) == 0 { event } else { format!("[{event},{event}]") };
        (frame, fast)
    });
}

#[test]
fn the_canonical_trade_reader_agrees_with_the_general_one() {
    assert_canonical_agrees(7, "event_type", |rng, tokens| {
        let market_id = pick(rng, &[CONDITION, CONDITION, "0x12", r"0x85d2925a21a0bc76ff0503c433360fb7daba561673e2c9cd8ac4ca68d97\u0030"]);
        let token = pick(rng, &[UP, DOWN, UP, DOWN, "999"]);
        let fee = pick(rng, &["720", "720", "0", "", "7.2", "123456789"]);
        let price = pick(rng, &["0.5", "0.51", "0.001", "0.5", "0.51", "0", "1", "1.5", "0.5x", ".5", "0.1234567"]);
        let side = pick(rng, &["BUY", "SELL", "SELL", "BUY", "buy", ""]);
        let size = pick(rng, &["0", "10", "2.5", "1234567.123456", "10", "2.5", "-1", "1e3"]);
        let stamp = pick(rng, &["1767225606070", "1767225606070", "1767225606070", "176722560607", "17672256060701", "176722560607x"]);
        let event = format!(
            r#"{{"event_type":"last_trade_price","market":"{market_id}","asset_id":"{token}","fee_rate_bps":"{fee}","price":"{price}","side":"{side}","size":"{size}","timestamp":"{stamp}"}}"#
        );
        let fast = parse::canonical_trade_for_tests(event.as_bytes(), tokens);
        let frame = if rng.below(2) == 0 { event } else { format!("[{event},{event}]") };
        (frame, fast)
    });
}

#[test]
fn the_windowed_decimal_reader_agrees_with_the_byte_reader() {
    let alphabet = b"0123456789012345678901234567890123456789....x-e \"";
    let mut rng = Lcg(5);
    let mut windowed = 0;
    for _ in 0..200_000 {
        let len = rng.below(24);
        let text: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        // What follows the value decides whether the 20-byte window applies.
        let tail: Vec<u8> = (0..rng.below(24)).map(|_| alphabet[rng.below(alphabet.len())]).collect();
        let rest = [&text[..], b"\"", &tail[..]].concat();
        windowed += usize::from(rest.len() >= 20);
        assert_eq!(
            super::parse::fast_decimal_for_tests(&rest),
            super::parse::decimal_by_bytes_for_tests(&rest),
            "{:?}",
            String::from_utf8_lossy(&rest)
        );
    }
    assert!(windowed > 50_000);
    let padded = |text: &str| format!("{text}\",\"size\":\"1\"}}");
    assert_eq!(super::parse::fast_decimal_for_tests(padded("999999999999.999999").as_bytes()), Some((999_999_999_999_999_999, 19)));
    assert_eq!(super::parse::fast_decimal_for_tests(padded("0.000001").as_bytes()), Some((1, 8)));
    for refused in ["1234567890123", "0.1234567", ".5", "5.", "", "1e3", "0.5x"] {
        assert_eq!(super::parse::fast_decimal_for_tests(padded(refused).as_bytes()), None, "{refused}");
    }
}

#[test]
fn sized_string_reads_find_the_same_end_as_a_scan() {
    let alphabet = b"0123456789abcdef\"\\";
    let mut rng = Lcg(17);
    for _ in 0..100_000 {
        let len = rng.below(90);
        // Mostly plain text, so that the expected length is often right.
        let bytes: Vec<u8> = (0..len).map(|_| if rng.below(40) == 0 { alphabet[16 + rng.below(2)] } else { alphabet[rng.below(16)] }).collect();
        let found = super::json::find_quote_or_backslash(&bytes);
        assert_eq!(super::parse::hash_length_for_tests(&bytes), found, "{:?}", String::from_utf8_lossy(&bytes));
        assert_eq!(super::json::is_plain_run(&bytes), found.is_none(), "{:?}", String::from_utf8_lossy(&bytes));
        let quoted = [b"\"", &bytes[..], b"\""].concat();
        for expected in [0, 13, 40, 66, len.saturating_sub(1), len] {
            let (mut sized, mut scanned) = (Scanner::new(&quoted), Scanner::new(&quoted));
            assert_eq!(sized.string_sized(expected), scanned.string(), "{:?} sized {expected}", String::from_utf8_lossy(&quoted));
            assert_eq!(sized.pos(), scanned.pos());
        }
    }
}

#[test]
fn a_remembered_best_price_is_reused_only_for_the_same_text() {
    let market = Market::new(UP, DOWN, 10_000).unwrap();
    let tokens = MarketTokens::new(&market);
    // One reader keeps its remembered texts from frame to frame; the other starts afresh
    // and is kept off the canonical path by a space.
    let mut kept = Parsed::default();
    let bids = ["0.49", "0.49", "0.48", "0.495", "0.49", "0.4", "0.49x", "0.49", "1", "0.49", "0.4900001", "0.49"];
    for (i, bid) in bids.iter().enumerate() {
        let token = if i % 3 == 0 { DOWN } else { UP };
        let frame = price_change(7 + i as u64, &[change(token, "BUY", "0.45", "10", bid, "0.52"), change(UP, "SELL", "0.55", "3", bid, "0.52")]);
        let spaced = frame.replace("{\"asset_id\"", "{ \"asset_id\"");
        let mut fresh = Parsed::default();
        kept.parse(frame.as_bytes(), &tokens).unwrap();
        fresh.parse(spaced.as_bytes(), &tokens).unwrap();
        assert_eq!(kept.changes, fresh.changes, "{frame}");
        assert_eq!(kept.events, fresh.events, "{frame}");
    }
}

#[test]
fn keys_that_only_start_like_known_ones_are_unknown() {
    let market = Market::new(UP, DOWN, 10_000).unwrap();
    let tokens = MarketTokens::new(&market);
    let (mut near, mut unknown) = (Parsed::default(), Parsed::default());
    let frame = format!(r#"{{"event_type":"last_trade_price","asset_id":"{UP}","price":"0.5","size":"2","side":"BUY","timestamp":"1700000000000"}}"#);
    for key in ["event_type", "asset_id", "price", "size", "side", "timestamp"] {
        for near_key in [format!("{key}s"), format!("{key} "), key[..key.len() - 1].to_owned(), key.to_uppercase()] {
            let renamed = frame.replace(&format!("\"{key}\":"), &format!("\"{near_key}\":"));
            let unknown_key = frame.replace(&format!("\"{key}\":"), "\"zz\":");
            near.parse(renamed.as_bytes(), &tokens).unwrap();
            unknown.parse(unknown_key.as_bytes(), &tokens).unwrap();
            assert_eq!(near.events, unknown.events, "{renamed}");
        }
    }
    // A condition id of an unusual length, or holding an escape, is still skipped whole.
    for id in ["0xab", "0x\\\"quoted\\\"", &"a".repeat(66), &"b".repeat(67)] {
        let with_market = frame.replace("{\"event_type\"", &format!("{{\"market\":\"{id}\",\"event_type\""));
        near.parse(with_market.as_bytes(), &tokens).unwrap();
        unknown.parse(frame.as_bytes(), &tokens).unwrap();
        assert_eq!(near.events, unknown.events, "{with_market}");
    }
}

/// One market-channel event of the differential test, written either as the exchange
/// writes it (its key order, compact: the canonical readers' shape) or in another key order
/// with whitespace (the general reader's).
#[derive(Clone)]
enum WireEvent {
    Book { token: &'static str, bids: Vec<(&'static str, &'static str)>, asks: Vec<(&'static str, &'static str)> },
    /// Changes: token, side, price, size, hash, best bid, best ask.
    Changes(Vec<[String; 7]>),
    Trade { token: &'static str, price: &'static str, size: &'static str, side: &'static str },
    Tick { token: &'static str },
}

/// Writes `(key, value)` pairs as a JSON object, compact or spaced; `value` is already JSON.
fn object(pairs: &[(&str, String)], spaced: bool) -> String {
    let (colon, comma) = if spaced { (": ", ", ") } else { (":", ",") };
    let body: Vec<String> = pairs.iter().map(|(key, value)| format!("\"{key}\"{colon}{value}")).collect();
    if spaced {
        format!("{{ {} }}", body.join(comma))
    } else {
        format!("{{{}}}", body.join(comma))
    }
}

fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

impl WireEvent {
    /// The event at `stamp`, as the exchange writes it (`general` false) or in a shuffled key
    /// order with whitespace (`general` true).
    fn write(&self, stamp: u64, general: bool, rng: &mut Lcg) -> String {
        let ts = quoted(&stamp.to_string());
        let mut pairs: Vec<(&str, String)> = match self {
            WireEvent::Book { token, bids, asks } => {
                let list = |levels: &[(&str, &str)]| format!("[{}]", levels.iter().map(|(p, s)| level(p, s)).collect::<Vec<_>>().join(","));
                vec![
                    ("event_type", quoted("book")),
                    ("asset_id", quoted(token)),
                    ("market", quoted(CONDITION)),
                    ("bids", list(bids)),
                    ("asks", list(asks)),
                    ("timestamp", ts),
                    ("hash", quoted("5e72df1c")),
                ]
            }
            WireEvent::Changes(changes) => {
                let keys = ["asset_id", "side", "price", "size", "hash", "best_bid", "best_ask"];
                let written: Vec<String> = changes
                    .iter()
                    .map(|change| {
                        // The exchange's order: asset_id, price, size, side, hash, best_bid, best_ask.
                        let mut fields: Vec<(&str, String)> = [0, 2, 3, 1, 4, 5, 6].iter().map(|&i| (keys[i], quoted(&change[i]))).collect();
                        if general {
                            shuffle(&mut fields, rng);
                        }
                        object(&fields, general)
                    })
                    .collect();
                vec![
                    ("market", quoted(CONDITION)),
                    ("price_changes", format!("[{}]", written.join(","))),
                    ("timestamp", ts),
                    ("event_type", quoted("price_change")),
                ]
            }
            WireEvent::Trade { token, price, size, side } => vec![
                ("event_type", quoted("last_trade_price")),
                ("market", quoted(CONDITION)),
                ("asset_id", quoted(token)),
                ("fee_rate_bps", quoted("720")),
                ("price", quoted(price)),
                ("side", quoted(side)),
                ("size", quoted(size)),
                ("timestamp", ts),
            ],
            WireEvent::Tick { token } => vec![
                ("event_type", quoted("tick_size_change")),
                ("asset_id", quoted(token)),
                ("market", quoted(CONDITION)),
                ("old_tick_size", quoted("0.01")),
                ("new_tick_size", quoted("0.01")),
                ("timestamp", ts),
            ],
        };
        // Spaced, so never the canonical readers' shape even when the shuffle keeps the order.
        if general {
            shuffle(&mut pairs, rng);
        }
        object(&pairs, general)
    }
}

fn shuffle<T>(items: &mut [T], rng: &mut Lcg) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

fn price_text(price: Option<Price>, empty: &str) -> String {
    price.map_or_else(|| empty.to_owned(), |price| price.to_string())
}

/// A random event; the best prices a change states are those of `market` (the book the
/// canonical stream has built) after the change, except now and then a stale one.
fn random_event(rng: &mut Lcg, market: &Market) -> WireEvent {
    const PRICES: [&str; 7] = ["0.47", "0.48", "0.49", "0.5", "0.51", "0.52", "0.53"];
    const SIZES: [&str; 4] = ["0", "1", "2.5", "10"];
    let token = pick(rng, &[UP, DOWN]);
    match rng.below(6) {
        0 => {
            let side = |rng: &mut Lcg| (0..rng.below(4)).map(|_| (pick(rng, &PRICES), pick(rng, &SIZES[1..]))).collect();
            WireEvent::Book { token, bids: side(rng), asks: side(rng) }
        }
        1 => WireEvent::Trade { token, price: pick(rng, &PRICES), size: pick(rng, &SIZES[1..]), side: pick(rng, &["BUY", "SELL"]) },
        2 if rng.below(3) == 0 => WireEvent::Tick { token },
        _ => {
            let mut shadow = market.clone();
            let changes = (0..1 + rng.below(3))
                .map(|_| {
                    let token = pick(rng, &[UP, DOWN]);
                    let outcome = if token == UP { Outcome::Up } else { Outcome::Down };
                    let side = pick(rng, &["BUY", "SELL"]);
                    let price = pick(rng, &[&PRICES[..], &["0.5x"]].concat());
                    let size = pick(rng, &SIZES);
                    if let (Ok(p), Ok(s)) = (Price::parse(price), Size::parse(size)) {
                        let book_side = if side == "BUY" { BookSide::Bid } else { BookSide::Ask };
                        let _ = shadow.book_mut(outcome).set_level(book_side, p, s);
                    }
                    let book = shadow.book(outcome);
                    let bid = if rng.below(10) == 0 { "0.01".to_owned() } else { price_text(book.best_bid(), "0") };
                    let hash = pick(rng, &["5e72df1c0ffee5e72df1c0ffee5e72df1c0ffee1", "x", "5e72df1c0ffee5e72df1c0ffee5e72df1c0ffee2"]);
                    [token, side, price, size, hash, &bid, &price_text(book.best_ask(), "1")].map(str::to_owned)
                })
                .collect();
            WireEvent::Changes(changes)
        }
    }
}

/// Parsed events with their level and change ranges replaced by what they point at (the
/// ranges follow the order the lists were read in, which is not content).
fn resolved(parsed: &Parsed) -> Vec<String> {
    let at = |range: &std::ops::Range<u32>| range.start as usize..range.end as usize;
    parsed
        .events
        .iter()
        .map(|event| {
            let kind = match &event.kind {
                parse::EventKind::Book { token, bids, asks, tick } => {
                    format!("book {token:?} {:?} {:?} {tick:?}", &parsed.levels[at(bids)], &parsed.levels[at(asks)])
                }
                parse::EventKind::PriceChange { changes } => format!("changes {:?}", &parsed.changes[at(changes)]),
                other => format!("{other:?}"),
            };
            format!("{:?} {:x} {kind}", event.timestamp, event.digest)
        })
        .collect()
}

/// Everything a stream of frames leaves behind: books, flags and counters.
fn state_of(market: &Market, feed: &FeedState) -> String {
    let books: Vec<Levels> = Outcome::BOTH.iter().flat_map(|&o| [levels(market.book(o), BookSide::Bid), levels(market.book(o), BookSide::Ask)]).collect();
    let tokens: Vec<&TokenCounters> = Outcome::BOTH.iter().map(|&o| feed.token_counters(o)).collect();
    format!("{books:?} {:?} {tokens:?}", feed.counters())
}

/// The differential test of the two readers: random streams, repeats included, written as
/// the exchange writes them, in other key orders, and each event in either form at random,
/// give the same events, summaries, books and counters. A repeat is dropped however each
/// copy was written.
#[test]
fn a_stream_gives_the_same_result_whichever_form_each_event_is_written_in() {
    let mut rng = Lcg(2026);
    let mut duplicates = 0;
    for _ in 0..150 {
        let fresh = || (Market::new(UP, DOWN, 10_000).unwrap(), FeedState::new());
        let mut streams = [fresh(), fresh(), fresh()];
        let mut sent: Vec<(u64, WireEvent)> = Vec::new();
        let mut stamp = 1_767_225_600_000u64;
        for _ in 0..1 + rng.below(30) {
            let (stamp_now, event) = if !sent.is_empty() && rng.below(4) == 0 {
                sent[rng.below(sent.len())].clone()
            } else {
                stamp += pick(&mut rng, &["0", "0", "1", "5"]).parse::<u64>().unwrap();
                (stamp, random_event(&mut rng, &streams[0].0))
            };
            sent.push((stamp_now, event.clone()));
            let canonical = event.write(stamp_now, false, &mut rng);
            let general = event.write(stamp_now, true, &mut rng);
            let mixed = if rng.below(2) == 0 { canonical.clone() } else { general.clone() };
            let mut parsed: Vec<Vec<String>> = Vec::new();
            let mut summaries: Vec<String> = Vec::new();
            for ((market, feed), frame) in streams.iter_mut().zip([&canonical, &general, &mixed]) {
                let tokens_market = market.clone();
                let mut alone = Parsed::default();
                alone.parse(frame.as_bytes(), &MarketTokens::new(&tokens_market)).unwrap();
                parsed.push(resolved(&alone));
                let summary = feed.apply_frame(market, frame.as_bytes()).map(|summary| format!("{summary:?}"));
                summaries.push(format!("{summary:?}"));
            }
            assert_eq!(parsed[0], parsed[1], "{canonical}\n{general}");
            assert_eq!(summaries[0], summaries[1], "{canonical}\n{general}");
            assert_eq!(summaries[0], summaries[2], "{canonical}\n{mixed}");
            let states: Vec<String> = streams.iter().map(|(market, feed)| state_of(market, feed)).collect();
            assert_eq!(states[0], states[1], "{canonical}");
            assert_eq!(states[0], states[2], "{canonical}");
        }
        let ends: Vec<String> = streams.iter_mut().map(|(market, feed)| format!("{:?}", feed.end_batch(market))).collect();
        assert_eq!(ends[0], ends[1]);
        assert_eq!(ends[0], ends[2]);
        duplicates += streams[0].1.counters().duplicates;
    }
    assert!(duplicates > 50, "{duplicates}");
}
