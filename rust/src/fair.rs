//! Fair value of Up from the reference price: the window's open, the volatility of the feed
//! and the probability that the settlement price ends at or above the open.
//!
//! Units. A reference price (`RefPrice`) is an integer number of atto-dollars (1e-18 $):
//! PolyBolt's `full_accuracy_value` (8 decimals) and RTDS's 1e18 fixed point both land in
//! it exactly, and BTC at 1e5 $ is 1e23 attos, far inside an `i128`. Volatility is a
//! standard deviation of one-second log returns in parts per billion (`sigma_ppb`: 5e-5 per
//! sqrt-second is 50_000). Probabilities leave this module as micro-dollars of Up
//! (0..=1_000_000); Down is `1_000_000 - up`, exactly.
//!
//! Floats. This is the one module of the core that uses them: a model estimate is not a
//! price on the wire. It is reproducible bit for bit all the same: only IEEE-754 basic
//! operations (+, -, *, /, sqrt, floor) are used, each correctly rounded on every platform,
//! and Rust never contracts them into FMAs; `exp`, `ln1p`, the normal CDF and its inverse
//! are written here instead of borrowed from the platform's libm, whose last bits differ.
//!
//! The model. Settlement is the average of the reference over the last `W` seconds of the
//! window (`W` = 60 s; `W` = 0 means the spot at the end). With the price a driftless
//! Brownian motion in log space of volatility `sigma` per sqrt-second and `t` seconds left:
//! - `t >= W`: the settlement is the average of a path starting at `S`; its log has mean
//!   `ln S` and variance `sigma^2 (t - W) + sigma^2 W / 3` = `sigma^2 (t - 2W/3)`;
//! - `t < W`: a part `e = W - t` of the average is already fixed at `A` (the running TWAP);
//!   the settlement is `M = (e A + t S) / W` plus `t / W` times the average of the remaining
//!   path, whose variance is `sigma^2 t / 3`: the s.d. left is `sigma (t / W) sqrt(t / 3)`,
//!   which shrinks to zero at the end.
//!
//! Both give `P(up) = Phi(ln(M / open) / sd)`, continuous at `t = W`; ties resolve Up, so
//! with nothing left to happen (`sd = 0`) Up is worth 1 exactly when `M >= open`.
//!
//! Anchoring (DESIGN.md "Fair value"): the book knows more than this model, so the model only
//! says how far the book *should* have moved since it last moved. The book's mid is read as
//! a probability, turned into a z-score, shifted by the model's z-change between the
//! reference price when the book last moved and the reference price now, and turned back
//! into a probability: `Phi(Phi^-1(mid) + ln(M_now / M_book) / sd)`. A shift in z rather than
//! in probability keeps the result inside (0, 1) and uses the market's own level to size the
//! move (near 0 or 1 the same price move is worth less). A mid of exactly 0 or 1 has no
//! finite z-score and stays where it is.

use std::fmt;

/// Atto-dollars in one dollar: the unit of `RefPrice`.
pub const ATTOS: i128 = 1_000_000_000_000_000_000;
/// Micro-dollars of a certain outcome: probabilities are returned in millionths.
pub const CERTAIN: i64 = 1_000_000;
/// Whole-dollar digits a reference price may have: 1e15 $ is past any asset, and keeps
/// differences of prices exact in an `i128` (their products with milliseconds are checked).
const MAX_WHOLE_DIGITS: usize = 15;
const MAX_DECIMALS: usize = 18;

/// Why a reference price or a model input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FairError {
    Price { input: String, reason: &'static str },
    Param { name: &'static str, value: i128, expected: &'static str },
}

impl fmt::Display for FairError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FairError::Price { input, reason } => write!(f, "reference price {input:?} {reason}"),
            FairError::Param { name, value, expected } => {
                write!(f, "{name} {value} is out of range, expected {expected}")
            }
        }
    }
}

impl std::error::Error for FairError {}

fn param(name: &'static str, value: impl Into<i128>, expected: &'static str) -> FairError {
    FairError::Param { name, value: value.into(), expected }
}

// ---- the reference price ------------------------------------------------------------------

/// A reference (underlying) price in atto-dollars, strictly positive.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefPrice(i128);

impl RefPrice {
    const MAX: i128 = 10_i128.pow(MAX_WHOLE_DIGITS as u32) * ATTOS;

    pub fn from_attos(attos: i128) -> Result<RefPrice, FairError> {
        if attos <= 0 || attos >= Self::MAX {
            return Err(FairError::Price { input: attos.to_string(), reason: "is not in (0, 1e15) $" });
        }
        Ok(RefPrice(attos))
    }

