//! Applies parsed events to a market's two books, with the exchange's consistency rules.
//!
//! Per POLYMARKET.md "Market channel": duplicates (same timestamp and content) are dropped;
//! a frame's `best_bid`/`best_ask` are compared with the local book only when its burst
//! (the run of events sharing a timestamp) ends, since a match in progress legitimately
//! crosses the book; a token found inconsistent is emptied and ignores level updates until
//! a snapshot arrives, or buffers them while a REST resync is in flight.

use super::parse::{
    is_plain_token, starts_with_token, Event, EventKind, Expect, FrameError, Parsed, Problem, Token, TokenMap, TradeSide,
};
use crate::book::{BookError, BookSide};
use crate::fixed::{Price, Size};
use crate::market::{Market, Outcome};
use super::fold_hash::FoldHashing;
use std::collections::{HashSet, VecDeque};
use std::fmt;

/// How many recent event keys are remembered for dropping duplicates: a re-sent frame
/// arrives right behind the original (double subscription, reconnect overlap).
const SEEN_CAPACITY: usize = 1024;
/// Level updates held for one token while its REST snapshot is fetched; older ones are
/// dropped first and the loss is detected if the snapshot turns out older than them.
const BUFFER_CAPACITY: usize = 65_536;

/// A market's two token ids as a `TokenMap`: Up is slot 0, Down slot 1.
pub struct MarketTokens<'m> {
    market: &'m Market,
    plain: [bool; 2],
}

impl<'m> MarketTokens<'m> {
    pub fn new(market: &'m Market) -> MarketTokens<'m> {
        let plain = Outcome::BOTH.map(|outcome| is_plain_token(market.token(outcome).as_bytes()));
        MarketTokens { market, plain }
    }
}

impl TokenMap for MarketTokens<'_> {
    #[inline]
    fn slot(&self, asset: &[u8]) -> Option<u32> {
        self.market.outcome_of(asset).map(|outcome| outcome.index() as u32)
    }

    #[inline]
    fn slot_at(&self, rest: &[u8]) -> Option<(u32, usize)> {
        Outcome::BOTH.into_iter().find_map(|outcome| {
            let token = self.market.token(outcome).as_bytes();
            (self.plain[outcome.index()] && starts_with_token(rest, token)).then_some((outcome.index() as u32, token.len()))
        })
    }
}

/// A `last_trade_price` for one of the market's tokens.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Trade {
    pub outcome: Outcome,
    pub price: Price,
    pub size: Size,
    pub side: TradeSide,
}

/// What one call changed. Reused between calls, so reading it allocates nothing.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Bit 0 Up, bit 1 Down: the token's best bid or best ask price moved.
    pub changed: u8,
    /// Bit 0 Up, bit 1 Down: the token's book is not trusted until a snapshot.
    pub needs_resync: u8,
    pub resolved: Option<Outcome>,
    pub trades: Vec<Trade>,
    /// `None` when the event named no token (no readable `asset_id`).
    pub problems: Vec<(Option<Outcome>, Problem)>,
    /// `best_bid_ask` events for the market's tokens.
    pub quotes: Vec<(Outcome, Expect, Expect)>,
    /// Slugs of `new_market` announcements.
    pub new_markets: Vec<String>,
}

impl Summary {
    /// True when only `changed` and `needs_resync` carry information.
    pub fn is_plain(&self) -> bool {
        self.resolved.is_none()
            && self.trades.is_empty()
            && self.problems.is_empty()
            && self.quotes.is_empty()
            && self.new_markets.is_empty()
    }

    fn clear(&mut self) {
        self.changed = 0;
        self.needs_resync = 0;
        self.resolved = None;
        self.trades.clear();
        self.problems.clear();
        self.quotes.clear();
        self.new_markets.clear();
    }
}

/// Counts for one token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenCounters {
    /// Events that named this token (a `price_change` naming both counts for both).
    pub events: u64,
    pub snapshots: u64,
    pub trades: u64,
    /// Times the token entered resync (a problem, a tick change, or `begin_resync`).
    pub resyncs: u64,
    pub tick_changes: u64,
    /// Level updates dropped because the token was waiting for a snapshot.
    pub ignored_deltas: u64,
    /// Level updates held for a REST resync.
    pub buffered_deltas: u64,
    /// Per `Problem::index()`.
    pub problems: [u64; Problem::ALL.len()],
}

impl TokenCounters {
    pub fn problem_total(&self) -> u64 {
        self.problems.iter().sum()
    }
}

