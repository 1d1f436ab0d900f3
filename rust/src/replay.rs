//! Batch replay of recorded frames through wire + book, for every market of a recording.
//!
//! Each frame is parsed once against the tokens of all markets and its events handed to
//! the market(s) they name, so a recording holding several windows costs one parse per
//! frame. This is the path the benches measure and `gabagool replay` runs.

use crate::book::BookError;
use crate::market::Market;
use crate::wire::fold_hash::FoldHashing;
use crate::wire::parse::{is_plain_token, starts_with_token, EventKind};
use crate::wire::{FeedState, FrameError, Parsed, Token, TokenMap};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

/// Token ids -> slots (`2 * market + outcome`), looked up by their last 16 bytes and then
/// compared in full (ids are ~77 decimal digits; their tails are what differ).
#[derive(Debug, Default)]
struct TokenIndex {
    by_tail: HashMap<u128, Vec<(Vec<u8>, u32)>, FoldHashing>,
    /// Token bytes by slot, `None` when not plain (see `is_plain_token`).
    by_slot: Vec<Option<Vec<u8>>>,
    /// The market named last: frames of one market come in runs, so its two tokens are
    /// tried first, straight against the frame's bytes.
    last_market: AtomicU32,
}

fn tail(token: &[u8]) -> u128 {
    let start = token.len().saturating_sub(16);
    let mut word = [0u8; 16];
    word[..token.len() - start].copy_from_slice(&token[start..]);
    u128::from_le_bytes(word) ^ (token.len() as u128) << 120
}

impl TokenIndex {
    fn insert(&mut self, token: &str, slot: u32) {
        let bytes = token.as_bytes();
        self.by_tail.entry(tail(bytes)).or_default().push((bytes.to_vec(), slot));
        if self.by_slot.len() <= slot as usize {
            self.by_slot.resize(slot as usize + 1, None);
        }
        self.by_slot[slot as usize] = is_plain_token(bytes).then(|| bytes.to_vec());
    }
}

impl TokenMap for TokenIndex {
    fn slot(&self, asset: &[u8]) -> Option<u32> {
        let candidates = self.by_tail.get(&tail(asset))?;
        let slot = candidates.iter().find(|(token, _)| token == asset).map(|&(_, slot)| slot)?;
        self.last_market.store(slot / 2, Ordering::Relaxed);
        Some(slot)
    }

    #[inline(always)]
    fn slot_at(&self, rest: &[u8]) -> Option<(u32, usize)> {
        let market = self.last_market.load(Ordering::Relaxed);
        (2 * market..2 * market + 2).find_map(|slot| {
            let token = self.by_slot.get(slot as usize)?.as_deref()?;
            starts_with_token(rest, token).then_some((slot, token.len()))
        })
    }
}

/// Several markets fed from one stream of frames.
#[derive(Debug)]
pub struct Replay {
    markets: Vec<Market>,
    feeds: Vec<FeedState>,
    index: TokenIndex,
    parsed: Parsed,
    named: Vec<u32>,
    frames: u64,
    frame_errors: u64,
    unrouted: u64,
}

impl Replay {
    /// One market per `(up_token, down_token, tick_micros)`.
    pub fn new(specs: &[(&str, &str, i64)]) -> Result<Replay, BookError> {
        let mut index = TokenIndex::default();
        let mut markets = Vec::with_capacity(specs.len());
        for (i, &(up, down, tick)) in specs.iter().enumerate() {
            markets.push(Market::new(up, down, tick)?);
            index.insert(up, 2 * i as u32);
            index.insert(down, 2 * i as u32 + 1);
        }
        let feeds = markets.iter().map(|_| FeedState::new()).collect();
        Ok(Replay { markets, feeds, index, parsed: Parsed::default(), named: Vec::new(), frames: 0, frame_errors: 0, unrouted: 0 })
    }

    /// Parses one frame and applies it to the markets it names; a frame error is counted
    /// and returned, and nothing of that frame is applied.
    pub fn apply(&mut self, frame: &[u8]) -> Result<(), FrameError> {
        self.frames += 1;
        if let Err(err) = self.parsed.parse(frame, &self.index) {
            self.frame_errors += 1;
            return Err(err);
        }
        self.named.clear();
        // Changes come in runs naming one market: the market just named is checked first.
        #[inline(always)]
        fn name(token: Token, named: &mut Vec<u32>) {
            if let Token::Slot(slot) = token {
                let market = slot / 2;
                if named.last() != Some(&market) && !named.contains(&market) {
                    named.push(market);
                }
            }
        }
        for event in &self.parsed.events {
            match &event.kind {
                EventKind::Book { token, .. }
                | EventKind::Trade { token, .. }
                | EventKind::TickSize { token, .. }
                | EventKind::BestBidAsk { token, .. }
                | EventKind::Bad { token, .. } => name(*token, &mut self.named),
                EventKind::Resolved { winner } => name(*winner, &mut self.named),
                EventKind::PriceChange { changes } => {
                    for change in &self.parsed.changes[changes.start as usize..changes.end as usize] {
                        name(change.token, &mut self.named);
                    }
                }
                EventKind::NewMarket { .. } | EventKind::Unknown => {}
            }
        }
        if self.named.is_empty() {
            self.unrouted += 1;
        }
        for &m in &self.named {
            let (market, feed) = (&mut self.markets[m as usize], &mut self.feeds[m as usize]);
            feed.begin(market);
            feed.apply_parsed(market, &self.parsed, frame, 2 * m);
            feed.finish(market);
        }
        Ok(())
    }

    /// Ends the recording: the last burst of every market is checked.
    pub fn finish(&mut self) {
        for (market, feed) in self.markets.iter_mut().zip(&mut self.feeds) {
            feed.end_batch(market);
        }
    }

    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    pub fn feeds(&self) -> &[FeedState] {
        &self.feeds
    }

    /// Frames offered, including those in error.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn frame_errors(&self) -> u64 {
        self.frame_errors
    }

    /// Readable frames that named none of the markets' tokens.
    pub fn unrouted(&self) -> u64 {
        self.unrouted
    }
}
