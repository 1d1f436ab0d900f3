//! The `POST /order` body: compact JSON, fields in the order py-clob-client-v2 sends them.

use super::abi::hex0x;
use super::error::SignError;
use super::order::SignedOrder;
use std::fmt::Write;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    Gtc,
    Gtd,
    Fok,
    Fak,
}

impl OrderType {
    pub fn parse(text: &str) -> Result<OrderType, SignError> {
        match text {
            "GTC" => Ok(OrderType::Gtc),
            "GTD" => Ok(OrderType::Gtd),
            "FOK" => Ok(OrderType::Fok),
            "FAK" => Ok(OrderType::Fak),
            _ => Err(SignError::OrderType { reason: "not one of GTC, GTD, FOK, FAK" }),
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            OrderType::Gtc => "GTC",
            OrderType::Gtd => "GTD",
            OrderType::Fok => "FOK",
            OrderType::Fak => "FAK",
        }
    }

    pub const fn is_marketable(self) -> bool {
        matches!(self, OrderType::Fok | OrderType::Fak)
    }
}

/// A JSON string literal, escaped as Python's `json.dumps(..., ensure_ascii=False)` does (the
/// reference client's serialiser). API keys are UUIDs, but nothing unescaped reaches the wire.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The signed order object alone (`POST /orders` sends a list of them inside envelopes).
pub fn order_json(signed: &SignedOrder) -> String {
    let order = &signed.order;
    let mut out = String::with_capacity(720);
    let _ = write!(
        out,
        "{{\"salt\":{},\"maker\":\"{}\",\"signer\":\"{}\",\"tokenId\":\"{}\",\"makerAmount\":\"{}\",\
         \"takerAmount\":\"{}\",\"side\":\"{}\",\"expiration\":\"{}\",\"signatureType\":{},\
         \"timestamp\":\"{}\",\"metadata\":\"{}\",\"builder\":\"{}\",\"signature\":\"{}\"}}",
        order.salt,
        order.maker,
        order.signer,
        order.token_id.as_str(),
        order.maker_amount,
        order.taker_amount,
        order.side.label(),
        order.expiration,
        order.signature_type.code(),
        order.timestamp_ms,
        hex0x(&order.metadata),
        hex0x(&order.builder),
        hex0x(&signed.signature),
    );
    out
}

/// The whole body of `POST /order`. Post-only exists for resting orders only, and a GTD
/// order needs its expiration (a GTC, FOK or FAK one must not have one).
pub fn post_body(
    signed: &SignedOrder,
    owner: &str,
    order_type: OrderType,
    post_only: bool,
    defer_exec: bool,
) -> Result<String, SignError> {
    if post_only && order_type.is_marketable() {
        return Err(SignError::OrderType { reason: "post-only is for GTC and GTD orders only" });
    }
    match (order_type, signed.order.expiration) {
        (OrderType::Gtd, 0) => {
            return Err(SignError::OrderType { reason: "a GTD order needs an expiration" })
        }
        (OrderType::Gtc | OrderType::Fok | OrderType::Fak, expiration) if expiration != 0 => {
            return Err(SignError::OrderType { reason: "only GTD orders carry an expiration" })
        }
        _ => {}
    }
    let mut out = String::with_capacity(900);
    out.push_str("{\"order\":");
    out.push_str(&order_json(signed));
    out.push_str(",\"owner\":");
    push_json_string(&mut out, owner);
    let _ = write!(
        out,
        ",\"orderType\":\"{}\",\"deferExec\":{},\"postOnly\":{}}}",
        order_type.label(),
        defer_exec,
        post_only
    );
    Ok(out)
}
