//! The simulator's most frequent frame, `price_change`, written as the exchange writes it.
//!
//! `gabagool.sim.wire` decides what changed; this writes the text: every change of the Up
//! book as two entries (the Up level and its mirror on the Down token), each with the
//! exchange-style `hash`, the SHA-1 of `"<up token>:<n>"` in hex, `n` counting every hash
//! of the window. The bytes are the ones the Python writer produced (keys in order, no
//! whitespace, prices and sizes as their shortest decimals), so a seed's frames do not
//! depend on which writer made them.

use std::fmt::Write;

/// Prices are thousandths of a dollar; sizes hundredths of a share.
pub const FULL: u32 = 1000;

/// A side of the simulated Up book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Bid,
    Ask,
}

/// One level change: its side, price (thousandths) and new total (hundredths of a share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub side: Side,
    pub price: u32,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimWireError {
    Price(u32),
}

impl std::fmt::Display for SimWireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimWireError::Price(p) => write!(f, "price {p} thousandths is outside 0..=1000"),
        }
    }
}

impl std::error::Error for SimWireError {}

/// The shortest decimal of a price in thousandths: `"0.5"`, `"0.52"`, `"0.013"`, `"1"`.
pub fn price_text(out: &mut String, price: u32) -> Result<(), SimWireError> {
    if price > FULL {
        return Err(SimWireError::Price(price));
    }
    if price % FULL == 0 {
        write!(out, "{}", price / FULL).expect("writing to a String");
        return Ok(());
    }
    let digits = [b'0' + (price / 100) as u8, b'0' + (price / 10 % 10) as u8, b'0' + (price % 10) as u8];
    let kept = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
    out.push_str("0.");
    out.push_str(std::str::from_utf8(&digits[..kept]).expect("digits are ASCII"));
    Ok(())
}

/// Hundredths of a share as the wire writes sizes: `"1000"`, `"70281.2"`, `"3687.87"`.
pub fn size_text(out: &mut String, size: u64) {
    let (whole, cents) = (size / 100, size % 100);
    if cents == 0 {
        write!(out, "{whole}").expect("writing to a String");
    } else {
        let text = format!("{whole}.{cents:02}");
        out.push_str(text.trim_end_matches('0'));
    }
}

/// The frame's text. `first_hash` is the counter of the first entry's hash (the Up entry of
/// the first change); the entries use `first_hash .. first_hash + 2 * changes.len()`.
#[allow(clippy::too_many_arguments)]
pub fn price_change(
    up_token: &str,
    down_token: &str,
    condition_id: &str,
    up_bid: u32,
    up_ask: u32,
    changes: &[Change],
    first_hash: u64,
    ts_ms: i64,
) -> Result<String, SimWireError> {
    if up_bid > FULL || up_ask > FULL {
        return Err(SimWireError::Price(up_bid.max(up_ask)));
    }
    let mut tops = [String::new(), String::new(), String::new(), String::new()];
    price_text(&mut tops[0], up_bid)?;
    price_text(&mut tops[1], up_ask)?;
    price_text(&mut tops[2], FULL - up_ask)?;
    price_text(&mut tops[3], FULL - up_bid)?;
    let prefix = format!("{up_token}:");
    let hasher = Sha1Prefix::new(prefix.as_bytes());
    let mut counter_text = String::with_capacity(20);
    let mut out = String::with_capacity(120 + changes.len() * 2 * 260);
    write!(out, "{{\"market\":\"{condition_id}\",\"price_changes\":[").expect("String");
    let mut counter = first_hash;
    let mut first = true;
    for change in changes {
        let (up_side, down_side) = match change.side {
            Side::Bid => ("BUY", "SELL"),
            Side::Ask => ("SELL", "BUY"),
        };
        let down_price = FULL.checked_sub(change.price).ok_or(SimWireError::Price(change.price))?;
        for (token, price, side, bid, ask) in [
            (up_token, change.price, up_side, &tops[0], &tops[1]),
            (down_token, down_price, down_side, &tops[2], &tops[3]),
        ] {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str("{\"asset_id\":\"");
            out.push_str(token);
            out.push_str("\",\"price\":\"");
            price_text(&mut out, price)?;
            out.push_str("\",\"size\":\"");
            size_text(&mut out, change.total);
            out.push_str("\",\"side\":\"");
            out.push_str(side);
            out.push_str("\",\"hash\":\"");
            counter_text.clear();
            write!(counter_text, "{counter}").expect("String");
            counter += 1;
            push_hex(&mut out, hasher.digest(counter_text.as_bytes()));
            out.push_str("\",\"best_bid\":\"");
            out.push_str(bid);
            out.push_str("\",\"best_ask\":\"");
            out.push_str(ask);
            out.push_str("\"}");
        }
    }
    write!(out, "],\"timestamp\":\"{ts_ms}\",\"event_type\":\"price_change\"}}").expect("String");
    Ok(out)
}

