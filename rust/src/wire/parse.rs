//! Frame bytes -> typed market-channel events, in one pass, into reusable buffers.
//!
//! A frame is one JSON object or an array of them. Fields may come in any order (the
//! exchange sends `event_type` last in some frames), so each object's known fields are
//! collected first and its type decided at its closing brace. Nothing is applied here: a
//! frame that is not readable JSON is rejected whole, before any book is touched.
//!
//! Most frames are written exactly as the exchange writes them: the same keys in the same
//! order, no whitespace. Canonical readers (a `price_change` object and each of its changes,
//! a whole `last_trade_price`) take that shape with fixed-size compares and give up, having
//! consumed nothing, at the first byte that differs; the general reader then reads the
//! object. They only ever return what the general reader would (tests compare the two).

use super::json::{find_quote_or_backslash, is_plain_run, JsonError, JsonResult, Scanner};
use crate::book::BookSide;
use crate::fixed::{parse_micros, Price, Size, MICROS};
use std::fmt;
use std::ops::Range;

/// Largest frame read: the initial dump of a few hundred books is well under it, and it
/// bounds the memory a hostile frame can make the parser hold.
pub const MAX_FRAME_BYTES: usize = 8 << 20;

/// Why a whole frame was rejected; nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    TooLarge { len: usize },
    Json(JsonError),
    NotAnObject { at: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooLarge { len } => {
                write!(f, "frame of {len} bytes is over the {MAX_FRAME_BYTES}-byte limit")
            }
            FrameError::Json(err) => write!(f, "frame is not valid JSON: {err}"),
            FrameError::NotAnObject { at } => {
                write!(f, "frame holds a non-object at byte {at} (expected an object or an array of objects)")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl From<JsonError> for FrameError {
    fn from(err: JsonError) -> Self {
        FrameError::Json(err)
    }
}

/// What was wrong with a token's data. Every one is counted; most send the token to resync.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    /// A decimal string that is not an exact price or size (or a price outside (0, 1)).
    BadNumber,
    /// A known field of the wrong JSON type or with an unknown value (a side not BUY/SELL).
    BadField,
    /// A price that is not on the 0.0001 ladder.
    OffGrid,
    /// A level update for a token that has no snapshot.
    NoSnapshot,
    /// The local best bid or ask disagrees with the frame's once its burst ended.
    BestMismatch,
    /// The local book is crossed once its burst ended.
    Crossed,
    /// Buffered updates were lost while a REST resync was in flight.
    ResyncGap,
    /// An event without a readable `asset_id`, so no token to blame.
    MissingAsset,
}

impl Problem {
    pub const ALL: [Problem; 8] = [
        Problem::BadNumber,
        Problem::BadField,
        Problem::OffGrid,
        Problem::NoSnapshot,
        Problem::BestMismatch,
        Problem::Crossed,
        Problem::ResyncGap,
        Problem::MissingAsset,
    ];

    pub const fn code(self) -> &'static str {
        match self {
            Problem::BadNumber => "bad_number",
            Problem::BadField => "bad_field",
            Problem::OffGrid => "off_grid",
            Problem::NoSnapshot => "no_snapshot",
            Problem::BestMismatch => "best_mismatch",
            Problem::Crossed => "crossed",
            Problem::ResyncGap => "resync_gap",
            Problem::MissingAsset => "missing_asset",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Which token an event or change names, as resolved by a `TokenMap`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Missing,
    Foreign,
    Slot(u32),
}

/// Resolves wire token ids to small slot numbers (a market: 0 Up, 1 Down).
pub trait TokenMap {
    fn slot(&self, asset: &[u8]) -> Option<u32>;

    /// Recognises a token at the start of `rest` (the bytes after a string's opening quote):
    /// its slot and length, only when `rest[len]` is the closing quote and the token holds
    /// no `"` or `\\`. Lets the parser match a ~77-byte id without scanning it twice.
    fn slot_at(&self, rest: &[u8]) -> Option<(u32, usize)> {
        let _ = rest;
        None
    }
}

/// True when `token` can be matched against raw JSON string bytes directly.
pub fn is_plain_token(token: &[u8]) -> bool {
    !token.is_empty() && !token.iter().any(|&c| c == b'"' || c == b'\\')
}

/// Whether `rest` starts with `token` followed by the closing quote.
#[inline]
pub fn starts_with_token(rest: &[u8], token: &[u8]) -> bool {
    let len = token.len();
    if rest.get(len) != Some(&b'"') {
        return false;
    }
    // Ids of one market share their length and differ all along; the last word alone
    // turns the other token away, so only the match pays for the whole compare.
    if len >= 8 && word_at(rest, len - 8) != word_at(token, len - 8) {
        return false;
    }
    same_bytes(&rest[..len], token)
}

#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// `a == b` for slices of one length, as word compares folded into one branch: token ids
/// (~77 bytes) are compared twice per change, and a `memcmp` call costs more than the
/// compare itself.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len < 8 || len != b.len() {
        return a == b;
    }
    let mut diff = word_at(a, len - 8) ^ word_at(b, len - 8);
    let mut at = 0;
    while at + 8 <= len {
        diff |= word_at(a, at) ^ word_at(b, at);
        at += 8;
    }
    diff == 0
}

/// The best price a frame says a side should have after it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The field was absent: nothing to check.
    Unchecked,
    /// The side is empty (the exchange sends "0" for no bid and "1" for no ask).
    Empty,
    At(Price),
}

impl Expect {
    /// True when the local best price satisfies the expectation.
    pub fn matches(self, local: Option<Price>) -> bool {
        match self {
            Expect::Unchecked => true,
            Expect::Empty => local.is_none(),
            Expect::At(price) => local == Some(price),
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TradeSide {
    Buy,
    Sell,
}

impl TradeSide {
    pub const fn name(self) -> &'static str {
        match self {
            TradeSide::Buy => "buy",
            TradeSide::Sell => "sell",
        }
    }
}

/// One level update inside a `price_change`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub token: Token,
    pub level: Result<(BookSide, Price, Size), Problem>,
    pub best_bid: Expect,
    pub best_ask: Expect,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Levels are `Parsed::levels[bids]` and `[asks]`; `tick` is the optional `tick_size`.
    Book { token: Token, bids: Range<u32>, asks: Range<u32>, tick: Option<i64> },
    PriceChange { changes: Range<u32> },
    Trade { token: Token, price: Price, size: Size, side: TradeSide },
    TickSize { token: Token, tick: i64 },
    BestBidAsk { token: Token, bid: Expect, ask: Expect },
    Resolved { winner: Token },
    /// `slug` is a byte range of the frame.
    NewMarket { slug: Range<u32> },
    Unknown,
    /// A known event type whose fields could not be read; `token` is the one it names.
    Bad { token: Token, problem: Problem },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The exchange's millisecond timestamp, if present and readable.
    pub timestamp: Option<u64>,
    /// Digest of the event's content (`content_key`): with the timestamp, the key
    /// duplicates share. The same on every reader and for any key order.
    pub digest: u64,
    pub kind: EventKind,
}

/// Reusable output of parsing one frame.
#[derive(Default, Debug)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub levels: Vec<(Price, Size)>,
    pub changes: Vec<Change>,
    /// Best bid and ask texts last read, by outcome (slot parity), across frames.
    memos: [[DecimalMemo; 2]; 2],
}

