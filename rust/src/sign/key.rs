//! The signing key. It never leaves this type: `Debug` is redacted, errors describe the text's
//! shape only, and k256 zeroes the scalar on drop.

use super::abi::unhex;
use super::address::{keccak256, Address};
use super::error::SignError;
use k256::ecdsa::SigningKey;
use std::fmt;

pub struct PrivateKey {
    key: SigningKey,
    address: Address,
}

impl PrivateKey {
    /// 64 hex digits, `0x` prefix optional.
    pub fn from_hex(text: &str) -> Result<PrivateKey, SignError> {
        let mut bytes = unhex::<32>(text.trim())
            .map_err(|_| SignError::PrivateKey { reason: "not 32 bytes of hex (0x + 64 hex digits)" })?;
        let key = SigningKey::from_slice(&bytes);
        bytes.fill(0);
        let key = key.map_err(|_| SignError::PrivateKey {
            reason: "not a valid secp256k1 key (zero, or not below the curve order)",
        })?;
        let point = key.verifying_key().to_encoded_point(false);
        // An Ethereum address is the last 20 bytes of keccak256(x || y).
        let hash = keccak256(&point.as_bytes()[1..]);
        let mut address = [0u8; 20];
        address.copy_from_slice(&hash[12..]);
        Ok(PrivateKey { key, address: Address::from_bytes(address) })
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// r || s || v over a 32-byte digest, v = 27 + the recovery id, low s, RFC 6979 nonce:
    /// the bytes eth-account's `_sign_hash` gives.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 65] {
        let (signature, recovery) =
            self.key.sign_prehash_recoverable(digest).expect("a 32-byte prehash is always signable");
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&signature.to_bytes());
        out[64] = 27 + recovery.to_byte();
        out
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(address={}, key=<redacted>)", self.address)
    }
}
