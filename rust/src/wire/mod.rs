//! The exchange's market-channel frames: raw JSON bytes in, book updates and a summary out.
//!
//! `json` scans bytes, `parse` turns a frame into typed events without touching any state,
//! and `feed` applies them to a `Market` under the exchange's consistency rules.

pub mod feed;
pub mod fold_hash;
pub mod json;
pub mod parse;

pub use feed::{FeedCounters, FeedState, MarketTokens, RestBookError, Summary, TokenCounters, Trade};
pub use parse::{Expect, FrameError, Parsed, Problem, Token, TokenMap, TradeSide, MAX_FRAME_BYTES};

#[cfg(test)]
mod tests;