/// Keys of a `price_change` entry.
#[derive(Copy, Clone)]
enum ChangeKey {
    Asset,
    Price,
    Size,
    Side,
    Hash,
    BestBid,
    BestAsk,
}

/// Recognises a change's key straight from the bytes after its opening quote: dispatched on
/// the first byte, so a key costs one short compare and no scan for its closing quote.
#[inline]
fn change_key(rest: &[u8]) -> Option<(ChangeKey, usize)> {
    #[inline(always)]
    fn is<const N: usize>(rest: &[u8], key: &[u8; N]) -> bool {
        rest.len() > N && rest[..N] == key[..] && rest[N] == b'"'
    }
    match *rest.first()? {
        b'a' if is(rest, b"asset_id") => Some((ChangeKey::Asset, 8)),
        b'p' if is(rest, b"price") => Some((ChangeKey::Price, 5)),
        b's' if is(rest, b"size") => Some((ChangeKey::Size, 4)),
        b's' if is(rest, b"side") => Some((ChangeKey::Side, 4)),
        b'h' if is(rest, b"hash") => Some((ChangeKey::Hash, 4)),
        b'b' if is(rest, b"best_bid") => Some((ChangeKey::BestBid, 8)),
        b'b' if is(rest, b"best_ask") => Some((ChangeKey::BestAsk, 8)),
        _ => None,
    }
}

/// Keys of a frame object that are read (`Market` and `FeeRate` only to skip their values
/// without scanning for the end of the key).
#[derive(Copy, Clone)]
enum FieldKey {
    EventType,
    Asset,
    Market,
    FeeRate,
    Timestamp,
    Hash,
    Price,
    Size,
    Side,
    BestBid,
    BestAsk,
    TickSize,
    NewTickSize,
    WinningAsset,
    Slug,
    Bids,
    Asks,
    PriceChanges,
}

/// Recognises a frame object's key straight from the bytes after its opening quote, as
/// `change_key` does; `None` for any other key.
#[inline]
fn field_key(rest: &[u8]) -> Option<(FieldKey, usize)> {
    #[inline(always)]
    fn is<const N: usize>(rest: &[u8], key: &[u8; N]) -> bool {
        rest.len() > N && rest[..N] == key[..] && rest[N] == b'"'
    }
    let key = match *rest.first()? {
        b'e' if is(rest, b"event_type") => FieldKey::EventType,
        b'a' if is(rest, b"asset_id") => FieldKey::Asset,
        b'a' if is(rest, b"asks") => FieldKey::Asks,
        b'm' if is(rest, b"market") => FieldKey::Market,
        b'f' if is(rest, b"fee_rate_bps") => FieldKey::FeeRate,
        b't' if is(rest, b"timestamp") => FieldKey::Timestamp,
        b't' if is(rest, b"tick_size") => FieldKey::TickSize,
        b'h' if is(rest, b"hash") => FieldKey::Hash,
        b'p' if is(rest, b"price") => FieldKey::Price,
        b'p' if is(rest, b"price_changes") => FieldKey::PriceChanges,
        b's' if is(rest, b"size") => FieldKey::Size,
        b's' if is(rest, b"side") => FieldKey::Side,
        b's' if is(rest, b"slug") => FieldKey::Slug,
        b'b' if is(rest, b"best_bid") => FieldKey::BestBid,
        b'b' if is(rest, b"best_ask") => FieldKey::BestAsk,
        b'b' if is(rest, b"bids") => FieldKey::Bids,
        b'n' if is(rest, b"new_tick_size") => FieldKey::NewTickSize,
        b'w' if is(rest, b"winning_asset_id") => FieldKey::WinningAsset,
        _ => return None,
    };
    Some((key, key.name().len()))
}

impl FieldKey {
    const fn name(self) -> &'static [u8] {
        match self {
            FieldKey::EventType => b"event_type",
            FieldKey::Asset => b"asset_id",
            FieldKey::Market => b"market",
            FieldKey::FeeRate => b"fee_rate_bps",
            FieldKey::Timestamp => b"timestamp",
            FieldKey::Hash => b"hash",
            FieldKey::Price => b"price",
            FieldKey::Size => b"size",
            FieldKey::Side => b"side",
            FieldKey::BestBid => b"best_bid",
            FieldKey::BestAsk => b"best_ask",
            FieldKey::TickSize => b"tick_size",
            FieldKey::NewTickSize => b"new_tick_size",
            FieldKey::WinningAsset => b"winning_asset_id",
            FieldKey::Slug => b"slug",
            FieldKey::Bids => b"bids",
            FieldKey::Asks => b"asks",
            FieldKey::PriceChanges => b"price_changes",
        }
    }
}

/// Recognises an event type the engine reads from the bytes after the value's opening
/// quote, so its length is known without a scan.
#[inline]
fn event_name(rest: &[u8]) -> Option<((), usize)> {
    #[inline(always)]
    fn is<const N: usize>(rest: &[u8], name: &[u8; N]) -> Option<((), usize)> {
        (rest.len() > N && rest[..N] == name[..] && rest[N] == b'"').then_some(((), N))
    }
    match *rest.first()? {
        b'p' => is(rest, b"price_change"),
        b'l' => is(rest, b"last_trade_price"),
        b'b' => is(rest, b"book").or_else(|| is(rest, b"best_bid_ask")),
        b't' => is(rest, b"tick_size_change"),
        b'm' => is(rest, b"market_resolved"),
        b'n' => is(rest, b"new_market"),
        _ => None,
    }
}

