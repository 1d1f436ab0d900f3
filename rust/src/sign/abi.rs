//! The 32-byte words of Solidity's ABI encoding, all EIP-712 struct hashing needs.

pub(crate) type Word = [u8; 32];

pub(crate) fn uint(value: u64) -> Word {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&value.to_be_bytes());
    word
}

pub(crate) fn address(bytes: &[u8; 20]) -> Word {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(bytes);
    word
}

/// keccak256 of the concatenated words (`keccak256(abi.encode(...))` of static types).
pub(crate) fn hash_words(words: &[Word]) -> Word {
    use sha3::{Digest, Keccak256};
    let mut hasher = Keccak256::new();
    for word in words {
        hasher.update(word);
    }
    hasher.finalize().into()
}

/// Lower-case hex of bytes, `0x`-prefixed.
pub(crate) fn hex0x(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 15)] as char);
    }
    out
}

/// Decodes exactly `N` bytes of hex, `0x` prefix optional. The error names the problem, never
/// the input (this also reads private keys).
pub(crate) fn unhex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    if digits.len() != 2 * N {
        return Err(format!("expected {} hex digits, got {} characters", 2 * N, digits.len()));
    }
    let mut out = [0u8; N];
    let bytes = digits.as_bytes();
    for (i, slot) in out.iter_mut().enumerate() {
        let high = nibble(bytes[2 * i]).ok_or_else(|| not_hex(2 * i))?;
        let low = nibble(bytes[2 * i + 1]).ok_or_else(|| not_hex(2 * i + 1))?;
        *slot = (high << 4) | low;
    }
    Ok(out)
}

fn not_hex(position: usize) -> String {
    format!("character {} is not a hex digit", position + 1)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