    /// A plain decimal in dollars (`"64123.5"`, `"64119.87342100"`), at most 18 decimals.
    pub fn parse(input: &str) -> Result<RefPrice, FairError> {
        let refuse = |reason| {
            let shown: String = input.chars().take(40).collect();
            FairError::Price { input: shown, reason }
        };
        let (whole, fraction) = match input.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (input, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(refuse("is not a plain decimal number"));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > MAX_WHOLE_DIGITS {
            return Err(refuse("is not in (0, 1e15) $"));
        }
        let fraction = fraction.unwrap_or("");
        if fraction.len() > MAX_DECIMALS {
            return Err(refuse("has more than 18 decimals"));
        }
        let mut attos: i128 = 0;
        for b in whole.bytes() {
            attos = attos * 10 + i128::from(b - b'0');
        }
        let mut scaled: i128 = 0;
        for b in fraction.bytes() {
            scaled = scaled * 10 + i128::from(b - b'0');
        }
        attos = attos * ATTOS + scaled * 10_i128.pow((MAX_DECIMALS - fraction.len()) as u32);
        if attos == 0 {
            return Err(refuse("is not in (0, 1e15) $"));
        }
        Ok(RefPrice(attos))
    }

    pub const fn attos(self) -> i128 {
        self.0
    }
}

impl fmt::Display for RefPrice {
    /// The shortest exact decimal: 64123500000000000000000 attos -> `64123.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / ATTOS;
        let fraction = self.0 % ATTOS;
        if fraction == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{fraction:018}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

// ---- deterministic float math -------------------------------------------------------------

mod math {
    //! `exp`, `ln1p`, the standard normal CDF and its inverse from IEEE basic operations
    //! only, so every platform computes the same bits.

    const LN2_HI: f64 = 6.931_471_803_691_238e-1; // ln 2, upper 32 bits: k * LN2_HI is exact
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const LOG2_E: f64 = core::f64::consts::LOG2_E;
    const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    const SQRT_2PI: f64 = 2.506_628_274_631_000_7;
    /// Beyond this |z| the normal tail is below 1e-10, far under a micro-dollar.
    pub const Z_SATURATED: f64 = 6.5;

    /// 1/13!, 1/12!, ..., 1/1!, 1/0!: the Taylor coefficients of e^r, highest first.
    const EXP_TAYLOR: [f64; 14] = {
        let mut table = [1.0; 14];
        let mut factorial = 1.0;
        let mut n = 1;
        while n < 14 {
            factorial *= n as f64;
            table[13 - n] = 1.0 / factorial;
            n += 1;
        }
        table
    };

    /// 1/27, 1/25, ..., 1/3, 1/1: the series of atanh, highest first.
    const ATANH_SERIES: [f64; 14] = {
        let mut table = [1.0; 14];
        let mut n = 0;
        while n < 14 {
            table[n] = 1.0 / (27 - 2 * n) as f64;
            n += 1;
        }
        table
    };

    /// e^x for x in [-700, 700] (inputs outside are clamped; they never occur here).
    pub fn exp(x: f64) -> f64 {
        let x = x.clamp(-700.0, 700.0);
        let k = (x * LOG2_E + 0.5).floor();
        let r = (x - k * LN2_HI) - k * LN2_LO; // |r| <= ln2 / 2
        // Taylor to degree 13: the first term left out is below 5e-18 for |r| <= 0.35.
        let mut sum = EXP_TAYLOR[0];
        for coefficient in &EXP_TAYLOR[1..] {
            sum = sum * r + coefficient;
        }
        sum * f64::from_bits(((1023 + k as i64) as u64) << 52)
    }

    /// ln(1 + x) for x > -1, accurate for tiny x (a price move of a few parts per million).
    pub fn ln1p(x: f64) -> f64 {
        // ln(m) = 2 atanh(s) with s = (m - 1) / (m + 1); with m in [0.7, 1.42], |s| <= 0.18.
        if x.abs() < 0.25 {
            return atanh2(x / (2.0 + x));
        }
        let u = 1.0 + x;
        let bits = u.to_bits();
        let mut k = ((bits >> 52) & 0x7ff) as i64 - 1023;
        let mut m = f64::from_bits((bits & ((1_u64 << 52) - 1)) | (1023_u64 << 52)); // [1, 2)
        if m > core::f64::consts::SQRT_2 {
            m *= 0.5;
            k += 1;
        }
        let k = k as f64;
        k * LN2_HI + (k * LN2_LO + atanh2((m - 1.0) / (m + 1.0)))
    }

    /// 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), for |s| <= 0.18 (s^27 term below 1e-19).
    fn atanh2(s: f64) -> f64 {
        let s2 = s * s;
        let mut sum = ATANH_SERIES[0];
        for coefficient in &ATANH_SERIES[1..] {
            sum = sum * s2 + coefficient;
        }
        2.0 * s * sum
    }

    /// 1 / (2n + 1) for the CDF's series, so its loop multiplies instead of dividing.
    const ODD_RECIPROCALS: [f64; 160] = {
        let mut table = [0.0; 160];
        let mut n = 0;
        while n < 160 {
            table[n] = 1.0 / (2 * n + 1) as f64;
            n += 1;
        }
        table
    };

    pub fn pdf(z: f64) -> f64 {
        FRAC_1_SQRT_2PI * exp(-0.5 * z * z)
    }