/// A level's key: `price` (true) or `size` (false).
#[inline]
fn level_key(rest: &[u8]) -> Option<(bool, usize)> {
    if rest.len() > 5 && rest[..5] == b"price"[..] && rest[5] == b'"' {
        Some((true, 5))
    } else if rest.len() > 4 && rest[..4] == b"size"[..] && rest[4] == b'"' {
        Some((false, 4))
    } else {
        None
    }
}

/// The digest word of one change. The exchange's content hash, with the level it set,
/// names the change: bursts reuse one hash across changes at different prices.
#[inline(always)]
fn change_word(token: Token, asset: &[u8], hash: &[u8], price: Option<Decimal<'_>>, size: Option<Decimal<'_>>, side: &[u8]) -> u64 {
    let token_word = match token {
        Token::Slot(slot) => u64::from(slot).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        Token::Missing | Token::Foreign => load(asset),
    };
    token_word
        ^ load(hash).rotate_left(7)
        ^ decimal_word(price).rotate_left(19)
        ^ decimal_word(size).rotate_left(37)
        ^ load(side).rotate_left(53)
}

/// Steps over `text` at the front of `rest`, or fails: the canonical readers' fixed-size
/// compare. The canonical readers move a slice along rather than an index into it: one
/// length check a step instead of a range's two.
#[inline(always)]
fn lit<const N: usize>(rest: &mut &[u8], text: &[u8; N]) -> Option<()> {
    let (head, tail) = rest.split_first_chunk::<N>()?;
    if !same_array(head, text) {
        return None;
    }
    *rest = tail;
    Some(())
}

/// Bytes in a condition id (`0x` and 64 hex digits), the usual `market` value.
const CONDITION_ID: usize = 66;
/// Digits in a millisecond timestamp, until the year 2286.
const TIMESTAMP: usize = 13;

/// A string's content of exactly `len` bytes at the front of `rest` (no `"` or `\\` in it,
/// the closing quote right after), stepped over; the quote is left.
#[inline(always)]
fn plain_sized<'a>(rest: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
    if rest.get(len) != Some(&b'"') || !is_plain_run(&rest[..len]) {
        return None;
    }
    take(rest, len)
}

/// The first `len` bytes of `rest`, stepped over.
#[inline(always)]
fn take<'a>(rest: &mut &'a [u8], len: usize) -> Option<&'a [u8]> {
    let (head, tail) = rest.split_at_checked(len)?;
    *rest = tail;
    Some(head)
}

/// `a == b` as at most two (overlapping) word compares for keys of up to 16 bytes; the
/// words of a literal `b` fold into constants.
#[inline(always)]
fn same_array<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    if !(8..=16).contains(&N) {
        return a == b;
    }
    (word_at(a, 0) ^ word_at(b, 0)) | (word_at(a, N - 8) ^ word_at(b, N - 8)) == 0
}

/// A decimal string's content at the front of `rest` read by `fast_decimal`, stepped over:
/// its text and value.
#[inline(always)]
fn decimal<'a>(rest: &mut &'a [u8]) -> Option<(&'a [u8], i64)> {
    let (micros, len) = fast_decimal(rest)?;
    Some((take(rest, len)?, micros))
}

/// `BUY` or `SELL` at the front of `rest`, stepped over: whether it is a buy, and its text.
/// The byte after it is read too (the closing quote), so one 5-byte compare decides.
#[inline(always)]
fn side_word(rest: &mut &[u8]) -> Option<(bool, &'static [u8])> {
    let chunk: &[u8; 5] = rest.first_chunk()?;
    let (buy, text): (bool, &'static [u8]) = if chunk == b"BUY\"," {
        (true, b"BUY")
    } else if chunk == b"SELL\"" {
        (false, b"SELL")
    } else {
        return None;
    };
    *rest = &rest[text.len()..];
    Some((buy, text))
}

/// Reads a `last_trade_price` object written exactly as the exchange writes them (these
/// keys in this order, no whitespace, a 66-byte condition id, a known token, a digits-only
/// fee rate, plain decimals, a 13-digit timestamp), as `canonical_change` does for a
/// change: at the first difference it gives up and the general reader takes over, so the
/// event is the one the general reader gives (proved by a test). Trades are nearly half
/// of a market's frames and the general reader spends most of its time on their keys.
#[inline]
fn canonical_trade<M: TokenMap>(rest: &[u8], tokens: &M) -> Option<(Event, usize)> {
    let r = &mut &rest[..];
    lit(r, b"{\"event_type\":\"last_trade_price\",\"market\":\"")?;
    plain_sized(r, CONDITION_ID)?;
    lit(r, b"\",\"asset_id\":\"")?;
    let (slot, token_len) = tokens.slot_at(r)?;
    take(r, token_len)?;
    lit(r, b"\",\"fee_rate_bps\":\"")?;
    let fee_len = r.iter().take(8).take_while(|c| c.is_ascii_digit()).count();
    take(r, fee_len)?;
    lit(r, b"\",\"price\":\"")?;
    let (price_text, price) = decimal(r)?;
    lit(r, b"\",\"side\":\"")?;
    let (buy, side_text) = side_word(r)?;
    let side = if buy { TradeSide::Buy } else { TradeSide::Sell };
    lit(r, b"\",\"size\":\"")?;
    let (size_text, size) = decimal(r)?;
    lit(r, b"\",\"timestamp\":\"")?;
    let stamp = take(r, TIMESTAMP)?;
    lit(r, b"\"}")?;
    let used = rest.len() - r.len();
    let timestamp = timestamp_of(stamp)?;
    let price = Price::from_micros(price).ok()?;
    let size = Size::from_micros(size).ok()?;
    let token = Token::Slot(slot);
    let content = Fields {
        event_type: Some(b"last_trade_price"),
        asset_token: token,
        price: Some((price_text, Some(price.micros()))),
        size: Some((size_text, Some(size.micros()))),
        side: Some(side_text),
        ..Fields::default()
    };
    let digest = content_key(&content);
    Some((Event { timestamp: Some(timestamp), digest, kind: EventKind::Trade { token, price, size, side } }, used))
}

#[cfg(test)]
pub(super) fn canonical_trade_for_tests<M: TokenMap>(event: &[u8], tokens: &M) -> bool {
    canonical_trade(event, tokens).is_some()
}

