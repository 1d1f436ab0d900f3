//! Exact fixed-point units: `Price` and `Size` in millionths, `Money` in 1e-12 dollars.
//!
//! Every decimal string from the wire is parsed straight to an integer; a float never
//! appears, so two parses of the same text always compare equal and sums are exact.

use std::fmt;

/// Millionths in one unit (one dollar, one share).
pub const MICROS: i64 = 1_000_000;
/// Pico-dollars (1e-12) in one dollar: the unit of `Money`, so price x size is exact.
pub const PICOS: i128 = 1_000_000_000_000;

/// Why a number was rejected. The offending text is kept (cut to a readable length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixedError {
    Empty { what: &'static str },
    Malformed { what: &'static str, input: String },
    TooManyDecimals { what: &'static str, input: String, max: u32 },
    OutOfRange { what: &'static str, input: String, range: &'static str },
}

impl fmt::Display for FixedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FixedError::Empty { what } => write!(f, "{what} is empty"),
            FixedError::Malformed { what, input } => {
                write!(f, "{what} {input:?} is not a plain decimal number")
            }
            FixedError::TooManyDecimals { what, input, max } => {
                write!(f, "{what} {input:?} has more than {max} decimals")
            }
            FixedError::OutOfRange { what, input, range } => {
                write!(f, "{what} {input:?} out of range {range}")
            }
        }
    }
}

impl std::error::Error for FixedError {}

/// Shown in errors: enough of the input to recognise it, never a 10 MB blob.
fn shown(input: &[u8]) -> String {
    const LIMIT: usize = 40;
    let cut = &input[..input.len().min(LIMIT)];
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if input.len() > LIMIT {
        text.push('…');
    }
    text
}

/// Parses an unsigned decimal (`"0.5"`, `"220045"`, `"1234.56"`) into millionths.
///
/// Only digits with at most one interior point are accepted: no sign, exponent, spaces,
/// `NaN`, leading or trailing point, and at most six decimals (trailing zeros beyond the
/// sixth are still a seventh decimal: the exchange never sends them, so they signal a
/// different unit).
pub fn parse_micros(input: &[u8], what: &'static str) -> Result<i64, FixedError> {
    if input.is_empty() {
        return Err(FixedError::Empty { what });
    }
    let malformed = || FixedError::Malformed { what, input: shown(input) };
    let mut whole: i64 = 0;
    let mut i = 0;
    while i < input.len() && input[i].is_ascii_digit() {
        // 12 whole digits (a trillion shares) is far past any real size and keeps
        // whole * MICROS inside i64.
        if i >= 12 {
            return Err(FixedError::OutOfRange { what, input: shown(input), range: "[0, 1e12)" });
        }
        whole = whole * 10 + i64::from(input[i] - b'0');
        i += 1;
    }
    if i == 0 {
        return Err(malformed());
    }
    let mut fraction: i64 = 0;
    let mut decimals: u32 = 0;
    if i < input.len() {
        if input[i] != b'.' || i + 1 == input.len() {
            return Err(malformed());
        }
        i += 1;
        while i < input.len() {
            let c = input[i];
            if !c.is_ascii_digit() {
                return Err(malformed());
            }
            if decimals == 6 {
                return Err(FixedError::TooManyDecimals { what, input: shown(input), max: 6 });
            }
            fraction = fraction * 10 + i64::from(c - b'0');
            decimals += 1;
            i += 1;
        }
    }
    Ok(whole * MICROS + fraction * 10_i64.pow(6 - decimals))
}

/// Writes millionths as the shortest exact decimal (`520000` -> `"0.52"`, `5_000_000` -> `"5"`).
pub fn format_micros(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    let whole = magnitude / MICROS as u64;
    let fraction = magnitude % MICROS as u64;
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:06}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// A price in micro-dollars per share, strictly between 0 and 1 dollar.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(i64);

/// Kept out of line: the range checks sit on the frame path, their errors rarely do.
#[cold]
fn out_of_range(what: &'static str, micros: i64, range: &'static str) -> FixedError {
    FixedError::OutOfRange { what, input: format_micros(micros), range }
}

impl Price {
    pub const ONE: i64 = MICROS;

    #[inline]
    pub fn from_micros(micros: i64) -> Result<Price, FixedError> {
        if micros <= 0 || micros >= MICROS {
            return Err(out_of_range("price", micros, "(0, 1)"));
        }
        Ok(Price(micros))
    }

    pub fn parse(input: &str) -> Result<Price, FixedError> {
        Price::parse_bytes(input.as_bytes())
    }

    pub fn parse_bytes(input: &[u8]) -> Result<Price, FixedError> {
        let micros = parse_micros(input, "price")?;
        if micros <= 0 || micros >= MICROS {
            return Err(FixedError::OutOfRange { what: "price", input: shown(input), range: "(0, 1)" });
        }
        Ok(Price(micros))
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    /// The mirrored price on the other token: a bid for Up at p is an ask for Down at 1 - p.
    pub const fn complement(self) -> Price {
        Price(MICROS - self.0)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_micros(self.0))
    }
}