    /// Phi(z) = 1/2 + pdf(z) (z + z^3/3 + z^5/(3*5) + ...) (Marsaglia 2004): every term is
    /// positive for z > 0, so the sum has no cancellation; |z| > 6.5 saturates to 0 or 1.
    pub fn cdf(z: f64) -> f64 {
        let x = z.abs();
        if x.is_nan() {
            return f64::NAN;
        }
        let upper = if x >= Z_SATURATED {
            0.5
        } else {
            let x2 = x * x;
            let (mut term, mut sum) = (x, x);
            for reciprocal in &ODD_RECIPROCALS[1..] {
                term *= x2 * reciprocal;
                let next = sum + term;
                if next == sum {
                    break;
                }
                sum = next;
            }
            pdf(x) * sum
        };
        if z >= 0.0 {
            0.5 + upper
        } else {
            0.5 - upper
        }
    }

    /// Phi^-1(p) for p in (0, 1): Acklam's rational approximation (relative error 1.2e-9)
    /// polished by one Halley step on `cdf` above, so `cdf(ppf(p))` is p to ~1e-15.
    pub fn ppf(p: f64) -> f64 {
        const A: [f64; 6] = [
            -3.969_683_028_665_376e1,
            2.209_460_984_245_205e2,
            -2.759_285_104_469_687e2,
            1.383_577_518_672_69e2,
            -3.066_479_806_614_716e1,
            2.506_628_277_459_239,
        ];
        const B: [f64; 5] = [
            -5.447_609_879_822_406e1,
            1.615_858_368_580_409e2,
            -1.556_989_798_598_866e2,
            6.680_131_188_771_972e1,
            -1.328_068_155_288_572e1,
        ];
        const C: [f64; 6] = [
            -7.784_894_002_430_293e-3,
            -3.223_964_580_411_365e-1,
            -2.400_758_277_161_838,
            -2.549_732_539_343_734,
            4.374_664_141_464_968,
            2.938_163_982_698_783,
        ];
        const D: [f64; 4] = [
            7.784_695_709_041_462e-3,
            3.224_671_290_700_398e-1,
            2.445_134_137_142_996,
            3.754_408_661_907_416,
        ];
        const P_LOW: f64 = 0.024_25;
        let tail = |q: f64| {
            let num = ((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5];
            num / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
        };
        let x = if p < P_LOW {
            tail(sqrt_ln_inv(p))
        } else if p > 1.0 - P_LOW {
            -tail(sqrt_ln_inv(1.0 - p))
        } else {
            let q = p - 0.5;
            let r = q * q;
            let num = (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q;
            num / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
        };
        let e = cdf(x) - p;
        let u = e * SQRT_2PI * exp(0.5 * x * x);
        x - u / (1.0 + 0.5 * x * u)
    }

    /// sqrt(-2 ln p) for the tails of `ppf`.
    fn sqrt_ln_inv(p: f64) -> f64 {
        (-2.0 * ln1p(p - 1.0)).sqrt()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn exp_and_ln1p_match_the_platform_to_a_few_ulps() {
            for i in -400..=400 {
                let x = f64::from(i) * 0.1;
                let (ours, theirs) = (exp(x), x.exp());
                assert!(((ours - theirs) / theirs).abs() < 4e-16, "exp({x}): {ours} vs {theirs}");
            }
            for i in -999..=3000 {
                let x = f64::from(i) * 1e-3;
                let (ours, theirs) = (ln1p(x), x.ln_1p());
                assert!((ours - theirs).abs() <= 1e-15 * theirs.abs(), "ln1p({x}): {ours} vs {theirs}");
            }
            for x in [1e-12, -3e-9, 2.5e-6, -7e-5] {
                assert!(((ln1p(x) - x.ln_1p()) / x.ln_1p()).abs() < 1e-15);
            }
        }

        #[test]
        fn cdf_matches_known_values_and_saturates() {
            // Phi(1), Phi(-2), Phi(3) to 16 digits (Abramowitz & Stegun tables).
            assert!((cdf(1.0) - 0.841_344_746_068_542_9).abs() < 2e-16);
            assert!((cdf(-2.0) - 0.022_750_131_948_179_2).abs() < 2e-16);
            assert!((cdf(3.0) - 0.998_650_101_968_369_9).abs() < 2e-16);
            assert_eq!(cdf(0.0), 0.5);
            assert_eq!(cdf(7.0), 1.0);
            assert_eq!(cdf(-7.0), 0.0);
            let mut last = 0.0;
            for i in -700..=700 {
                let value = cdf(f64::from(i) * 0.01);
                assert!(value >= last, "cdf not monotone at {i}");
                last = value;
            }
        }

        #[test]
        fn ppf_inverts_cdf() {
            for i in 1..1000 {
                let p = f64::from(i) / 1000.0;
                assert!((cdf(ppf(p)) - p).abs() < 1e-14, "p = {p}");
            }
            for p in [1e-6, 3e-5, 0.999_999] {
                assert!((cdf(ppf(p)) - p).abs() < 1e-15, "p = {p}");
            }
        }
    }
}

// ---- settlement and the model -------------------------------------------------------------

/// Where the window stands against its settlement: time left and the TWAP's fixed part.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Milliseconds to the window's end (negative is treated as 0: nothing left to happen).
    pub ms_left: i64,
    /// The settlement TWAP's length in ms (60_000); 0 settles on the spot at the end.
    pub twap_window_ms: i64,
    /// The average of the reference over the part of the TWAP window already elapsed; only
    /// read when `ms_left < twap_window_ms`. None: taken equal to the spot now.
    pub twap_fixed: Option<RefPrice>,
}

impl Settlement {
    pub fn new(ms_left: i64, twap_window_ms: i64, twap_fixed: Option<RefPrice>) -> Result<Self, FairError> {
        if !(0..=3_600_000).contains(&twap_window_ms) {
            return Err(param("twap_window_ms", twap_window_ms, "[0, 3600000]"));
        }
        Ok(Settlement { ms_left: ms_left.max(0), twap_window_ms, twap_fixed })
    }