/// Reads one change written exactly as the exchange writes them (these keys in this order,
/// no whitespace, a known token, plain decimals) with fixed-size compares. At the first
/// difference it gives up, having consumed nothing, and the general reader takes over;
/// so it only ever returns what the general reader would (proved by a test).
#[inline]
fn canonical_change<M: TokenMap>(rest: &[u8], tokens: &M, memos: &mut [[DecimalMemo; 2]; 2], out: &mut Vec<Change>) -> Option<(u64, usize)> {
    let r = &mut &rest[..];
    lit(r, b"{\"asset_id\":\"")?;
    let (slot, token_len) = tokens.slot_at(r)?;
    take(r, token_len)?;
    lit(r, b"\",\"price\":\"")?;
    let (price_text, price) = decimal(r)?;
    lit(r, b"\",\"size\":\"")?;
    let (size_text, size) = decimal(r)?;
    lit(r, b"\",\"side\":\"")?;
    let (buy, side_text) = side_word(r)?;
    let side = if buy { BookSide::Bid } else { BookSide::Ask };
    lit(r, b"\",\"hash\":\"")?;
    // An escape in the hash stops here and fails the next literal: the general reader decides.
    let hash = take(r, hash_length(r)?)?;
    // A token's best prices rarely move from one change to its next: the text seen last
    // for this outcome is tried first, as one compare.
    let [bid_memo, ask_memo] = &mut memos[(slot & 1) as usize];
    lit(r, b"\",\"best_bid\":\"")?;
    let best_bid = bid_memo.read(r)?;
    lit(r, b"\",\"best_ask\":\"")?;
    let best_ask = ask_memo.read(r)?;
    lit(r, b"\"}")?;
    let used = rest.len() - r.len();
    let price = Price::from_micros(price).ok()?;
    let size = Size::from_micros(size).ok()?;
    let expect = |micros: i64| {
        if micros <= 0 || micros >= MICROS {
            Some(Expect::Empty)
        } else {
            Price::from_micros(micros).ok().map(Expect::At)
        }
    };
    let token = Token::Slot(slot);
    let (best_bid, best_ask) = (expect(best_bid)?, expect(best_ask)?);
    // Written straight into the list: a returned `Change` would be copied through the stack.
    out.push(Change { token, level: Ok((side, price, size)), best_bid, best_ask });
    let word = change_word(token, b"", hash, Some((price_text, Some(price.micros()))), Some((size_text, Some(size.micros()))), side_text);
    Some((word, used))
}

/// The length of the string whose content starts `rest`, as `find_quote_or_backslash`
/// gives it. The exchange's hashes are 40 hex digits: that length is tried first, with one
/// branch over the 40 bytes together, so the reader's position is a predicted constant
/// rather than the result of a scan that everything after it would wait on.
#[inline(always)]
fn hash_length(rest: &[u8]) -> Option<usize> {
    const HASH: usize = 40;
    if rest.get(HASH) == Some(&b'"') && is_plain_run(&rest[..HASH]) {
        return Some(HASH);
    }
    find_quote_or_backslash(rest)
}

#[cfg(test)]
pub(super) fn hash_length_for_tests(rest: &[u8]) -> Option<usize> {
    hash_length(rest)
}

/// A decimal's text (up to 7 bytes, with its closing quote: one word) and the value
/// `fast_decimal` gave it. `fast_decimal` reads nothing past that quote, so the same word
/// always has that same answer.
#[derive(Copy, Clone, Debug, Default)]
struct DecimalMemo {
    /// The text and its quote, zero-padded; `mask` covers them (zero: nothing kept yet).
    word: u64,
    mask: u64,
    len: usize,
    micros: i64,
}

impl DecimalMemo {
    /// `fast_decimal` at the front of `rest`, stepping over the text.
    #[inline(always)]
    fn read(&mut self, rest: &mut &[u8]) -> Option<i64> {
        let Some(window) = rest.first_chunk::<8>() else {
            let (micros, len) = fast_decimal(rest)?;
            take(rest, len)?;
            return Some(micros);
        };
        let word = u64::from_le_bytes(*window);
        if self.mask != 0 && word & self.mask == self.word {
            take(rest, self.len)?;
            return Some(self.micros);
        }
        let (micros, len) = fast_decimal(rest)?;
        take(rest, len)?;
        if len < 8 {
            let mask = u64::MAX >> (8 * (7 - len));
            *self = DecimalMemo { word: word & mask, mask, len, micros };
        }
        Some(micros)
    }
}

/// The first and last 8 bytes (fewer when shorter) folded into a word with the length: a
/// cheap fingerprint of a short value, in fixed-size reads.
#[inline(always)]
fn load(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let (head, tail) = if len >= 8 {
        (u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")), u64::from_le_bytes(bytes[len - 8..].try_into().expect("8 bytes")))
    } else if len >= 4 {
        let word = |part: &[u8]| u64::from(u32::from_le_bytes(part.try_into().expect("4 bytes")));
        (word(&bytes[..4]), word(&bytes[len - 4..]))
    } else {
        (bytes.iter().fold(0, |acc, &b| acc << 8 | u64::from(b)), 0)
    };
    head ^ tail.rotate_left(29) ^ (len as u64) << 58
}

/// A decimal's fingerprint: its value when the one-pass reader took it (the same on both
/// change readers), else its text.
#[inline]
fn decimal_word(value: Option<Decimal<'_>>) -> u64 {
    match value {
        Some((_, Some(micros))) => micros as u64,
        Some((text, None)) => load(text) ^ 1 << 63,
        None => 0,
    }
}

/// FxHash-style running digest: fast, and only ever compared for equality.
#[derive(Copy, Clone)]
struct Digest(u64);

impl Digest {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(Self::SEED);
    }

    /// Mixes a token: its slot when resolved (the id itself would cost ten words).
    #[inline]
    fn token(&mut self, tag: u64, asset: &[u8], token: Token) {
        match token {
            Token::Slot(slot) => self.word(tag << 32 | u64::from(slot)),
            Token::Missing | Token::Foreign => self.bytes(tag, asset),
        }
    }

    #[inline]
    fn bytes(&mut self, tag: u64, bytes: &[u8]) {
        self.word(tag << 32 | bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("chunks of 8")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(last));
        }
    }
}