/// Counts for the whole market.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeedCounters {
    pub frames: u64,
    pub events: u64,
    pub duplicates: u64,
    pub unknown_events: u64,
    /// Events naming none of the market's tokens.
    pub foreign_events: u64,
    pub frame_errors: u64,
    pub quotes: u64,
    pub new_markets: u64,
    pub resolutions: u64,
    /// Events with no readable `asset_id`.
    pub missing_asset: u64,
    /// REST books ignored because a newer WebSocket snapshot had already replaced them.
    pub stale_rest_books: u64,
}

#[derive(Copy, Clone, Debug)]
struct Buffered {
    timestamp: u64,
    side: BookSide,
    price: Price,
    size: Size,
    best_bid: Expect,
    best_ask: Expect,
}

#[derive(Clone, Debug, Default)]
struct TokenFeed {
    /// The book is not trusted: level updates are ignored until a snapshot.
    resync: bool,
    /// A REST resync is in flight: level updates are kept for replay instead.
    buffering: bool,
    buffer: VecDeque<Buffered>,
    /// Newest timestamp among updates dropped from a full buffer.
    lost_until: Option<u64>,
    /// The best prices the last update of the current burst promised.
    pending: Option<(Expect, Expect)>,
    /// Timestamp of the newest snapshot or update applied to the book.
    applied_until: u64,
    counters: TokenCounters,
}

/// The last `SEEN_CAPACITY` event keys.
#[derive(Clone, Debug)]
struct Seen {
    keys: HashSet<(u64, u64), FoldHashing>,
    order: VecDeque<(u64, u64)>,
}

impl Default for Seen {
    /// Sized for the full window up front: growing it costs rehashes while the first
    /// frames are applied.
    fn default() -> Self {
        Seen {
            keys: HashSet::with_capacity_and_hasher(SEEN_CAPACITY + 1, FoldHashing::default()),
            order: VecDeque::with_capacity(SEEN_CAPACITY),
        }
    }
}

impl Seen {
    /// Records `key`; false when it was already there.
    fn insert(&mut self, key: (u64, u64)) -> bool {
        if !self.keys.insert(key) {
            return false;
        }
        if self.order.len() == SEEN_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        self.order.push_back(key);
        true
    }
}

/// Why a REST `/book` body could not replace a token's book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestBookError {
    Frame(FrameError),
    NotABook,
    WrongToken { outcome: Outcome },
    NoTimestamp,
    Bad { problem: Problem },
}

impl fmt::Display for RestBookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestBookError::Frame(err) => write!(f, "REST book: {err}"),
            RestBookError::NotABook => f.write_str("REST book body is not one book object with bids and asks"),
            RestBookError::WrongToken { outcome } => {
                write!(f, "REST book's asset_id is not the {outcome} token of this market")
            }
            RestBookError::NoTimestamp => {
                f.write_str("REST book has no millisecond timestamp, so buffered updates cannot be ordered")
            }
            RestBookError::Bad { problem } => write!(f, "REST book has a {} level", problem.code()),
        }
    }
}

impl std::error::Error for RestBookError {}

/// The per-market state of the market channel: sync flags, burst checks, duplicates,
/// counters, and the reusable parse and summary buffers.
#[derive(Debug, Default)]
pub struct FeedState {
    tokens: [TokenFeed; 2],
    /// Timestamp of the burst in progress (0 before any).
    burst: u64,
    seen: Seen,
    counters: FeedCounters,
    parsed: Parsed,
    summary: Summary,
    before: [(Option<Price>, Option<Price>); 2],
}

impl FeedState {
    pub fn new() -> FeedState {
        FeedState::default()
    }

    /// Parses `frame` and applies it to `market`. On a frame error nothing is applied.
    pub fn apply_frame(&mut self, market: &mut Market, frame: &[u8]) -> Result<&Summary, FrameError> {
        let mut parsed = std::mem::take(&mut self.parsed);
        let result = parsed.parse(frame, &MarketTokens::new(market));
        if let Err(err) = result {
            self.parsed = parsed;
            self.counters.frame_errors += 1;
            return Err(err);
        }
        self.begin(market);
        self.apply_parsed(market, &parsed, frame, 0);
        self.parsed = parsed;
        Ok(self.finish(market))
    }

    /// Applies events parsed against a larger token map in which this market's Up and Down
    /// are slots `base` and `base + 1` (used by batch replay over several markets). The
    /// caller brackets it with `begin` / `finish` when it wants a summary.
    pub fn apply_parsed(&mut self, market: &mut Market, parsed: &Parsed, frame: &[u8], base: u32) {
        self.counters.frames += 1;
        for event in &parsed.events {
            self.apply_event(market, parsed, frame, event, base);
        }
    }

