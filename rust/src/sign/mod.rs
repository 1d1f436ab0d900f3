//! CLOB V2 order signing: the EIP-712 order hash (the exchange's order id), its secp256k1
//! signature, the order amounts from an exact price and size, the `POST /order` body, and the
//! two REST authentications (L1 ClobAuth signature, L2 HMAC header).
//!
//! Everything is computed locally and deterministically (RFC 6979 nonces, as eth-account), so
//! the tests pin every byte against vectors made with py-clob-client-v2. The private key lives
//! only inside `PrivateKey`, whose `Debug` and errors never show it.

mod abi;
mod address;
mod amounts;
mod auth;
mod body;
mod error;
mod key;
mod order;

pub use address::{keccak256, Address};
pub use amounts::{limit_amounts, market_amounts, Amounts, Tick, MIN_MARKETABLE_NOTIONAL};
pub use auth::{clob_auth_signature, l2_signature, CLOB_AUTH_MESSAGE};
pub use body::{order_json, post_body, OrderType};
pub use error::SignError;
pub use key::PrivateKey;
pub use order::{
    domain_separator, Exchange, Order, OrderSigner, Side, SignatureType, SignedOrder, TokenId,
    ORDER_TYPE_STRING, POLYGON_CHAIN_ID,
};

#[cfg(test)]
mod tests;