/// The known top-level fields of one frame object, as raw bytes.
struct Fields<'a> {
    event_type: Option<&'a [u8]>,
    asset: Option<&'a [u8]>,
    asset_token: Token,
    timestamp: Option<&'a [u8]>,
    price: Option<Decimal<'a>>,
    size: Option<Decimal<'a>>,
    side: Option<&'a [u8]>,
    best_bid: Option<&'a [u8]>,
    best_ask: Option<&'a [u8]>,
    tick_size: Option<&'a [u8]>,
    new_tick_size: Option<&'a [u8]>,
    winning_asset: Option<&'a [u8]>,
    slug: Option<Range<u32>>,
    bids: Option<Range<u32>>,
    asks: Option<Range<u32>>,
    changes: Option<Range<u32>>,
    hash: Option<&'a [u8]>,
    /// Digests of the `bids`, `asks` and `price_changes` lists, when present.
    bids_key: Option<u64>,
    asks_key: Option<u64>,
    changes_key: Option<u64>,
    /// The first problem met in a known field (wrong type, bad number in a level).
    bad: Option<Problem>,
}

impl Default for Fields<'_> {
    fn default() -> Self {
        Fields {
            event_type: None,
            asset: None,
            asset_token: Token::Missing,
            timestamp: None,
            price: None,
            size: None,
            side: None,
            best_bid: None,
            best_ask: None,
            tick_size: None,
            new_tick_size: None,
            winning_asset: None,
            slug: None,
            bids: None,
            asks: None,
            changes: None,
            hash: None,
            bids_key: None,
            asks_key: None,
            changes_key: None,
            bad: None,
        }
    }
}

/// The event type an object names, or the one its shape implies: NautilusTrader's captured
/// payloads (our fixtures) and REST `/book` bodies carry no `event_type`, and their shape
/// names the event unambiguously.
#[inline(always)]
fn event_type_of<'a>(f: &Fields<'a>) -> Option<&'a [u8]> {
    match f.event_type {
        Some(name) => Some(name),
        None if f.bids.is_some() || f.asks.is_some() => Some(b"book"),
        None if f.changes.is_some() => Some(b"price_change"),
        None if f.new_tick_size.is_some() => Some(b"tick_size_change"),
        None if f.winning_asset.is_some() => Some(b"market_resolved"),
        None if f.asset.is_some() && f.price.is_some() && f.side.is_some() => Some(b"last_trade_price"),
        None => None,
    }
}

/// The duplicate key of an event (with its timestamp), from its known fields once all are
/// read: every reader (general, canonical) computes it here, in this one fixed order, so
/// the same event gives the same key however it was written (key order, whitespace,
/// `event_type` stated or implied). The market id, fee rate, slug and timestamp are not
/// content; lists (levels, changes) keep their order, which is content.
#[inline(always)]
fn content_key(f: &Fields<'_>) -> u64 {
    let mut digest = Digest(0);
    // Written out field by field (no loop over an array of them): inlined into a canonical
    // reader, where most fields are known absent, only the present ones are left.
    let mut text = |tag: u64, value: Option<&[u8]>| {
        if let Some(value) = value {
            digest.bytes(tag, value);
        }
    };
    text(1, event_type_of(f));
    // 16 bytes are enough of the exchange's 40-hex-digit content hash.
    text(4, f.hash.map(|hash| &hash[..hash.len().min(16)]));
    text(5, f.price.map(|(value, _)| value));
    text(6, f.size.map(|(value, _)| value));
    text(7, f.side);
    text(8, f.best_bid);
    text(9, f.best_ask);
    text(10, f.tick_size);
    text(11, f.new_tick_size);
    text(12, f.winning_asset);
    if f.asset.is_some() || matches!(f.asset_token, Token::Slot(_)) {
        digest.token(2, f.asset.unwrap_or_default(), f.asset_token);
    }
    let mut list = |tag: u64, key: Option<u64>| {
        if let Some(key) = key {
            digest.word(tag << 32 | 1);
            digest.word(key);
        }
    };
    list(13, f.bids_key);
    list(14, f.asks_key);
    list(15, f.changes_key);
    digest.0
}

/// Reads an `asset_id` value and resolves it, or records a wrong type.
#[inline]
fn asset_field<'a, M: TokenMap>(
    s: &mut Scanner<'a>,
    tokens: &M,
    depth: u32,
    bad: &mut Option<Problem>,
) -> JsonResult<Option<(&'a [u8], Token)>> {
    if s.peek()? != b'"' {
        s.skip_value(depth)?;
        first(bad, Problem::BadField);
        return Ok(None);
    }
    let (asset, slot) = s.string_with(|rest| tokens.slot_at(rest))?;
    let token = match slot {
        Some(slot) => Token::Slot(slot),
        None => token_of(tokens, Some(asset)),
    };
    Ok(Some((asset, token)))
}

fn token_of<M: TokenMap>(tokens: &M, asset: Option<&[u8]>) -> Token {
    match asset {
        None => Token::Missing,
        Some(asset) => tokens.slot(asset).map_or(Token::Foreign, Token::Slot),
    }
}

fn timestamp_of(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')))
}

/// A decimal field: its raw text, and its millionths when `fast_decimal` read it in the
/// same pass that found its closing quote (`None`: the full parser decides).
type Decimal<'a> = (&'a [u8], Option<i64>);

/// The raw text of a decimal field, empty when absent.
fn text_of<'a>(value: Option<Decimal<'a>>) -> &'a [u8] {
    value.map_or(&[], |(text, _)| text)
}

fn plain(text: &[u8]) -> Decimal<'_> {
    (text, None)
}

/// The common shape, `digits[.digits]` with at most 12 whole digits and 6 decimals, read
/// straight into millionths. Anything else is left to `parse_micros`, so every value taken
/// here is one `parse_micros` gives too (its rules, proved by a test).
#[inline(always)]
fn fast_decimal(rest: &[u8]) -> Option<(i64, usize)> {
    match rest.get(..DECIMAL_WINDOW) {
        Some(window) => decimal_in_window(window.try_into().expect("window")),
        None => decimal_by_bytes(rest),
    }
}

/// Bytes `fast_decimal` can look at: 12 whole digits, the point, 6 decimals, the quote.
const DECIMAL_WINDOW: usize = 20;