/// A quantity of outcome tokens in micro-shares (tokens carry six decimals). Never negative.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(i64);

impl Size {
    pub const ZERO: Size = Size(0);

    #[inline]
    pub fn from_micros(micros: i64) -> Result<Size, FixedError> {
        if micros < 0 {
            return Err(out_of_range("size", micros, "[0, 1e12)"));
        }
        Ok(Size(micros))
    }

    pub fn parse(input: &str) -> Result<Size, FixedError> {
        Size::parse_bytes(input.as_bytes())
    }

    pub fn parse_bytes(input: &[u8]) -> Result<Size, FixedError> {
        parse_micros(input, "size").map(Size)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_micros(self.0))
    }
}

/// An exact amount of money in pico-dollars (1e-12): a price times a size has no rounding.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_picos(picos: i128) -> Money {
        Money(picos)
    }

    /// Micro-dollars (USDC's unit) to money.
    pub const fn from_micros(micros: i64) -> Money {
        Money(micros as i128 * MICROS as i128)
    }

    /// What `size` shares cost at `price`.
    pub const fn notional(price: Price, size: Size) -> Money {
        Money(price.0 as i128 * size.0 as i128)
    }

    /// The payout of `size` shares at $1 each.
    pub const fn payout(size: Size) -> Money {
        Money(size.0 as i128 * MICROS as i128)
    }

    pub const fn picos(self) -> i128 {
        self.0
    }

    /// Micro-dollars, rounded toward negative infinity (for display and order amounts).
    pub const fn micros_floor(self) -> i128 {
        self.0.div_euclid(MICROS as i128)
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl std::ops::SubAssign for Money {
    fn sub_assign(&mut self, other: Money) {
        self.0 -= other.0;
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.micros_floor();
        let clamped = micros.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        f.write_str(&format_micros(clamped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_exchanges_decimal_strings_exactly() {
        assert_eq!(Price::parse("0.5").unwrap().micros(), 500_000);
        assert_eq!(Price::parse("0.001").unwrap().micros(), 1_000);
        assert_eq!(Price::parse("0.0001").unwrap().micros(), 100);
        assert_eq!(Size::parse("1234.56").unwrap().micros(), 1_234_560_000);
        assert_eq!(Size::parse("220045").unwrap().micros(), 220_045_000_000);
        assert_eq!(Size::parse("12.5").unwrap().micros(), 12_500_000);
        assert_eq!(Size::parse("0").unwrap(), Size::ZERO);
        assert_eq!(Size::parse("0.000001").unwrap().micros(), 1);
    }

    #[test]
    fn rejects_what_is_not_a_plain_decimal() {
        for bad in ["-1", "1e3", "NaN", " 0.5", "0.5 ", "+1", ".5", "5.", "0..5", "0x10", "inf", "1,5"] {
            assert!(
                matches!(Size::parse(bad), Err(FixedError::Malformed { .. })),
                "{bad:?} should be malformed"
            );
        }
        assert!(matches!(Size::parse(""), Err(FixedError::Empty { .. })));
        assert!(matches!(Size::parse("0.1234567"), Err(FixedError::TooManyDecimals { .. })));
        assert!(matches!(Size::parse("1000000000000"), Err(FixedError::OutOfRange { .. })));
    }

    #[test]
    fn price_must_lie_strictly_between_zero_and_one() {
        for bad in ["1.5", "1", "0", "0.0", "1.000000"] {
            let err = Price::parse(bad).unwrap_err();
            assert!(matches!(err, FixedError::OutOfRange { .. }), "{bad:?}: {err}");
        }
        assert_eq!(Price::parse("1.5").unwrap_err().to_string(), "price \"1.5\" out of range (0, 1)");
        assert!(Price::parse("0.999999").is_ok());
        assert!(Price::from_micros(0).is_err());
        assert!(Price::from_micros(1_000_000).is_err());
    }

    #[test]
    fn error_text_is_cut_for_huge_inputs() {
        let huge = "9".repeat(10_000);
        let message = Size::parse(&huge).unwrap_err().to_string();
        assert!(message.len() < 100, "{message}");
    }

    #[test]
    fn formats_round_trip() {
        for micros in [1, 100, 520_000, 999_999, 5_000_000, 1_234_560_000, 0] {
            assert_eq!(parse_micros(format_micros(micros).as_bytes(), "n").unwrap(), micros);
        }
        assert_eq!(format_micros(520_000), "0.52");
        assert_eq!(format_micros(-1_500_000), "-1.5");
    }

    #[test]
    fn money_is_price_times_size_without_rounding() {
        let price = Price::parse("0.333").unwrap();
        let size = Size::parse("3.000001").unwrap();
        assert_eq!(Money::notional(price, size).picos(), 333_000 * 3_000_001);
        assert_eq!(Money::payout(Size::parse("2").unwrap()).picos(), 2 * PICOS);
        assert_eq!(Money::from_picos(-1).micros_floor(), -1);
        assert_eq!(Price::parse("0.52").unwrap().complement().micros(), 480_000);
    }
}