    fn in_twap(&self) -> bool {
        self.ms_left < self.twap_window_ms
    }

    /// The s.d. of the settlement's log price still to come, for `sigma` per sqrt-second.
    fn sd_left(&self, sigma: f64) -> f64 {
        let t = self.ms_left as f64 / 1000.0;
        let w = self.twap_window_ms as f64 / 1000.0;
        if self.twap_window_ms == 0 {
            sigma * t.sqrt()
        } else if self.in_twap() {
            sigma * (t / w) * (t / 3.0).sqrt()
        } else {
            sigma * (t - 2.0 * w / 3.0).sqrt()
        }
    }

    /// `M - base` for the settlement's expected level `M` with `spot`, exact when the
    /// integers allow it: the sign decides a certain outcome, so it must not be a rounding.
    fn level_minus(&self, spot: RefPrice, base: i128) -> Diff {
        if !self.in_twap() {
            return Diff::exact(spot.0 - base);
        }
        let fixed = self.twap_fixed.unwrap_or(spot).0;
        let e = i128::from(self.twap_window_ms - self.ms_left);
        let t = i128::from(self.ms_left);
        let w = i128::from(self.twap_window_ms);
        // |prices| < 1e33 and ms <= 3.6e6: each product < 4e39 may overflow, so checked.
        match (e.checked_mul(fixed - base), t.checked_mul(spot.0 - base)) {
            (Some(a), Some(b)) => match a.checked_add(b) {
                Some(sum) => Diff { value: sum as f64 / w as f64, sign: sum.signum() },
                None => Diff::approx((a as f64 + b as f64) / w as f64),
            },
            _ => Diff::approx(
                (e as f64 * (fixed - base) as f64 + t as f64 * (spot.0 - base) as f64) / w as f64,
            ),
        }
    }
}

impl Settlement {
    /// The settlement's expected level `M` with `spot`, as a float.
    fn level(&self, spot: RefPrice) -> f64 {
        self.level_minus(spot, 0).value
    }

    /// `M(to) - M(from)`: the TWAP's fixed part is common to both, so only the spot's share
    /// of the average (`t / W` inside the TWAP window) moves.
    fn level_move(&self, from: RefPrice, to: RefPrice) -> f64 {
        let moved = (to.0 - from.0) as f64;
        if self.in_twap() && self.twap_fixed.is_some() {
            self.ms_left as f64 * moved / self.twap_window_ms as f64
        } else {
            moved
        }
    }
}

struct Diff {
    value: f64,
    sign: i128,
}

impl Diff {
    fn exact(d: i128) -> Diff {
        Diff { value: d as f64, sign: d.signum() }
    }