/// `fast_decimal` over a fixed window (a value is nearly always followed by more of its
/// frame), so that no read needs a bounds check; the digits are gathered into one integer
/// and scaled once at the end. Gives what `decimal_by_bytes` gives (proved by a test).
#[inline(always)]
fn decimal_in_window(w: &[u8; DECIMAL_WINDOW]) -> Option<(i64, usize)> {
    const SCALE: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    let mut value: i64 = 0;
    let mut i = 0;
    while i < 12 {
        let digit = w[i].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + i64::from(digit);
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut places = 0;
    if w[i] == b'.' {
        i += 1;
        while places < 6 {
            let digit = w[i].wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            value = value * 10 + i64::from(digit);
            places += 1;
            i += 1;
        }
        if places == 0 {
            return None;
        }
    }
    (w[i] == b'"').then_some((value * SCALE[places], i))
}

/// `fast_decimal` one byte at a time, for a value too near the end of its frame.
fn decimal_by_bytes(rest: &[u8]) -> Option<(i64, usize)> {
    let mut i = 0;
    let mut whole: i64 = 0;
    while i < 12 {
        match rest.get(i) {
            Some(&c) if c.is_ascii_digit() => whole = whole * 10 + i64::from(c - b'0'),
            _ => break,
        }
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut fraction: i64 = 0;
    let mut scale: i64 = MICROS;
    if rest.get(i) == Some(&b'.') {
        i += 1;
        let first = i;
        while scale > 1 {
            match rest.get(i) {
                Some(&c) if c.is_ascii_digit() => {
                    scale /= 10;
                    fraction += i64::from(c - b'0') * scale;
                }
                _ => break,
            }
            i += 1;
        }
        if i == first {
            return None;
        }
    }
    (rest.get(i) == Some(&b'"')).then_some((whole * MICROS + fraction, i))
}

#[cfg(test)]
pub(super) fn fast_decimal_for_tests(rest: &[u8]) -> Option<(i64, usize)> {
    fast_decimal(rest)
}

#[cfg(test)]
pub(super) fn decimal_by_bytes_for_tests(rest: &[u8]) -> Option<(i64, usize)> {
    decimal_by_bytes(rest)
}

/// Reads a decimal string value, or skips a value of another type and records the problem.
#[inline]
fn decimal_field<'a>(s: &mut Scanner<'a>, depth: u32, bad: &mut Option<Problem>) -> JsonResult<Option<Decimal<'a>>> {
    if s.peek()? == b'"' {
        s.string_with(fast_decimal).map(Some)
    } else {
        s.skip_value(depth)?;
        first(bad, Problem::BadField);
        Ok(None)
    }
}

fn micros_of(value: Decimal<'_>, what: &'static str) -> Result<i64, Problem> {
    match value.1 {
        Some(micros) => Ok(micros),
        None => parse_micros(value.0, what).map_err(|_| Problem::BadNumber),
    }
}

fn expect_of(value: Option<Decimal<'_>>) -> Result<Expect, Problem> {
    let Some(value) = value else { return Ok(Expect::Unchecked) };
    let micros = micros_of(value, "best price")?;
    if micros <= 0 || micros >= MICROS {
        return Ok(Expect::Empty);
    }
    Price::from_micros(micros).map(Expect::At).map_err(|_| Problem::BadNumber)
}

fn price_of(value: Option<Decimal<'_>>) -> Result<Price, Problem> {
    let value = value.ok_or(Problem::BadField)?;
    match value.1 {
        Some(micros) => Price::from_micros(micros),
        None => Price::parse_bytes(value.0),
    }
    .map_err(|_| Problem::BadNumber)
}

fn size_of(value: Option<Decimal<'_>>) -> Result<Size, Problem> {
    let value = value.ok_or(Problem::BadField)?;
    match value.1 {
        Some(micros) => Size::from_micros(micros),
        None => Size::parse_bytes(value.0),
    }
    .map_err(|_| Problem::BadNumber)
}

#[inline]
fn level_of(side: Option<&[u8]>, price: Option<Decimal<'_>>, size: Option<Decimal<'_>>) -> Result<(BookSide, Price, Size), Problem> {
    Ok((book_side_of(side)?, price_of(price)?, size_of(size)?))
}

fn book_side_of(text: Option<&[u8]>) -> Result<BookSide, Problem> {
    match text {
        Some(b"BUY") => Ok(BookSide::Bid),
        Some(b"SELL") => Ok(BookSide::Ask),
        _ => Err(Problem::BadField),
    }
}

fn trade_side_of(text: Option<&[u8]>) -> Result<TradeSide, Problem> {
    match text {
        Some(b"BUY") => Ok(TradeSide::Buy),
        Some(b"SELL") => Ok(TradeSide::Sell),
        _ => Err(Problem::BadField),
    }
}

fn tick_of(text: Option<&[u8]>) -> Result<i64, Problem> {
    let micros = parse_micros(text.ok_or(Problem::BadField)?, "tick size").map_err(|_| Problem::BadNumber)?;
    crate::book::check_tick(micros).map_err(|_| Problem::BadNumber)
}

fn first(slot: &mut Option<Problem>, problem: Problem) {
    if slot.is_none() {
        *slot = Some(problem);
    }
}

/// Reads a string value, or skips a value of another type and records the problem.
#[inline]
fn string_field<'a>(s: &mut Scanner<'a>, depth: u32, bad: &mut Option<Problem>) -> JsonResult<Option<&'a [u8]>> {
    if s.peek()? == b'"' {
        s.string().map(Some)
    } else {
        s.skip_value(depth)?;
        first(bad, Problem::BadField);
        Ok(None)
    }
}

impl Parsed {
    fn clear(&mut self) {
        self.events.clear();
        self.levels.clear();
        self.changes.clear();
    }

    /// Parses a whole frame; on error the buffers hold nothing meaningful.
    pub fn parse<M: TokenMap>(&mut self, frame: &[u8], tokens: &M) -> Result<(), FrameError> {
        self.clear();
        if frame.len() > MAX_FRAME_BYTES {
            return Err(FrameError::TooLarge { len: frame.len() });
        }
        let mut s = Scanner::new(frame);
        match s.peek()? {
            b'{' => self.event(&mut s, tokens, 1)?,
            b'[' => {
                if !s.array_start()? {
                    loop {
                        if s.peek()? != b'{' {
                            return Err(FrameError::NotAnObject { at: s.pos() });
                        }
                        self.event(&mut s, tokens, 2)?;
                        if !s.array_next()? {
                            break;
                        }
                    }
                }
            }
            _ => return Err(FrameError::NotAnObject { at: s.pos() }),
        }
        if !s.at_end() {
            let at = s.pos();
            return Err(FrameError::Json(JsonError::Unexpected { at, found: frame[at], expected: "the end of the frame" }));
        }
        Ok(())
    }

