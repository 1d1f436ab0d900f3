//! The CLOB's REST authentication: L1 (an EIP-712 `ClobAuth` signature, to create or derive
//! API keys) and L2 (an HMAC-SHA256 of each request under the API secret).

use super::abi::{self, hash_words};
use super::address::keccak256;
use super::error::SignError;
use super::key::PrivateKey;
use super::order::eip712_digest;
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";
const CLOB_AUTH_TYPE: &str = "ClobAuth(address address,string timestamp,uint256 nonce,string message)";
const CLOB_DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId)";

/// `POLY_SIGNATURE` for L1 headers: the key signs that it controls its address at `timestamp`
/// (unix seconds, signed as a decimal string) with `nonce`.
pub fn clob_auth_signature(key: &PrivateKey, chain_id: u64, timestamp: u64, nonce: u64) -> [u8; 65] {
    let domain = hash_words(&[
        keccak256(CLOB_DOMAIN_TYPE.as_bytes()),
        keccak256(b"ClobAuthDomain"),
        keccak256(b"1"),
        abi::uint(chain_id),
    ]);
    let message = hash_words(&[
        keccak256(CLOB_AUTH_TYPE.as_bytes()),
        abi::address(key.address().bytes()),
        keccak256(timestamp.to_string().as_bytes()),
        abi::uint(nonce),
        keccak256(CLOB_AUTH_MESSAGE.as_bytes()),
    ]);
    key.sign_digest(&eip712_digest(&domain, &message))
}

/// `POLY_SIGNATURE` for L2 headers: urlsafe base64 (padded) of HMAC-SHA256 over
/// timestamp + METHOD + path (no query) + the exact body, keyed by the decoded secret.
pub fn l2_signature(
    secret: &str,
    timestamp: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<String, SignError> {
    let key = URL_SAFE.decode(secret.trim()).map_err(|_| SignError::ApiSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body.as_bytes());
    Ok(URL_SAFE.encode(mac.finalize().into_bytes()))
}