    fn approx(value: f64) -> Diff {
        Diff { value, sign: if value > 0.0 { 1 } else if value < 0.0 { -1 } else { 0 } }
    }
}

/// A volatility in parts per billion per sqrt-second, as the model's float.
pub fn sigma_of_ppb(sigma_ppb: i64) -> Result<f64, FairError> {
    if !(0..=1_000_000_000).contains(&sigma_ppb) {
        return Err(param("sigma_ppb", sigma_ppb, "[0, 1e9]"));
    }
    Ok(sigma_ppb as f64 / 1e9)
}

fn to_micros(p: f64) -> i64 {
    ((p * CERTAIN as f64 + 0.5).floor() as i64).clamp(0, CERTAIN)
}

/// The model probability that Up wins, as a float: `Phi(ln(M / open) / sd)`.
pub fn model_up_probability(spot: RefPrice, open: RefPrice, sigma: f64, at: &Settlement) -> f64 {
    let diff = at.level_minus(spot, open.0);
    let sd = at.sd_left(sigma);
    if sd <= 0.0 {
        return if diff.sign >= 0 { 1.0 } else { 0.0 };
    }
    math::cdf(math::ln1p(diff.value / open.0 as f64) / sd)
}

/// The model's fair value of Up in micro-dollars (Down is `CERTAIN - up`).
pub fn model_up(spot: RefPrice, open: RefPrice, sigma_ppb: i64, at: &Settlement) -> Result<i64, FairError> {
    Ok(to_micros(model_up_probability(spot, open, sigma_of_ppb(sigma_ppb)?, at)))
}

/// The fair value of Up anchored on the book: the mid (micro-dollars, in [0, 1e6]) moved by
/// what the model says the reference's move from `spot_at_book` (the reference when the book
/// last moved) to `spot` is worth. No move, or a mid of 0 or 1: the mid itself. Nothing left
/// to happen: the model's certain outcome.
pub fn anchored_up(
    mid: i64,
    spot_at_book: RefPrice,
    spot: RefPrice,
    open: RefPrice,
    sigma_ppb: i64,
    at: &Settlement,
) -> Result<i64, FairError> {
    if !(0..=CERTAIN).contains(&mid) {
        return Err(param("mid", mid, "[0, 1000000] micro-dollars"));
    }
    let sigma = sigma_of_ppb(sigma_ppb)?;
    let sd = at.sd_left(sigma);
    if sd <= 0.0 {
        return Ok(to_micros(model_up_probability(spot, open, sigma, at)));
    }
    // A book at 0 or 1 has a z-score of -inf or +inf that no finite move shifts.
    if spot == spot_at_book || mid == 0 || mid == CERTAIN {
        return Ok(mid);
    }
    let shift = math::ln1p(at.level_move(spot_at_book, spot) / at.level(spot_at_book)) / sd;
    let level = mid as f64 / CERTAIN as f64;
    Ok(to_micros(math::cdf(math::ppf(level) + shift)))
}

/// The fair value of Up anchored on the book as it stood at `book` (the time left and the
/// TWAP's fixed part when the book last moved, the reference then `spot_at_book`): the mid's
/// z-score moved by the model's z-change from then to now, each z with the s.d. of its own
/// moment. Unlike `anchored_up` (one s.d., now's), time passing without a move sharpens the
/// value as it sharpens the model: in the last minute the s.d. shrinks fast, and a book last
/// moved 20 s ago read with now's s.d. took a one-dollar move for a certainty.
pub fn anchored_up_since(
    mid: i64,
    spot_at_book: RefPrice,
    book: &Settlement,
    spot: RefPrice,
    open: RefPrice,
    sigma_ppb: i64,
    at: &Settlement,
) -> Result<i64, FairError> {
    if !(0..=CERTAIN).contains(&mid) {
        return Err(param("mid", mid, "[0, 1000000] micro-dollars"));
    }
    let sigma = sigma_of_ppb(sigma_ppb)?;
    let sd = at.sd_left(sigma);
    if sd <= 0.0 {
        return Ok(to_micros(model_up_probability(spot, open, sigma, at)));
    }
    let sd_book = book.sd_left(sigma);
    // A book at 0 or 1 has no finite z-score; a book "after" now has no z-change to read.
    if mid == 0 || mid == CERTAIN || sd_book <= 0.0 || (spot == spot_at_book && book == at) {
        return Ok(mid);
    }
    let z = |price: RefPrice, when: &Settlement, sd: f64| {
        math::ln1p(when.level_minus(price, open.0).value / open.0 as f64) / sd
    };
    let shift = z(spot, at, sd) - z(spot_at_book, book, sd_book);
    let level = mid as f64 / CERTAIN as f64;
    Ok(to_micros(math::cdf(math::ppf(level) + shift)))
}

// ---- volatility ---------------------------------------------------------------------------

/// An EWMA of the feed's one-second log returns, floored and capped on the way out.
///
/// A sample is the return from the last sampled price to a price at least one second later,
/// scaled to one second (`r^2 / dt`); updates less than a second after the last sample wait
/// for the next one (the sample then spans their move too). A gap longer than `MAX_GAP_MS`
/// restarts from the next price without a sample: a return over minutes says little about
/// the next second. Prices older than the last sample are ignored.
#[derive(Clone, Debug)]
pub struct Volatility {
    halflife_ms: i64,
    floor: f64,
    cap: f64,
    variance: f64,
    anchor: Option<(i64, RefPrice)>,
    samples: u64,
}

impl Volatility {
    pub const MAX_GAP_MS: i64 = 60_000;

    pub fn new(halflife_ms: i64, initial_ppb: i64, floor_ppb: i64, cap_ppb: i64) -> Result<Self, FairError> {
        if halflife_ms <= 0 {
            return Err(param("halflife_ms", halflife_ms, "> 0"));
        }
        if floor_ppb <= 0 {
            return Err(param("floor_ppb", floor_ppb, "> 0"));
        }
        if cap_ppb < floor_ppb {
            return Err(param("cap_ppb", cap_ppb, ">= floor_ppb"));
        }
        if !(floor_ppb..=cap_ppb).contains(&initial_ppb) {
            return Err(param("initial_ppb", initial_ppb, "between floor_ppb and cap_ppb"));
        }
        let initial = sigma_of_ppb(initial_ppb)?;
        Ok(Volatility {
            halflife_ms,
            floor: sigma_of_ppb(floor_ppb)?,
            cap: sigma_of_ppb(cap_ppb)?,
            variance: initial * initial,
            anchor: None,
            samples: 0,
        })
    }

    /// Feeds one reference price; true when it made a sample.
    pub fn update(&mut self, ts_ms: i64, price: RefPrice) -> bool {
        let Some((last_ms, last)) = self.anchor else {
            self.anchor = Some((ts_ms, price));
            return false;
        };
        let dt = ts_ms - last_ms;
        if dt < 1000 {
            return false;
        }
        self.anchor = Some((ts_ms, price));
        if dt > Self::MAX_GAP_MS {
            return false;
        }
        let r = math::ln1p((price.0 - last.0) as f64 / last.0 as f64);
        let seconds = dt as f64 / 1000.0;
        // weight of the old estimate: 1/2 per half-life elapsed
        let keep = math::exp(-core::f64::consts::LN_2 * dt as f64 / self.halflife_ms as f64);
        self.variance = keep * self.variance + (1.0 - keep) * (r * r / seconds);
        self.samples += 1;
        true
    }

