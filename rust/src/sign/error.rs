//! Why an order could not be built or signed. No variant ever carries key material: a bad
//! private key is described by its shape only.

use crate::fixed::format_micros;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The private key text is not 32 bytes of hex, or not a valid secp256k1 scalar.
    PrivateKey { reason: &'static str },
    /// An address is not `0x` + 40 hex digits.
    Address { what: &'static str, reason: String },
    /// A token id is not a decimal uint256 above zero.
    TokenId { reason: String },
    /// The tick is not one the exchange uses (0.1, 0.01, 0.001, 0.0001).
    Tick { micros: i64 },
    /// The price is not a multiple of the tick.
    PriceOffTick { price: i64, tick: i64 },
    /// The price is outside [tick, 1 - tick].
    PriceOutOfRange { price: i64, tick: i64 },
    /// A resting order below the market's minimum size (after truncation to 2 decimals).
    SizeBelowMinimum { size: i64, min: i64 },
    /// A marketable order below the exchange's $1 minimum notional.
    NotionalBelowMinimum { notional: i64, min: i64 },
    /// A negative amount, or one too large for the exchange's integers.
    AmountOutOfRange { what: &'static str, micros: i64 },
    /// A salt above 2^53 - 1 (it travels as a JSON number).
    Salt { salt: u64 },
    /// A signature type outside 0..=3.
    SignatureType { value: u8 },
    /// A `metadata` or `builder` field that is not `0x` + 64 hex digits.
    BadBytes32 { what: &'static str, reason: String },
    /// The L2 API secret is not urlsafe base64.
    ApiSecret,
    /// An order type that cannot carry these options (post-only FOK, GTD without expiration).
    OrderType { reason: &'static str },
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::PrivateKey { reason } => write!(f, "private key rejected: {reason}"),
            SignError::Address { what, reason } => write!(f, "{what} address rejected: {reason}"),
            SignError::TokenId { reason } => write!(f, "token id rejected: {reason}"),
            SignError::Tick { micros } => {
                write!(f, "tick {} is not one of 0.1, 0.01, 0.001, 0.0001", format_micros(*micros))
            }
            SignError::PriceOffTick { price, tick } => {
                write!(f, "price {} is not on the tick {}", format_micros(*price), format_micros(*tick))
            }
            SignError::PriceOutOfRange { price, tick } => write!(
                f,
                "price {} is outside [{}, {}]",
                format_micros(*price),
                format_micros(*tick),
                format_micros(1_000_000 - tick)
            ),
            SignError::SizeBelowMinimum { size, min } => write!(
                f,
                "size {} (2 decimals) is below the market's minimum {}",
                format_micros(*size),
                format_micros(*min)
            ),
            SignError::NotionalBelowMinimum { notional, min } => write!(
                f,
                "marketable order of ${} is below the ${} minimum",
                format_micros(*notional),
                format_micros(*min)
            ),
            SignError::AmountOutOfRange { what, micros } => {
                write!(f, "{what} {} is out of range", format_micros(*micros))
            }
            SignError::Salt { salt } => write!(f, "salt {salt} is above 2^53 - 1"),
            SignError::SignatureType { value } => {
                write!(f, "signature type {value} is not 0 (EOA), 1 (proxy), 2 (Safe) or 3 (deposit wallet)")
            }
            SignError::BadBytes32 { what, reason } => write!(f, "{what} rejected: {reason}"),
            SignError::ApiSecret => f.write_str("API secret is not urlsafe base64"),
            SignError::OrderType { reason } => write!(f, "order type rejected: {reason}"),
        }
    }
}

impl std::error::Error for SignError {}
