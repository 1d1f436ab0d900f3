//! The exchange's taker fee schedule and the exact fee of one fill.
//!
//! POLYMARKET.md: `fee = shares x rate x (p x (1 - p)) ^ exponent`, truncated to 5 decimals
//! of a dollar. With micro units and exponent 2 the product before the division reaches
//! ~2^160, past u128, so it is formed in 256 bits (`U256`) and divided once, exactly.

use crate::fixed::{format_micros, parse_micros, Price, Size, MICROS};
use std::cmp::Ordering;
use std::fmt;

/// Why a fee schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeeError {
    Rate { rate: String },
    Exponent { exponent: i64 },
}

impl fmt::Display for FeeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeeError::Rate { rate } => write!(f, "fee rate {rate} out of range [0, 1]"),
            FeeError::Exponent { exponent } => write!(f, "fee exponent {exponent} is not 1 or 2"),
        }
    }
}

impl std::error::Error for FeeError {}

/// A market's fee schedule: `rate` in millionths (0.072 -> 72_000), `exponent` 1 or 2, and
/// whether only takers pay (makers pay nothing then).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FeeSchedule {
    rate: i64,
    exponent: u32,
    taker_only: bool,
}

/// Micro-dollars in the exchange's fee quantum, 0.00001 dollars.
const FEE_QUANTUM_MICROS: u64 = 10;

impl FeeSchedule {
    pub fn new(rate: i64, exponent: i64, taker_only: bool) -> Result<FeeSchedule, FeeError> {
        if !(0..=MICROS).contains(&rate) {
            return Err(FeeError::Rate { rate: format_micros(rate) });
        }
        let exponent = match exponent {
            1 => 1,
            2 => 2,
            other => return Err(FeeError::Exponent { exponent: other }),
        };
        Ok(FeeSchedule { rate, exponent, taker_only })
    }

    /// The schedule from the decimal rate Gamma publishes (`"0.072"`).
    pub fn parse(rate: &str, exponent: i64, taker_only: bool) -> Result<FeeSchedule, FeeError> {
        let micros =
            parse_micros(rate.as_bytes(), "fee rate").map_err(|_| FeeError::Rate { rate: format!("{rate:?}") })?;
        FeeSchedule::new(micros, exponent, taker_only)
    }

    /// No fee at all (markets with fees disabled).
    pub const fn free() -> FeeSchedule {
        FeeSchedule { rate: 0, exponent: 1, taker_only: true }
    }

    pub const fn rate(&self) -> i64 {
        self.rate
    }

    pub const fn exponent(&self) -> u32 {
        self.exponent
    }

    pub const fn taker_only(&self) -> bool {
        self.taker_only
    }

    /// The taker fee of `size` shares at `price`, in micro-dollars, floored to 0.00001 $.
    pub fn taker_fee(&self, price: Price, size: Size) -> i64 {
        let p = price.micros() as u128;
        let variance = p * (MICROS as u128 - p); // p(1-p) in 1e-12
        let scaled = size.micros() as u128 * self.rate as u128; // in 1e-12 shares
                                                                // size*rate*variance^e carries 1e-(12 + 12e) dollars; the fee quantum is 1e-5.
        if self.exponent == 1 {
            // size x rate x variance stays far inside u128 at any size a side may hold (1e8
            // shares): one division instead of the 256-bit path, since the scan asks often.
            if let Some(product) = scaled.checked_mul(variance) {
                let micros = product / 10u128.pow(24 - 5) * FEE_QUANTUM_MICROS as u128;
                return i64::try_from(micros).expect("a fee is below size x rate / 4, inside i64");
            }
        }
        let (product, decimals) = match self.exponent {
            1 => (U256::mul(scaled, variance), 24 - 5),
            _ => (U256::mul(scaled, variance * variance), 36 - 5),
        };
        let quanta = product.div_pow10(decimals);
        let micros = quanta.to_u128().expect("a fee is below size x rate / 4") * FEE_QUANTUM_MICROS as u128;
        i64::try_from(micros).expect("a fee is below size x rate / 4, inside i64")
    }