    pub fn sigma(&self) -> f64 {
        self.variance.sqrt().clamp(self.floor, self.cap)
    }

    /// The estimate in parts per billion per sqrt-second, rounded to the nearest.
    pub fn sigma_ppb(&self) -> i64 {
        (self.sigma() * 1e9 + 0.5).floor() as i64
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }
}

// ---- the window's open --------------------------------------------------------------------

/// Where a window's opening reference came from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OpenSource {
    /// Gamma's `eventMetadata.priceToBeat`: the exchange's own number, final.
    PriceToBeat,
    /// The first reference update at or after the window's start.
    Reference,
}

/// The opening reference of a window: the exchange's price to beat when known, else the
/// earliest update stamped at or after the start (updates may arrive out of order).
#[derive(Clone, Debug)]
pub struct WindowOpen {
    start_ms: i64,
    open: Option<(RefPrice, OpenSource, i64)>,
}

impl WindowOpen {
    pub fn new(start_ms: i64) -> WindowOpen {
        WindowOpen { start_ms, open: None }
    }

    /// One reference update; true when it became the open.
    pub fn observe(&mut self, ts_ms: i64, price: RefPrice) -> bool {
        if ts_ms < self.start_ms {
            return false;
        }
        match self.open {
            Some((_, OpenSource::PriceToBeat, _)) => false,
            Some((_, _, seen_ms)) if seen_ms <= ts_ms => false,
            _ => {
                self.open = Some((price, OpenSource::Reference, ts_ms));
                true
            }
        }
    }

    pub fn set_price_to_beat(&mut self, price: RefPrice) {
        self.open = Some((price, OpenSource::PriceToBeat, self.start_ms));
    }

    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    pub fn price(&self) -> Option<RefPrice> {
        self.open.map(|(price, _, _)| price)
    }