/// SHA-1 (FIPS 180-4) of `data`, as 40 lowercase hex digits. Used for the exchange-style
/// hash field only, never for security.
pub fn sha1_hex(data: &[u8]) -> String {
    let mut out = String::with_capacity(40);
    push_hex(&mut out, sha1(data));
    out
}

fn push_hex(out: &mut String, digest: [u8; 20]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 40];
    for (pair, byte) in text.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 15)];
    }
    out.push_str(std::str::from_utf8(&text).expect("hex digits are ASCII"));
}

pub fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1Prefix::new(b"").digest(data)
}

/// SHA-1 with a common prefix hashed once: every hash of a frame starts "<up token>:",
/// 79 bytes, so its first block is the same for all of them.
pub struct Sha1Prefix<'a> {
    state: [u32; 5],
    tail: &'a [u8], // the prefix's bytes after its whole blocks
    hashed: usize,  // the prefix's bytes in those blocks
}

impl<'a> Sha1Prefix<'a> {
    pub fn new(prefix: &'a [u8]) -> Sha1Prefix<'a> {
        let mut state = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
        let mut blocks = prefix.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut state, block);
        }
        let tail = blocks.remainder();
        Sha1Prefix { state, tail, hashed: prefix.len() - tail.len() }
    }

    /// SHA-1 of the prefix followed by `data`.
    pub fn digest(&self, data: &[u8]) -> [u8; 20] {
        let mut h = self.state;
        let mut buffer = [0u8; 64];
        let mut filled = self.tail.len();
        buffer[..filled].copy_from_slice(self.tail);
        for &byte in data {
            buffer[filled] = byte;
            filled += 1;
            if filled == 64 {
                compress(&mut h, &buffer);
                filled = 0;
            }
        }
        // the 0x80 marker and the bit length: in this block, or in one more when they overflow
        buffer[filled] = 0x80;
        buffer[filled + 1..].fill(0);
        if filled >= 56 {
            compress(&mut h, &buffer);
            buffer = [0u8; 64];
        }
        let bit_len = ((self.hashed + self.tail.len() + data.len()) as u64).wrapping_mul(8);
        buffer[56..].copy_from_slice(&bit_len.to_be_bytes());
        compress(&mut h, &buffer);
        let mut out = [0u8; 20];
        for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

fn compress(h: &mut [u32; 5], block: &[u8]) {
    let mut w = [0u32; 80];
    for (i, word) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    for i in 16..80 {
        w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *h;
    for (i, &word) in w.iter().enumerate() {
        let (f, k) = match i {
            0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
            20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
            40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let temp = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(word);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = temp;
    }
    for (state, value) in h.iter_mut().zip([a, b, c, d, e]) {
        *state = state.wrapping_add(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_the_standard_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        // 55, 56 and 64 bytes: the padding's edge cases
        assert_eq!(sha1_hex(&[b'a'; 55]), "c1c8bbdc22796e28c0e15163d20899b65621d65a");
        assert_eq!(sha1_hex(&[b'a'; 56]), "c2db330f6083854c99d4b5bfb6e8f29f201be699");
        assert_eq!(sha1_hex(&[b'a'; 64]), "0098ba824b5c16427bd7a1122a5a442a25ec644d");
    }

    #[test]
    fn a_hashed_prefix_gives_the_hash_of_the_whole() {
        let whole: Vec<u8> = (0..200u8).collect();
        for cut in [0, 1, 55, 56, 63, 64, 65, 79, 128, 150, 200] {
            for end in [cut, cut.clamp(60, 200), 200] {
                let prefix = Sha1Prefix::new(&whole[..cut]);
                assert_eq!(prefix.digest(&whole[cut..end]), sha1(&whole[..end]), "{cut} {end}");
            }
        }
        // and the plain function against a standard vector of two blocks
        let text = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(Sha1Prefix::new(&text[..30]).digest(&text[30..]), sha1(text));
    }

    #[test]
    fn prices_and_sizes_are_written_shortest() {
        let text = |p: u32| {
            let mut s = String::new();
            price_text(&mut s, p).map(|()| s)
        };
        assert_eq!(text(500).unwrap(), "0.5");
        assert_eq!(text(520).unwrap(), "0.52");
        assert_eq!(text(13).unwrap(), "0.013");
        assert_eq!(text(1).unwrap(), "0.001");
        assert_eq!(text(0).unwrap(), "0");
        assert_eq!(text(1000).unwrap(), "1");
        assert_eq!(text(1001), Err(SimWireError::Price(1001)));
        let size = |s: u64| {
            let mut out = String::new();
            size_text(&mut out, s);
            out
        };
        assert_eq!(size(100_000), "1000");
        assert_eq!(size(7_028_120), "70281.2");
        assert_eq!(size(368_787), "3687.87");
        assert_eq!(size(0), "0");
        assert_eq!(size(5), "0.05");
    }

    #[test]
    fn a_change_is_written_on_both_tokens_with_consecutive_hashes() {
        let changes = [
            Change { side: Side::Bid, price: 480, total: 0 },
            Change { side: Side::Ask, price: 530, total: 12_345 },
        ];
        let text = price_change("11", "22", "0xab", 480, 530, &changes, 7, 1_767_225_600_123).unwrap();
        let hash = |n: u32| sha1_hex(format!("11:{n}").as_bytes());
        let expected = format!(
            concat!(
                r#"{{"market":"0xab","price_changes":["#,
                r#"{{"asset_id":"11","price":"0.48","size":"0","side":"BUY","hash":"{}","best_bid":"0.48","best_ask":"0.53"}},"#,
                r#"{{"asset_id":"22","price":"0.52","size":"0","side":"SELL","hash":"{}","best_bid":"0.47","best_ask":"0.52"}},"#,
                r#"{{"asset_id":"11","price":"0.53","size":"123.45","side":"SELL","hash":"{}","best_bid":"0.48","best_ask":"0.53"}},"#,
                r#"{{"asset_id":"22","price":"0.47","size":"123.45","side":"BUY","hash":"{}","best_bid":"0.47","best_ask":"0.52"}}"#,
                r#"],"timestamp":"1767225600123","event_type":"price_change"}}"#
            ),
            hash(7),
            hash(8),
            hash(9),
            hash(10)
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn a_price_outside_the_dollar_is_refused() {
        let bad = [Change { side: Side::Bid, price: 1200, total: 1 }];
        assert_eq!(price_change("1", "2", "0x", 400, 600, &bad, 1, 0), Err(SimWireError::Price(1200)));
        assert_eq!(price_change("1", "2", "0x", 400, 1600, &[], 1, 0), Err(SimWireError::Price(1600)));
    }
}
