//! A forward-only JSON scanner over raw bytes: just enough to read the exchange's frames.
//!
//! Strings come back as the raw bytes between their quotes (escapes left in place): every
//! field the engine reads (ids, decimal strings, event names) is plain ASCII, so an escaped
//! value simply fails to match or to parse as a number. Values the engine does not read are
//! skipped with their structure checked, under a nesting limit, so hostile input costs a
//! bounded stack and ends in an error rather than a panic. Deliberately lenient on what
//! cannot hurt: string bytes are not checked for UTF-8 or raw control characters.

use std::fmt;

/// Deepest nesting accepted; real frames nest four levels (array, frame, changes, change).
pub const MAX_DEPTH: u32 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    Truncated { at: usize },
    Unexpected { at: usize, found: u8, expected: &'static str },
    TooDeep { at: usize },
    BadEscape { at: usize },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Truncated { at } => write!(f, "JSON ends early at byte {at}"),
            JsonError::Unexpected { at, found, expected } => {
                write!(f, "found {:?} at byte {at} where {expected} was expected", char::from(*found))
            }
            JsonError::TooDeep { at } => write!(f, "JSON nests deeper than {MAX_DEPTH} at byte {at}"),
            JsonError::BadEscape { at } => write!(f, "invalid string escape at byte {at}"),
        }
    }
}

impl std::error::Error for JsonError {}

pub type JsonResult<T> = Result<T, JsonError>;