    /// The fee of a fill: zero for a maker when only takers pay.
    pub fn fee(&self, price: Price, size: Size, maker: bool) -> i64 {
        if maker && self.taker_only {
            0
        } else {
            self.taker_fee(price, size)
        }
    }
}

/// An unsigned 256-bit integer, just enough for exact products of prices, sizes and costs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct U256([u64; 4]);

impl U256 {
    pub const ZERO: U256 = U256([0; 4]);

    pub const fn from_u128(value: u128) -> U256 {
        U256([value as u64, (value >> 64) as u64, 0, 0])
    }

    /// The full product of two u128, which always fits.
    pub fn mul(a: u128, b: u128) -> U256 {
        // The scan's products are mostly of two 64-bit values: one multiply, no limbs.
        if (a | b) >> 64 == 0 {
            return U256::from_u128(a * b);
        }
        let a = [a as u64, (a >> 64) as u64];
        let b = [b as u64, (b >> 64) as u64];
        let mut out = [0u64; 4];
        for (i, &x) in a.iter().enumerate() {
            let mut carry: u128 = 0;
            for (j, &y) in b.iter().enumerate() {
                let t = x as u128 * y as u128 + out[i + j] as u128 + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            out[i + 2] = carry as u64;
        }
        U256(out)
    }

    /// This times `factor`; panics on overflow past 256 bits, which no caller reaches.
    pub fn times(self, factor: u64) -> U256 {
        let mut out = [0u64; 4];
        let mut carry: u128 = 0;
        for (slot, &limb) in out.iter_mut().zip(self.0.iter()) {
            let t = limb as u128 * factor as u128 + carry;
            *slot = t as u64;
            carry = t >> 64;
        }
        assert!(carry == 0, "U256 product overflowed");
        U256(out)
    }

    /// The sum; panics on overflow past 256 bits, which no caller reaches.
    pub fn plus(self, other: U256) -> U256 {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(other.0[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *slot = s2;
            carry = c1 || c2;
        }
        assert!(!carry, "U256 sum overflowed");
        U256(out)
    }

    fn div_small(self, divisor: u64) -> U256 {
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = (rem << 64) | self.0[i] as u128;
            out[i] = (cur / divisor as u128) as u64;
            rem = cur % divisor as u128;
        }
        U256(out)
    }

    /// floor(self / 10^decimals): floor(floor(x / a) / b) = floor(x / (a b)).
    pub fn div_pow10(self, decimals: u32) -> U256 {
        let mut value = self;
        let mut left = decimals;
        while left > 0 {
            let step = left.min(19);
            value = value.div_small(10u64.pow(step));
            left -= step;
        }
        value
    }

    pub fn to_u128(self) -> Option<u128> {
        (self.0[2] == 0 && self.0[3] == 0).then(|| self.0[0] as u128 | (self.0[1] as u128) << 64)
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &U256) -> Ordering {
        for limb in (0..4).rev() {
            match self.0[limb].cmp(&other.0[limb]) {
                Ordering::Equal => continue,
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &U256) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        Price::parse(text).unwrap()
    }

    fn s(micros: i64) -> Size {
        Size::from_micros(micros).unwrap()
    }

    fn field<'a>(fill: &'a str, name: &str) -> &'a str {
        let key = format!("\"{name}\": \"");
        let start = fill.find(&key).unwrap_or_else(|| panic!("{name} missing in {fill}")) + key.len();
        &fill[start..start + fill[start..].find('"').unwrap()]
    }