    fn event<M: TokenMap>(&mut self, s: &mut Scanner<'_>, tokens: &M, depth: u32) -> JsonResult<()> {
        if let Some((event, used)) = canonical_trade(s.rest(), tokens) {
            s.advance(used);
            self.events.push(event);
            return Ok(());
        }
        if self.canonical_price_change(s, tokens, depth)? {
            return Ok(());
        }
        let mut f = Fields::default();
        if !s.object_start()? {
            loop {
                let Some(key) = s.key_with(field_key)? else {
                    s.skip_value(depth)?;
                    if !s.object_next()? {
                        break;
                    }
                    continue;
                };
                let target: &mut Option<&[u8]> = match key {
                    FieldKey::EventType => {
                        if s.peek()? == b'"' {
                            let (name, _) = s.string_with(event_name)?;
                            f.event_type = Some(name);
                        } else {
                            s.skip_value(depth)?;
                            first(&mut f.bad, Problem::BadField);
                        }
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::Asset => {
                        if let Some((asset, token)) = asset_field(s, tokens, depth, &mut f.bad)? {
                            (f.asset, f.asset_token) = (Some(asset), token);
                        }
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::Timestamp => {
                        let value = if s.peek()? == b'"' { Some(s.string_sized(TIMESTAMP)?) } else { string_field(s, depth, &mut f.bad)? };
                        if value.is_some() {
                            f.timestamp = value;
                        }
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::Hash => &mut f.hash,
                    FieldKey::Price | FieldKey::Size => {
                        // Read in one pass like a change's numbers.
                        if let Some(value) = decimal_field(s, depth, &mut f.bad)? {
                            if matches!(key, FieldKey::Price) {
                                f.price = Some(value);
                            } else {
                                f.size = Some(value);
                            }
                        }
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::Side => &mut f.side,
                    FieldKey::BestBid => &mut f.best_bid,
                    FieldKey::BestAsk => &mut f.best_ask,
                    FieldKey::TickSize => &mut f.tick_size,
                    FieldKey::NewTickSize => &mut f.new_tick_size,
                    FieldKey::WinningAsset => &mut f.winning_asset,
                    FieldKey::Slug => {
                        s.peek()?;
                        let start = s.pos() + 1;
                        if let Some(slug) = string_field(s, depth, &mut f.bad)? {
                            f.slug = Some(start as u32..(start + slug.len()) as u32);
                        }
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::Bids | FieldKey::Asks => {
                        let mut digest = Digest(0);
                        let range = self.levels(s, depth, &mut f.bad, &mut digest)?;
                        if matches!(key, FieldKey::Bids) {
                            (f.bids, f.bids_key) = (range, Some(digest.0));
                        } else {
                            (f.asks, f.asks_key) = (range, Some(digest.0));
                        }
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::PriceChanges => {
                        let mut digest = Digest(0);
                        f.changes = self.changes(s, tokens, depth, &mut f.bad, &mut digest)?;
                        f.changes_key = Some(digest.0);
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::FeeRate => {
                        s.skip_value(depth)?;
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                    FieldKey::Market => {
                        // Unread, so skipped as any value.
                        if s.peek()? == b'"' {
                            s.string_sized(CONDITION_ID)?;
                        } else {
                            s.skip_value(depth)?;
                        }
                        if !s.object_next()? {
                            break;
                        }
                        continue;
                    }
                };
                if let Some(value) = string_field(s, depth, &mut f.bad)? {
                    *target = Some(value);
                }
                if !s.object_next()? {
                    break;
                }
            }
        }
        let timestamp = f.timestamp.and_then(timestamp_of);
        let kind = classify(&f, tokens);
        self.events.push(Event { timestamp, digest: content_key(&f), kind });
        Ok(())
    }

    /// Reads a `price_change` object written exactly as the exchange writes them (`market`,
    /// `price_changes`, `timestamp`, `event_type`, in that order, no whitespace, a 66-byte
    /// condition id, a 13-digit timestamp) around the general array reader, and pushes the
    /// event the general reader would (proved by a test). False, with nothing consumed or
    /// kept, at the first difference: the general reader then reads the object.
    fn canonical_price_change<M: TokenMap>(&mut self, s: &mut Scanner<'_>, tokens: &M, depth: u32) -> JsonResult<bool> {
        let rest = s.rest();
        let r = &mut &rest[..];
        let head = lit(r, b"{\"market\":\"").and_then(|()| plain_sized(r, CONDITION_ID)).and_then(|_| lit(r, b"\",\"price_changes\":"));
        if head.is_none() || r.first() != Some(&b'[') {
            return Ok(false);
        }
        let (start, kept) = (*s, self.changes.len());
        s.advance(rest.len() - r.len());
        let mut digest = Digest(0);
        let mut bad = None;
        // The array starts with `[`, so the reader neither skips it nor records a problem;
        // its errors are the general reader's too, on the same bytes.
        let changes = self.changes(s, tokens, depth, &mut bad, &mut digest)?;
        let rest = s.rest();
        let r = &mut &rest[..];
        let timestamp = lit(r, b",\"timestamp\":\"").and_then(|()| take(r, TIMESTAMP)).and_then(timestamp_of);
        match (changes, timestamp, lit(r, b"\",\"event_type\":\"price_change\"}")) {
            (Some(changes), Some(timestamp), Some(())) if bad.is_none() => {
                s.advance(rest.len() - r.len());
                let content = Fields {
                    event_type: Some(b"price_change"),
                    changes: Some(changes.clone()),
                    changes_key: Some(digest.0),
                    ..Fields::default()
                };
                self.events.push(Event { timestamp: Some(timestamp), digest: content_key(&content), kind: EventKind::PriceChange { changes } });
                Ok(true)
            }
            _ => {
                *s = start;
                self.changes.truncate(kept);
                Ok(false)
            }
        }
    }

    /// Reads an array of `{price, size}` levels into `self.levels`.
    fn levels(&mut self, s: &mut Scanner<'_>, depth: u32, bad: &mut Option<Problem>, digest: &mut Digest) -> JsonResult<Option<Range<u32>>> {
        if s.peek()? != b'[' {
            s.skip_value(depth)?;
            first(bad, Problem::BadField);
            return Ok(None);
        }
        let start = self.levels.len() as u32;
        if !s.array_start()? {
            loop {
                if s.peek()? != b'{' {
                    s.skip_value(depth + 1)?;
                    first(bad, Problem::BadField);
                } else {
                    let (mut price, mut size) = (None, None);
                    if !s.object_start()? {
                        loop {
                            match s.key_with(level_key)? {
                                Some(true) => price = decimal_field(s, depth + 2, bad)?,
                                Some(false) => size = decimal_field(s, depth + 2, bad)?,
                                None => s.skip_value(depth + 2)?,
                            }
                            if !s.object_next()? {
                                break;
                            }
                        }
                    }
                    digest.word(load(text_of(price)) ^ load(text_of(size)).rotate_left(31));
                    match (price_of(price), size_of(size)) {
                        (Ok(price), Ok(size)) => self.levels.push((price, size)),
                        (Err(problem), _) | (_, Err(problem)) => first(bad, problem),
                    }
                }
                if !s.array_next()? {
                    break;
                }
            }
        }
        Ok(Some(start..self.levels.len() as u32))
    }

    /// Reads the `price_changes` array into `self.changes`.
    fn changes<M: TokenMap>(
        &mut self,
        s: &mut Scanner<'_>,
        tokens: &M,
        depth: u32,
        bad: &mut Option<Problem>,
        digest: &mut Digest,
    ) -> JsonResult<Option<Range<u32>>> {
        if s.peek()? != b'[' {
            s.skip_value(depth)?;
            first(bad, Problem::BadField);
            return Ok(None);
        }
        let start = self.changes.len() as u32;
        if !s.array_start()? {
            loop {
                if let Some((word, used)) = canonical_change(s.rest(), tokens, &mut self.memos, &mut self.changes) {
                    digest.word(word);
                    // The exchange writes a bare `,` or `]` next: stepped over here, without
                    // the whitespace-skipping reads of the general separator.
                    match s.rest().get(used) {
                        Some(b',') => {
                            s.advance(used + 1);
                            continue;
                        }
                        Some(b']') => {
                            s.advance(used + 1);
                            break;
                        }
                        _ => s.advance(used),
                    }
                } else if s.peek()? != b'{' {
                    s.skip_value(depth + 1)?;
                    self.changes.push(Change {
                        token: Token::Missing,
                        level: Err(Problem::BadField),
                        best_bid: Expect::Unchecked,
                        best_ask: Expect::Unchecked,
                    });
                } else {
                    let change = self.change(s, tokens, depth + 1, digest)?;
                    self.changes.push(change);
                }
                if !s.array_next()? {
                    break;
                }
            }
        }
        Ok(Some(start..self.changes.len() as u32))
    }

    fn change<M: TokenMap>(&mut self, s: &mut Scanner<'_>, tokens: &M, depth: u32, digest: &mut Digest) -> JsonResult<Change> {
        let mut bad = None;
        let mut token = Token::Missing;
        let (mut asset, mut hash): (&[u8], &[u8]) = (b"", b"");
        let (mut price, mut size, mut side, mut best_bid, mut best_ask) = (None, None, None, None, None);
        if !s.object_start()? {
            loop {
                match s.key_with(change_key)? {
                    Some(ChangeKey::Asset) => {
                        if let Some((text, resolved)) = asset_field(s, tokens, depth + 1, &mut bad)? {
                            (asset, token) = (text, resolved);
                        }
                    }
                    Some(ChangeKey::Price) => price = decimal_field(s, depth + 1, &mut bad)?,
                    Some(ChangeKey::Size) => size = decimal_field(s, depth + 1, &mut bad)?,
                    Some(ChangeKey::BestBid) => best_bid = decimal_field(s, depth + 1, &mut bad)?,
                    Some(ChangeKey::BestAsk) => best_ask = decimal_field(s, depth + 1, &mut bad)?,
                    Some(ChangeKey::Side) => side = string_field(s, depth + 1, &mut bad)?,
                    Some(ChangeKey::Hash) => hash = string_field(s, depth + 1, &mut bad)?.unwrap_or_default(),
                    None => s.skip_value(depth + 1)?,
                }
                if !s.object_next()? {
                    break;
                }
            }
        }
        digest.word(change_word(token, asset, hash, price, size, side.unwrap_or_default()));
        if !matches!(token, Token::Slot(_)) {
            // A foreign or unnamed change is never applied, so its numbers need no reading.
            return Ok(Change { token, level: Err(Problem::BadField), best_bid: Expect::Unchecked, best_ask: Expect::Unchecked });
        }
        let level = match bad {
            Some(problem) => Err(problem),
            None => level_of(side, price, size),
        };
        let (best_bid, best_ask) = match (expect_of(best_bid), expect_of(best_ask)) {
            (Ok(bid), Ok(ask)) => (bid, ask),
            _ => return Ok(Change { token, level: Err(Problem::BadNumber), best_bid: Expect::Unchecked, best_ask: Expect::Unchecked }),
        };
        Ok(Change { token, level, best_bid, best_ask })
    }
}

/// Decides an object's event type once all its fields are known.
fn classify<M: TokenMap>(f: &Fields<'_>, tokens: &M) -> EventKind {
    let token = f.asset_token;
    let bad = |problem| EventKind::Bad { token, problem };
    let Some(event_type) = event_type_of(f) else { return EventKind::Unknown };
    match event_type {
        b"book" => {
            if let Some(problem) = f.bad {
                return bad(problem);
            }
            let tick = match f.tick_size {
                None => None,
                Some(text) => match tick_of(Some(text)) {
                    Ok(tick) => Some(tick),
                    Err(problem) => return bad(problem),
                },
            };
            EventKind::Book { token, bids: f.bids.clone().unwrap_or(0..0), asks: f.asks.clone().unwrap_or(0..0), tick }
        }
        // Only the array form (since 2025-09-15) is read; the old flat form is unknown.
        b"price_change" => match &f.changes {
            Some(changes) => EventKind::PriceChange { changes: changes.clone() },
            None if f.bad.is_some() => bad(Problem::BadField),
            None => EventKind::Unknown,
        },
        b"last_trade_price" => {
            let trade = (|| Ok::<_, Problem>((price_of(f.price)?, size_of(f.size)?, trade_side_of(f.side)?)))();
            match trade {
                Ok((price, size, side)) => EventKind::Trade { token, price, size, side },
                Err(problem) => bad(problem),
            }
        }
        b"tick_size_change" => match tick_of(f.new_tick_size) {
            Ok(tick) => EventKind::TickSize { token, tick },
            Err(problem) => bad(problem),
        },
        b"best_bid_ask" => match (expect_of(f.best_bid.map(plain)), expect_of(f.best_ask.map(plain))) {
            (Ok(bid), Ok(ask)) => EventKind::BestBidAsk { token, bid, ask },
            _ => bad(Problem::BadNumber),
        },
        b"market_resolved" => EventKind::Resolved { winner: token_of(tokens, f.winning_asset) },
        b"new_market" => EventKind::NewMarket { slug: f.slug.clone().unwrap_or(0..0) },
        _ => EventKind::Unknown,
    }
}