    pub fn source(&self) -> Option<OpenSource> {
        self.open.map(|(_, source, _)| source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(text: &str) -> RefPrice {
        RefPrice::parse(text).unwrap()
    }

    fn at(ms_left: i64) -> Settlement {
        Settlement::new(ms_left, 60_000, None).unwrap()
    }

    #[test]
    fn reference_prices_parse_exactly_and_print_back() {
        assert_eq!(usd("64123.5").attos(), 64_123_500_000_000_000_000_000);
        assert_eq!(usd("64119.87342100").attos(), 64_119_873_421_000_000_000_000);
        assert_eq!(usd("0.000000000000000001").attos(), 1);
        assert_eq!(usd("0007").to_string(), "7");
        assert_eq!(usd("76566.66361659291").to_string(), "76566.66361659291");
        for bad in ["", "1.", ".5", "-1", "1e5", "1.2.3", " 1", "0", "0.000", "1.0000000000000000001",
                    "1000000000000000"] {
            assert!(RefPrice::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(RefPrice::from_attos(0).is_err());
        assert!(RefPrice::from_attos(-5).is_err());
    }

    #[test]
    fn model_is_monotone_in_spot_and_symmetric() {
        let open = usd("100000");
        let mut last = 0;
        for bps in -200..=200 {
            let spot = RefPrice::from_attos(open.attos() + open.attos() / 10_000 * bps).unwrap();
            let up = model_up(spot, open, 50_000, &at(300_000)).unwrap();
            assert!(up >= last, "not monotone at {bps} bps");
            last = up;
        }
        assert_eq!(model_up(open, open, 50_000, &at(300_000)).unwrap(), 500_000);
        // a move up and the same log move down are worth the same to either side
        let up = model_up(usd("100100"), open, 50_000, &at(300_000)).unwrap();
        let mirrored = RefPrice::from_attos(ATTOS * 10_000_000_000 / 100_100).unwrap(); // 1e10 / 100100 $
        let down = model_up(mirrored, open, 50_000, &at(300_000)).unwrap();
        assert!((up + down - CERTAIN).abs() <= 1, "{up} + {down}");
    }

    #[test]
    fn nothing_left_means_a_certain_outcome_ties_up() {
        let open = usd("100000");
        let settle = Settlement::new(0, 60_000, Some(open)).unwrap();
        assert_eq!(model_up(open, open, 50_000, &settle).unwrap(), CERTAIN);
        assert_eq!(model_up(usd("99999.99"), open, 50_000, &settle).unwrap(), CERTAIN);
        let below = Settlement::new(0, 60_000, Some(usd("99999.99"))).unwrap();
        assert_eq!(model_up(open, open, 50_000, &below).unwrap(), 0);
        assert_eq!(model_up(usd("100000.01"), open, 0, &at(5_000)).unwrap(), CERTAIN);
        assert_eq!(model_up(usd("99999.99"), open, 50_000, &at(-10)).unwrap(), 0);
        // just before the end the outcome is nearly decided by where the TWAP stands
        let near = Settlement::new(1, 60_000, Some(usd("100001"))).unwrap();
        assert_eq!(model_up(usd("90000"), open, 50_000, &near).unwrap(), CERTAIN);
    }

    #[test]
    fn twap_variance_is_continuous_at_the_window_and_shrinks_inside_it() {
        let sigma = 5e-5;
        let before = at(60_000).sd_left(sigma);
        let inside = at(59_999).sd_left(sigma);
        assert!((before - inside).abs() < 1e-4 * before, "{before} vs {inside}");
        assert!(at(30_000).sd_left(sigma) < at(59_000).sd_left(sigma));
        assert!(at(120_000).sd_left(sigma) < Settlement::new(120_000, 0, None).unwrap().sd_left(sigma));
    }

    #[test]
    fn in_the_last_minute_the_fixed_part_of_the_twap_weighs_in() {
        let open = usd("100000");
        // spot below the open, but 50 s of the average already fixed above it
        let fixed_above = Settlement::new(10_000, 60_000, Some(usd("100050"))).unwrap();
        let spot_only = Settlement::new(10_000, 60_000, None).unwrap();
        let with_fixed = model_up(usd("99990"), open, 50_000, &fixed_above).unwrap();
        let without = model_up(usd("99990"), open, 50_000, &spot_only).unwrap();
        assert!(with_fixed > 900_000 && without < 100_000, "{with_fixed} {without}");
    }

    #[test]
    fn anchored_value_is_the_mid_until_the_reference_moves() {
        let open = usd("100000");
        let book = usd("100010");
        assert_eq!(anchored_up(430_000, book, book, open, 50_000, &at(300_000)).unwrap(), 430_000);
        let up = anchored_up(430_000, book, usd("100030"), open, 50_000, &at(300_000)).unwrap();
        let down = anchored_up(430_000, book, usd("99990"), open, 50_000, &at(300_000)).unwrap();
        assert!(up > 430_000 && down < 430_000);
        // the same z-shift from the model's own level reproduces the model's move
        let model_then = model_up(book, open, 50_000, &at(300_000)).unwrap();
        let model_now = model_up(usd("100030"), open, 50_000, &at(300_000)).unwrap();
        let anchored = anchored_up(model_then, book, usd("100030"), open, 50_000, &at(300_000)).unwrap();
        assert!((anchored - model_now).abs() <= 1, "{anchored} vs {model_now}");
        // inside the TWAP window with a fixed part too
        let settle = Settlement::new(20_000, 60_000, Some(usd("100005"))).unwrap();
        let model_then = model_up(book, open, 50_000, &settle).unwrap();
        let model_now = model_up(usd("99995"), open, 50_000, &settle).unwrap();
        let anchored = anchored_up(model_then, book, usd("99995"), open, 50_000, &settle).unwrap();
        assert!((anchored - model_now).abs() <= 1, "{anchored} vs {model_now}");
        assert!(anchored_up(1_000_001, book, book, open, 50_000, &at(1)).is_err());
    }

    #[test]
    fn anchored_since_the_book_moved_sharpens_with_time_as_the_model_does() {
        let open = usd("100000");
        let book = usd("100010");
        let then = at(300_000);
        // same moment, same price: the mid itself
        assert_eq!(anchored_up_since(430_000, book, &then, book, open, 50_000, &then).unwrap(), 430_000);
        // at the model's own level, the value follows the model from then to now, price and
        // time alike (the one-s.d. anchoring would stay at the mid while the price stays put)
        let model_then = model_up(book, open, 50_000, &then).unwrap();
        for (now, spot) in [(at(100_000), book), (at(100_000), usd("100030")), (at(61_000), usd("99995"))] {
            let model_now = model_up(spot, open, 50_000, &now).unwrap();
            let anchored = anchored_up_since(model_then, book, &then, spot, open, 50_000, &now).unwrap();
            assert!((anchored - model_now).abs() <= 1, "{anchored} vs {model_now}");
        }
        assert!(model_up(book, open, 50_000, &at(100_000)).unwrap() > model_then);
        // into the TWAP window: each moment's fixed part and s.d.
        let book_at = Settlement::new(40_000, 60_000, Some(usd("100005"))).unwrap();
        let now = Settlement::new(20_000, 60_000, Some(usd("100004"))).unwrap();
        let model_then = model_up(book, open, 50_000, &book_at).unwrap();
        let model_now = model_up(usd("99998"), open, 50_000, &now).unwrap();
        let anchored = anchored_up_since(model_then, book, &book_at, usd("99998"), open, 50_000, &now).unwrap();
        assert!((anchored - model_now).abs() <= 1, "{anchored} vs {model_now}");
        // a mid off the model keeps its offset in z: above the model stays above it
        let above = anchored_up_since(model_then + 50_000, book, &book_at, usd("99998"), open, 50_000, &now).unwrap();
        assert!(above > model_now);
        // nothing left: the model's certain outcome; a mid at 0 or 1 stays; bad mid refused
        assert_eq!(anchored_up_since(430_000, book, &then, usd("100001"), open, 50_000, &at(0)).unwrap(), CERTAIN);
        assert_eq!(anchored_up_since(0, book, &then, usd("100030"), open, 50_000, &at(1_000)).unwrap(), 0);
        assert!(anchored_up_since(-1, book, &then, book, open, 50_000, &then).is_err());
    }

    #[test]
    fn results_are_the_same_bits_on_every_machine() {
        // Pinned outputs: a change in any of these means the float path changed, which
        // would make two machines (or two builds) disagree on a fair value.
        let open = usd("100000");
        let p = model_up_probability(usd("100037.5"), open, 5e-5, &at(421_000));
        assert_eq!(p.to_bits(), 0x3fe4_c94a_c0d0_e8e2_u64, "{p:e} {:#x}", p.to_bits());
        let settle = Settlement::new(45_000, 60_000, Some(usd("100010.25"))).unwrap();
        let q = model_up_probability(usd("99990"), open, 4.2e-5, &settle);
        assert_eq!(q.to_bits(), 0x3fd5_f114_2825_5e7c, "{q:e} {:#x}", q.to_bits());
    }

    #[test]
    fn volatility_tracks_the_returns_it_sees_within_floor_and_cap() {
        let mut vol = Volatility::new(60_000, 50_000, 20_000, 500_000).unwrap();
        assert_eq!(vol.sigma_ppb(), 50_000);
        // alternating +-1e-4 moves every second: sigma converges to 1e-4
        let mut price = usd("100000");
        for i in 0..2_000 {
            let factor = if i % 2 == 0 { 10_001 } else { 10_000 };
            let base = if i % 2 == 0 { 10_000 } else { 10_001 };
            price = RefPrice::from_attos(price.attos() / base * factor).unwrap();
            vol.update(i * 1000, price);
        }
        assert!((vol.sigma_ppb() - 100_000).abs() < 1_000, "{}", vol.sigma_ppb());
        // a flat feed decays to the floor
        for i in 2_000..4_000 {
            vol.update(i * 1000, price);
        }
        assert_eq!(vol.sigma_ppb(), 20_000);
        // a crash is capped
        vol.update(4_000_000, RefPrice::from_attos(price.attos() / 2).unwrap());
        assert_eq!(vol.sigma_ppb(), 500_000);
        // sub-second updates and out-of-order ones make no sample; a long gap re-anchors
        let samples = vol.samples();
        assert!(!vol.update(4_000_500, price));
        assert!(!vol.update(3_999_000, price));
        assert!(!vol.update(4_100_000, price));
        assert_eq!(vol.samples(), samples);
        assert!(Volatility::new(0, 1, 1, 1).is_err());
        assert!(Volatility::new(1, 5, 10, 20).is_err());
    }

    /// A small deterministic generator: the properties below run on the same 20 000 cases
    /// every time.
    struct Cases(u64);

    impl Cases {
        fn next(&mut self, below: u64) -> i64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % below) as i64
        }

        fn spot(&mut self) -> RefPrice {
            // within +-2% of 100 000 $, in steps of 1e-8 $ (1e10 attos) as PolyBolt sends them
            let steps = 10_000_000_000_000 - 200_000_000_000 + self.next(400_000_000_001);
            RefPrice::from_attos(i128::from(steps) * 10_000_000_000).unwrap()
        }

        fn settlement(&mut self) -> Settlement {
            let window = [60_000, 0, 30_000][self.next(3) as usize];
            let ms_left = [self.next(900_001), self.next(70_001), self.next(51)][self.next(3) as usize];
            let fixed = if self.next(2) == 0 { None } else { Some(self.spot()) };
            Settlement::new(ms_left, window, fixed).unwrap()
        }
    }

    #[test]
    fn properties_hold_on_many_generated_cases() {
        let open = usd("100000");
        let mut cases = Cases(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let at = cases.settlement();
            let sigma = 10_000 + cases.next(490_001);
            let (a, b) = (cases.spot(), cases.spot());
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            let (up_low, up_high) = (model_up(low, open, sigma, &at).unwrap(), model_up(high, open, sigma, &at).unwrap());
            assert!((0..=CERTAIN).contains(&up_low) && up_low <= up_high && up_high <= CERTAIN);
            let mid = cases.next(1_000_001);
            let book = cases.spot();
            let (an_low, an_high) = (
                anchored_up(mid, book, low, open, sigma, &at).unwrap(),
                anchored_up(mid, book, high, open, sigma, &at).unwrap(),
            );
            assert!((0..=CERTAIN).contains(&an_low) && an_low <= an_high && an_high <= CERTAIN);
            if at.sd_left(sigma as f64 / 1e9) > 0.0 {
                assert_eq!(anchored_up(mid, book, book, open, sigma, &at).unwrap(), mid);
            }
        }
    }

    #[test]
    fn the_open_is_the_first_update_at_or_after_the_start_unless_the_exchange_says() {
        let mut open = WindowOpen::new(900_000);
        assert!(!open.observe(899_999, usd("1")));
        assert!(open.observe(900_400, usd("2")));
        assert!(!open.observe(901_000, usd("3")));
        assert!(open.observe(900_000, usd("4"))); // arrived late, stamped earlier
        assert_eq!((open.price(), open.source()), (Some(usd("4")), Some(OpenSource::Reference)));
        open.set_price_to_beat(usd("5"));
        assert!(!open.observe(900_000, usd("6")));
        assert_eq!((open.price(), open.source()), (Some(usd("5")), Some(OpenSource::PriceToBeat)));
    }
}