    #[test]
    fn reproduces_every_on_chain_taker_fee_in_the_fixture() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/polymarket/chain_order_filled_taker_fees.json");
        let text = std::fs::read_to_string(path).expect("the fixture is in tests/fixtures");
        let fills: Vec<&str> = text.split('}').filter(|chunk| chunk.contains("\"side\"")).collect();
        assert_eq!(fills.len(), 21);
        for fill in fills {
            let schedule = FeeSchedule::parse(field(fill, "fee_rate"), 1, true).unwrap();
            // A BUY's taker receives the shares; a SELL's taker gives them.
            let shares = match field(fill, "side") {
                "BUY" => field(fill, "taker_amount_filled"),
                _ => field(fill, "maker_amount_filled"),
            };
            let fee = schedule.taker_fee(p(field(fill, "price")), s(shares.parse().unwrap()));
            assert_eq!(fee, field(fill, "fee").parse::<i64>().unwrap(), "{fill}");
        }
    }

    #[test]
    fn truncates_to_five_decimals() {
        let schedule = FeeSchedule::new(72_000, 1, true).unwrap();
        // 10 shares x 0.072 x 0.25 = 0.18 exactly.
        assert_eq!(schedule.taker_fee(p("0.5"), s(10_000_000)), 180_000);
        // 1 share x 0.072 x 0.0099 = 0.0007128 -> 0.00071.
        assert_eq!(schedule.taker_fee(p("0.01"), s(1_000_000)), 710);
        // 0.000001 share pays nothing.
        assert_eq!(schedule.taker_fee(p("0.5"), s(1)), 0);
    }

    #[test]
    fn exponent_two_is_exact_at_extreme_sizes() {
        let schedule = FeeSchedule::new(MICROS, 2, true).unwrap();
        let max = s(i64::MAX);
        // i64::MAX micro-shares x 1 x 0.0625 dollars, floored to 1e-5.
        let exact = (i64::MAX as u128 * 62_500) / 1_000_000 / 10 * 10;
        assert_eq!(schedule.taker_fee(p("0.5"), max) as u128, exact);
        let quarter = FeeSchedule::new(250_000, 2, true).unwrap();
        // 100 shares x 0.25 x (0.3 x 0.7)^2 = 1.1025.
        assert_eq!(quarter.taker_fee(p("0.3"), s(100_000_000)), 1_102_500);
        let linear = FeeSchedule::new(MICROS, 1, true).unwrap();
        assert_eq!(linear.taker_fee(p("0.5"), max) as u128, i64::MAX as u128 / 4 / 10 * 10);
    }

    #[test]
    fn makers_pay_nothing_when_only_takers_pay() {
        let taker_only = FeeSchedule::new(72_000, 1, true).unwrap();
        assert_eq!(taker_only.fee(p("0.5"), s(10_000_000), true), 0);
        assert_eq!(taker_only.fee(p("0.5"), s(10_000_000), false), 180_000);
        let both = FeeSchedule::new(72_000, 1, false).unwrap();
        assert_eq!(both.fee(p("0.5"), s(10_000_000), true), 180_000);
    }

    #[test]
    fn refuses_bad_schedules_naming_the_value() {
        assert_eq!(FeeSchedule::new(72_000, 3, true).unwrap_err().to_string(), "fee exponent 3 is not 1 or 2");
        assert_eq!(FeeSchedule::new(-1, 1, true).unwrap_err().to_string(), "fee rate -0.000001 out of range [0, 1]");
        assert_eq!(
            FeeSchedule::new(1_000_001, 1, true).unwrap_err().to_string(),
            "fee rate 1.000001 out of range [0, 1]"
        );
        assert!(FeeSchedule::parse("abc", 1, true).unwrap_err().to_string().contains("\"abc\""));
        assert_eq!(FeeSchedule::parse("0.072", 1, true).unwrap().rate(), 72_000);
    }

    #[test]
    fn wide_arithmetic_matches_u128_where_it_fits() {
        let a = 0xFF_FFFF_FFFF_FFFF_FFFFu128;
        let b = 0x1234_5678_9ABCu128;
        assert_eq!(U256::mul(a, b).to_u128(), Some(a * b));
        assert!(U256::mul(u128::MAX, 2) > U256::from_u128(u128::MAX));
        assert_eq!(U256::mul(u128::MAX, u128::MAX).div_pow10(0), U256::mul(u128::MAX, u128::MAX));
        assert_eq!(U256::from_u128(10u128.pow(30)).div_pow10(30).to_u128(), Some(1));
        assert_eq!(U256::from_u128(7).times(3).plus(U256::from_u128(1)).to_u128(), Some(22));
    }
}
