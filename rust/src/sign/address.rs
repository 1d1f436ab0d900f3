//! Ethereum addresses: parsed from hex, shown with the EIP-55 mixed-case checksum.

use super::abi::{hex0x, unhex};
use super::error::SignError;
use sha3::{Digest, Keccak256};
use std::fmt;

pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct Address([u8; 20]);

impl Address {
    pub const fn from_bytes(bytes: [u8; 20]) -> Address {
        Address(bytes)
    }

    /// `0x` + 40 hex digits, any case. A mixed-case input must carry a valid EIP-55 checksum:
    /// a typo in a funder address would otherwise sign orders for a wallet nobody controls.
    pub fn parse(text: &str, what: &'static str) -> Result<Address, SignError> {
        let reject = |reason: String| SignError::Address { what, reason };
        if !text.starts_with("0x") {
            return Err(reject("does not start with 0x".to_string()));
        }
        let address = Address(unhex::<20>(text).map_err(reject)?);
        let digits = &text[2..];
        let mixed =
            digits.bytes().any(|c| c.is_ascii_uppercase()) && digits.bytes().any(|c| c.is_ascii_lowercase());
        if mixed && address.checksummed() != text {
            return Err(reject("mixed-case hex with a wrong EIP-55 checksum".to_string()));
        }
        Ok(address)
    }

    pub const fn bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// EIP-55: a hex letter is upper case where the keccak of the lower-case hex has a high nibble.
    pub fn checksummed(&self) -> String {
        let lower = hex0x(&self.0);
        let hash = keccak256(&lower.as_bytes()[2..]);
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower[2..].chars().enumerate() {
            let nibble = if i % 2 == 0 { hash[i / 2] >> 4 } else { hash[i / 2] & 15 };
            out.push(if nibble >= 8 { c.to_ascii_uppercase() } else { c });
        }
        out
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.checksummed())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}