/// Index of the first `"` or `\\` in `bytes`. The frame's strings are short (prices, sides)
/// or ~80 bytes (ids, hashes): eight bytes at a time beats a SIMD search's setup on both.
#[inline(always)]
pub(crate) fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        let quote = word ^ (ONES * u64::from(b'"'));
        let slash = word ^ (ONES * u64::from(b'\\'));
        // A zero byte in `quote` or `slash` marks a hit; this sets its high bit exactly
        // (no false positives below the first hit, which is all that is read).
        let hits = (quote.wrapping_sub(ONES) & !quote | slash.wrapping_sub(ONES) & !slash) & HIGHS;
        if hits != 0 {
            return Some(offset + hits.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    chunks.remainder().iter().position(|&c| c == b'"' || c == b'\\').map(|i| offset + i)
}

/// Per byte of `word`, a high bit set at each `"` or `\\`. A borrow can only mark bytes
/// above a true hit, so the bits up to the first hit are exact, and any bit means a hit.
#[inline(always)]
fn quote_or_backslash_marks(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let quote = word ^ (ONES * u64::from(b'"'));
    let slash = word ^ (ONES * u64::from(b'\\'));
    (quote.wrapping_sub(ONES) & !quote | slash.wrapping_sub(ONES) & !slash) & 0x8080_8080_8080_8080
}

/// Whether `bytes` holds no `"` or `\\`. Every word is read, with no early exit (the last
/// one overlapping the one before), so a caller's branch on the answer is the only one:
/// when it is predicted, the reader's position does not wait on a scan.
#[inline(always)]
pub(crate) fn is_plain_run(bytes: &[u8]) -> bool {
    let len = bytes.len();
    if len < 8 {
        return !bytes.iter().any(|&c| c == b'"' || c == b'\\');
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let mut marks = quote_or_backslash_marks(word(len - 8));
    let mut at = 0;
    while at + 8 <= len {
        marks |= quote_or_backslash_marks(word(at));
        at += 8;
    }
    marks == 0
}

#[derive(Copy, Clone)]
pub struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(buf: &'a [u8]) -> Scanner<'a> {
        Scanner { buf, pos: 0 }
    }

    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The bytes not yet read.
    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Steps over `len` bytes a caller has already checked in `rest()`.
    #[inline]
    pub fn advance(&mut self, len: usize) {
        self.pos = (self.pos + len).min(self.buf.len());
    }

    /// Skips whitespace and returns the next byte without consuming it.
    #[inline(always)]
    pub fn peek(&mut self) -> JsonResult<u8> {
        while let Some(&c) = self.buf.get(self.pos) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                return Ok(c);
            }
            self.pos += 1;
        }
        Err(JsonError::Truncated { at: self.pos })
    }

    /// True when only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_err()
    }

    fn unexpected(&self, found: u8, expected: &'static str) -> JsonError {
        JsonError::Unexpected { at: self.pos, found, expected }
    }

    /// Consumes `byte` (after whitespace) or fails.
    #[inline(always)]
    pub fn expect(&mut self, byte: u8, expected: &'static str) -> JsonResult<()> {
        let c = self.peek()?;
        if c != byte {
            return Err(self.unexpected(c, expected));
        }
        self.pos += 1;
        Ok(())
    }

    /// Consumes `byte` if it is next.
    #[inline(always)]
    pub fn eat(&mut self, byte: u8) -> JsonResult<bool> {
        if self.peek()? == byte {
            self.pos += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Reads a string and returns its raw bytes between the quotes.
    #[inline(always)]
    pub fn string(&mut self) -> JsonResult<&'a [u8]> {
        self.expect(b'"', "a string")?;
        let start = self.pos;
        loop {
            match find_quote_or_backslash(&self.buf[self.pos..]) {
                None => {
                    self.pos = self.buf.len();
                    return Err(JsonError::Truncated { at: self.pos });
                }
                Some(offset) if self.buf[self.pos + offset] == b'"' => {
                    let end = self.pos + offset;
                    self.pos = end + 1;
                    return Ok(&self.buf[start..end]);
                }
                Some(offset) => {
                    self.pos += offset + 1;
                    self.escape()?;
                }
            }
        }
    }

    /// Reads a string as `string` does, trying first the `len` bytes such values usually
    /// hold (a condition id, a hash): one predictable branch instead of a scan.
    #[inline(always)]
    pub fn string_sized(&mut self, len: usize) -> JsonResult<&'a [u8]> {
        self.expect(b'"', "a string")?;
        let rest = &self.buf[self.pos..];
        if rest.get(len) == Some(&b'"') && is_plain_run(&rest[..len]) {
            self.pos += len + 1;
            return Ok(&rest[..len]);
        }
        self.pos -= 1;
        self.string()
    }

    /// Reads a string whose content `known` may recognise from the bytes right after the
    /// opening quote, returning its value and length; the scan for the closing quote is
    /// then skipped. `known` must only accept content free of `"` and `\\` that is followed
    /// by `"`.
    #[inline(always)]
    pub fn string_with<T>(&mut self, known: impl FnOnce(&'a [u8]) -> Option<(T, usize)>) -> JsonResult<(&'a [u8], Option<T>)> {
        self.expect(b'"', "a string")?;
        let rest = &self.buf[self.pos..];
        if let Some((value, len)) = known(rest) {
            debug_assert_eq!(rest.get(len), Some(&b'"'));
            self.pos += len + 1;
            return Ok((&rest[..len], Some(value)));
        }
        self.pos -= 1;
        self.string().map(|text| (text, None))
    }

    /// Reads `"key":` where `known` may recognise the key as in `string_with`; `None` for
    /// a key it does not know.
    #[inline(always)]
    pub fn key_with<T>(&mut self, known: impl FnOnce(&'a [u8]) -> Option<(T, usize)>) -> JsonResult<Option<T>> {
        let (_, value) = self.string_with(known)?;
        self.expect(b':', "':' after a key")?;
        Ok(value)
    }

    /// Checks the escape after a backslash (already consumed) and steps over it.
    fn escape(&mut self) -> JsonResult<()> {
        let Some(&c) = self.buf.get(self.pos) else {
            return Err(JsonError::Truncated { at: self.pos });
        };
        match c {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.pos += 1,
            b'u' => {
                let hex = self.buf.get(self.pos + 1..self.pos + 5).ok_or(JsonError::Truncated { at: self.buf.len() })?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(JsonError::BadEscape { at: self.pos });
                }
                self.pos += 5;
            }
            _ => return Err(JsonError::BadEscape { at: self.pos }),
        }
        Ok(())
    }

    /// Starts an object: consumes `{` and reports whether it is empty (`}` consumed too).
    pub fn object_start(&mut self) -> JsonResult<bool> {
        self.expect(b'{', "an object")?;
        self.eat(b'}')
    }

    /// Reads `"key":` inside an object.
    #[inline(always)]
    pub fn key(&mut self) -> JsonResult<&'a [u8]> {
        let key = self.string()?;
        self.expect(b':', "':' after a key")?;
        Ok(key)
    }

    /// After a member: true when another follows (`,` consumed), false at `}`.
    #[inline(always)]
    pub fn object_next(&mut self) -> JsonResult<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            b'}' => {
                self.pos += 1;
                Ok(false)
            }
            c => Err(self.unexpected(c, "',' or '}'")),
        }
    }

    /// Starts an array: consumes `[` and reports whether it is empty (`]` consumed too).
    pub fn array_start(&mut self) -> JsonResult<bool> {
        self.expect(b'[', "an array")?;
        self.eat(b']')
    }

    /// After an element: true when another follows (`,` consumed), false at `]`.
    #[inline(always)]
    pub fn array_next(&mut self) -> JsonResult<bool> {
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            b']' => {
                self.pos += 1;
                Ok(false)
            }
            c => Err(self.unexpected(c, "',' or ']'")),
        }
    }

    /// Skips one value of any type; `depth` is the nesting of the value's container.
    pub fn skip_value(&mut self, depth: u32) -> JsonResult<()> {
        if depth >= MAX_DEPTH {
            return Err(JsonError::TooDeep { at: self.pos });
        }
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                if self.object_start()? {
                    return Ok(());
                }
                loop {
                    self.key()?;
                    self.skip_value(depth + 1)?;
                    if !self.object_next()? {
                        return Ok(());
                    }
                }
            }
            b'[' => {
                if self.array_start()? {
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if !self.array_next()? {
                        return Ok(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            c => Err(self.unexpected(c, "a value")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> JsonResult<()> {
        let end = self.pos + word.len();
        match self.buf.get(self.pos..end) {
            Some(found) if found == word => {
                self.pos = end;
                Ok(())
            }
            Some(_) => Err(self.unexpected(self.buf[self.pos], "true, false or null")),
            None => Err(JsonError::Truncated { at: self.buf.len() }),
        }
    }

    /// Steps over a number with JSON's grammar: -?digits(.digits)?([eE][+-]?digits)?
    fn number(&mut self) -> JsonResult<()> {
        if self.buf.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        self.digits()?;
        if self.buf.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.buf.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.buf.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) -> JsonResult<()> {
        let start = self.pos;
        while self.buf.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        if self.pos == start {
            return match self.buf.get(self.pos) {
                Some(&c) => Err(self.unexpected(c, "a digit")),
                None => Err(JsonError::Truncated { at: self.pos }),
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_keep_their_raw_bytes() {
        let mut s = Scanner::new(br#" "a\"b\u00e9c" "#);
        assert_eq!(s.string().unwrap(), br#"a\"b\u00e9c"#);
        assert!(s.at_end());
    }

    #[test]
    fn the_closing_quote_is_found_at_every_offset() {
        for len in 0..40 {
            let text = format!("\"{}\"x\"", "7".repeat(len));
            let mut s = Scanner::new(text.as_bytes());
            assert_eq!(s.string().unwrap().len(), len);
            assert_eq!(s.pos(), len + 2);
        }
        let high = [b'"', 0xC3, 0xA9, 0xFF, 0x80, b'a', b'b', b'c', b'd', b'"'];
        assert_eq!(Scanner::new(&high).string().unwrap(), &high[1..9]);
    }

    #[test]
    fn skipping_checks_structure() {
        let mut s = Scanner::new(br#"{"a": [1, -2.5e3, true, null, {"b": "c"}], "d": {}}"#);
        s.skip_value(0).unwrap();
        assert!(s.at_end());
        for bad in [&b"[1,]"[..], b"{\"a\" 1}", b"[tru]", b"\"abc", b"[1", b"{\"a\":-}", b"\"\\x\""] {
            assert!(Scanner::new(bad).skip_value(0).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = [b'['; 10_000];
        assert_eq!(Scanner::new(&deep).skip_value(0), Err(JsonError::TooDeep { at: MAX_DEPTH as usize }));
    }
}