    /// Ends the batch received so far: checks the burst in progress against the book.
    pub fn end_batch(&mut self, market: &mut Market) -> &Summary {
        self.begin(market);
        self.close_burst(market);
        self.finish(market)
    }

    pub fn begin(&mut self, market: &Market) {
        self.summary.clear();
        for outcome in Outcome::BOTH {
            let book = market.book(outcome);
            self.before[outcome.index()] = (book.best_bid(), book.best_ask());
        }
    }

    pub fn finish(&mut self, market: &Market) -> &Summary {
        for outcome in Outcome::BOTH {
            let book = market.book(outcome);
            let bit = 1 << outcome.index();
            if self.before[outcome.index()] != (book.best_bid(), book.best_ask()) {
                self.summary.changed |= bit;
            }
            if self.needs_resync(outcome) {
                self.summary.needs_resync |= bit;
            }
        }
        &self.summary
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    pub fn needs_resync(&self, outcome: Outcome) -> bool {
        let token = &self.tokens[outcome.index()];
        token.resync || token.buffering
    }

    pub fn counters(&self) -> &FeedCounters {
        &self.counters
    }

    pub fn token_counters(&self, outcome: Outcome) -> &TokenCounters {
        &self.tokens[outcome.index()].counters
    }

    /// Starts a REST resync of one token: its book is emptied and its level updates are
    /// kept until `apply_rest_book` (or a WebSocket snapshot) replaces it.
    pub fn begin_resync(&mut self, market: &mut Market, outcome: Outcome) {
        self.enter_resync(market, outcome);
        let token = &mut self.tokens[outcome.index()];
        token.buffering = true;
        token.buffer.clear();
        token.lost_until = None;
    }

    /// Replaces a token's book with the body of `GET /book?token_id=` and replays the
    /// updates buffered since `begin_resync` that are newer than the snapshot.
    pub fn apply_rest_book(&mut self, market: &mut Market, outcome: Outcome, body: &[u8]) -> Result<&Summary, RestBookError> {
        let mut parsed = std::mem::take(&mut self.parsed);
        let result = self.rest_book(market, outcome, &mut parsed, body);
        self.parsed = parsed;
        result.map(|()| &self.summary)
    }

    fn rest_book(&mut self, market: &mut Market, outcome: Outcome, parsed: &mut Parsed, body: &[u8]) -> Result<(), RestBookError> {
        parsed.parse(body, &MarketTokens::new(market)).map_err(RestBookError::Frame)?;
        let [event] = parsed.events.as_slice() else { return Err(RestBookError::NotABook) };
        let (bids, asks, tick) = match &event.kind {
            EventKind::Book { token: Token::Slot(slot), bids, asks, tick } if *slot == outcome.index() as u32 => {
                (bids.clone(), asks.clone(), *tick)
            }
            EventKind::Book { .. } => return Err(RestBookError::WrongToken { outcome }),
            EventKind::Bad { problem, .. } => return Err(RestBookError::Bad { problem: *problem }),
            _ => return Err(RestBookError::NotABook),
        };
        let snapshot_time = event.timestamp.ok_or(RestBookError::NoTimestamp)?;
        let levels = &parsed.levels;
        let (bids, asks) = (&levels[bids.start as usize..bids.end as usize], &levels[asks.start as usize..asks.end as usize]);
        self.begin(market);
        let index = outcome.index();
        let token = &self.tokens[index];
        if !token.resync && market.book(outcome).has_snapshot() && snapshot_time < token.applied_until {
            // A WebSocket snapshot overtook this REST one (the book is live again and newer):
            // applying it would step the book back in time.
            self.counters.stale_rest_books += 1;
            self.finish(market);
            return Ok(());
        }
        if self.tokens[index].lost_until.is_some_and(|lost| lost > snapshot_time) {
            // Updates newer than this snapshot were dropped: replaying the rest would build
            // a wrong book, so wait for a fresher snapshot and keep buffering.
            self.problem(market, Some(outcome), Problem::ResyncGap);
            self.tokens[index].buffering = true;
            self.finish(market);
            return Ok(());
        }
        let book = market.book_mut(outcome);
        if let Some(tick) = tick {
            book.set_tick(tick).map_err(|_| RestBookError::Bad { problem: Problem::BadNumber })?;
        }
        book.apply_snapshot(bids, asks).map_err(|_| RestBookError::Bad { problem: Problem::OffGrid })?;
        let token = &mut self.tokens[index];
        token.resync = false;
        token.buffering = false;
        token.lost_until = None;
        token.pending = None;
        token.counters.snapshots += 1;
        let buffered = std::mem::take(&mut token.buffer);
        token.applied_until = snapshot_time;
        for update in buffered.iter().filter(|update| update.timestamp > snapshot_time) {
            if self.tokens[index].resync {
                break;
            }
            self.level(market, outcome, *update);
        }
        let mut buffered = buffered;
        buffered.clear();
        self.tokens[index].buffer = buffered;
        self.finish(market);
        Ok(())
    }

    fn apply_event(&mut self, market: &mut Market, parsed: &Parsed, frame: &[u8], event: &Event, base: u32) {
        self.counters.events += 1;
        let ours = |token: Token| match token {
            Token::Slot(slot) if slot == base => Some(Outcome::Up),
            Token::Slot(slot) if slot == base + 1 => Some(Outcome::Down),
            _ => None,
        };
        let changes = match &event.kind {
            EventKind::PriceChange { changes } => &parsed.changes[changes.start as usize..changes.end as usize],
            _ => &[],
        };
        // Which of our tokens the event names, and whether it needs a snapshot's exemption
        // from duplicate dropping (a book re-sent while the token waits for one is wanted).
        let mut named = 0u8;
        let mut missing = false;
        match &event.kind {
            EventKind::Book { token, .. }
            | EventKind::Trade { token, .. }
            | EventKind::TickSize { token, .. }
            | EventKind::BestBidAsk { token, .. }
            | EventKind::Bad { token, .. } => {
                if let Some(outcome) = ours(*token) {
                    named |= 1 << outcome.index();
                }
                missing = *token == Token::Missing;
            }
            EventKind::PriceChange { .. } => {
                for change in changes {
                    if let Some(outcome) = ours(change.token) {
                        named |= 1 << outcome.index();
                    }
                    missing |= change.token == Token::Missing;
                }
            }
            EventKind::Resolved { winner } => {
                if let Some(outcome) = ours(*winner) {
                    named |= 1 << outcome.index();
                }
            }
            EventKind::NewMarket { slug } => {
                self.counters.new_markets += 1;
                let slug = frame.get(slug.start as usize..slug.end as usize).unwrap_or_default();
                self.summary.new_markets.push(String::from_utf8_lossy(slug).into_owned());
                return;
            }
            EventKind::Unknown => {
                self.counters.unknown_events += 1;
                return;
            }
        }
        if missing {
            self.problem(market, None, Problem::MissingAsset);
        }
        if named == 0 {
            if !missing {
                self.counters.foreign_events += 1;
            }
            return;
        }
        let snapshot_wanted = matches!(&event.kind, EventKind::Book { token, .. }
            if ours(*token).is_some_and(|outcome| self.needs_resync(outcome) || !market.book(outcome).has_snapshot()));
        // A book re-sent while its token waits for a snapshot is wanted even if seen before.
        if !self.seen.insert((event.timestamp.unwrap_or(0), event.digest)) && !snapshot_wanted {
            self.counters.duplicates += 1;
            return;
        }
        for outcome in Outcome::BOTH {
            if named & (1 << outcome.index()) != 0 {
                self.tokens[outcome.index()].counters.events += 1;
            }
        }
        if let Some(timestamp) = event.timestamp {
            if timestamp != self.burst {
                self.close_burst(market);
                self.burst = timestamp;
            }
        }
        let timestamp = event.timestamp.unwrap_or(0);
        match &event.kind {
            EventKind::Book { token, bids, asks, tick } => {
                let outcome = ours(*token).expect("named above");
                let levels = &parsed.levels;
                let (bids, asks) = (&levels[bids.start as usize..bids.end as usize], &levels[asks.start as usize..asks.end as usize]);
                self.snapshot(market, outcome, bids, asks, *tick, timestamp);
            }
            EventKind::PriceChange { .. } => {
                for change in changes {
                    let Some(outcome) = ours(change.token) else { continue };
                    match change.level {
                        Err(problem) => self.problem(market, Some(outcome), problem),
                        Ok((side, price, size)) => {
                            let update = Buffered { timestamp, side, price, size, best_bid: change.best_bid, best_ask: change.best_ask };
                            self.level(market, outcome, update);
                        }
                    }
                }
            }
            EventKind::Trade { token, price, size, side } => {
                let outcome = ours(*token).expect("named above");
                self.tokens[outcome.index()].counters.trades += 1;
                self.summary.trades.push(Trade { outcome, price: *price, size: *size, side: *side });
            }
            EventKind::TickSize { token, tick } => {
                let outcome = ours(*token).expect("named above");
                // A new tick is a new book epoch: the old levels are gone, and only a fresh
                // snapshot (re-subscribe or REST) brings the book back.
                self.tokens[outcome.index()].counters.tick_changes += 1;
                self.enter_resync(market, outcome);
                market.book_mut(outcome).set_tick(*tick).expect("tick checked when parsed");
            }
            EventKind::BestBidAsk { token, bid, ask } => {
                let outcome = ours(*token).expect("named above");
                self.counters.quotes += 1;
                self.summary.quotes.push((outcome, *bid, *ask));
            }
            EventKind::Resolved { winner } => {
                self.counters.resolutions += 1;
                self.summary.resolved = ours(*winner);
            }
            EventKind::Bad { token, problem } => {
                let outcome = ours(*token).expect("named above");
                self.problem(market, Some(outcome), *problem);
            }
            EventKind::NewMarket { .. } | EventKind::Unknown => unreachable!("returned above"),
        }
    }

    fn snapshot(&mut self, market: &mut Market, outcome: Outcome, bids: &[(Price, Size)], asks: &[(Price, Size)], tick: Option<i64>, timestamp: u64) {
        let book = market.book_mut(outcome);
        if let Some(tick) = tick {
            book.set_tick(tick).expect("tick checked when parsed");
        }
        match book.apply_snapshot(bids, asks) {
            Ok(()) => {
                let token = &mut self.tokens[outcome.index()];
                token.resync = false;
                token.buffering = false;
                token.buffer.clear();
                token.lost_until = None;
                token.pending = None;
                token.applied_until = timestamp;
                token.counters.snapshots += 1;
            }
            Err(err) => self.problem(market, Some(outcome), book_problem(&err)),
        }
    }

    fn level(&mut self, market: &mut Market, outcome: Outcome, update: Buffered) {
        let token = &mut self.tokens[outcome.index()];
        if token.buffering {
            token.counters.buffered_deltas += 1;
            if token.buffer.len() == BUFFER_CAPACITY {
                if let Some(old) = token.buffer.pop_front() {
                    token.lost_until = Some(token.lost_until.unwrap_or(0).max(old.timestamp));
                }
            }
            token.buffer.push_back(update);
            return;
        }
        if token.resync {
            token.counters.ignored_deltas += 1;
            return;
        }
        match market.book_mut(outcome).set_level(update.side, update.price, update.size) {
            Ok(()) => {
                let token = &mut self.tokens[outcome.index()];
                token.pending = Some((update.best_bid, update.best_ask));
                token.applied_until = token.applied_until.max(update.timestamp);
            }
            Err(err) => self.problem(market, Some(outcome), book_problem(&err)),
        }
    }

    /// Checks every token updated in the burst that just ended.
    fn close_burst(&mut self, market: &mut Market) {
        for outcome in Outcome::BOTH {
            let Some((best_bid, best_ask)) = self.tokens[outcome.index()].pending.take() else { continue };
            if self.needs_resync(outcome) {
                continue;
            }
            let book = market.book(outcome);
            if book.is_crossed() {
                self.problem(market, Some(outcome), Problem::Crossed);
            } else if !best_bid.matches(book.best_bid()) || !best_ask.matches(book.best_ask()) {
                self.problem(market, Some(outcome), Problem::BestMismatch);
            }
        }
    }

    /// Counts a problem; one naming a token sends that token to resync.
    fn problem(&mut self, market: &mut Market, outcome: Option<Outcome>, problem: Problem) {
        self.summary.problems.push((outcome, problem));
        match outcome {
            None => self.counters.missing_asset += 1,
            Some(outcome) => {
                self.tokens[outcome.index()].counters.problems[problem.index()] += 1;
                self.enter_resync(market, outcome);
            }
        }
    }

    /// Distrusts a token's book: it is emptied (so nothing trades on it) and level updates
    /// are ignored until a snapshot.
    fn enter_resync(&mut self, market: &mut Market, outcome: Outcome) {
        let token = &mut self.tokens[outcome.index()];
        if !token.resync {
            token.resync = true;
            token.counters.resyncs += 1;
        }
        token.pending = None;
        market.book_mut(outcome).invalidate();
    }
}

fn book_problem(err: &BookError) -> Problem {
    match err {
        BookError::OffGrid { .. } => Problem::OffGrid,
        BookError::NoSnapshot => Problem::NoSnapshot,
        BookError::InvalidTick { .. } => Problem::BadNumber,
    }
}
