//! Maker and taker amounts (6-decimal integers, pUSD and shares) from an exact price and size,
//! by the exchange's precision rules. Prices are never rounded onto the tick: an off-tick
//! price is the caller's bug and is refused. Sizes are truncated to the exchange's 2 decimals.

use super::error::SignError;
use super::order::Side;
use crate::fixed::MICROS;

/// Marketable orders (FOK/FAK) must be worth at least $1.
pub const MIN_MARKETABLE_NOTIONAL: i64 = MICROS;
/// Sizes and pUSD amounts travel with at most 2 decimals: 10,000 micro-units.
const CENT: i64 = 10_000;
/// Marketable buys receive at most 4 share decimals, whatever the tick.
const MARKET_BUY_TAKER_STEP: i64 = 100;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tick(i64);

impl Tick {
    pub fn from_micros(micros: i64) -> Result<Tick, SignError> {
        match micros {
            100_000 | 10_000 | 1_000 | 100 => Ok(Tick(micros)),
            micros => Err(SignError::Tick { micros }),
        }
    }

    pub const fn micros(self) -> i64 {
        self.0
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Amounts {
    pub maker: u64,
    pub taker: u64,
}

fn check_price(price: i64, tick: Tick) -> Result<(), SignError> {
    let tick = tick.micros();
    if price < tick || price > MICROS - tick {
        return Err(SignError::PriceOutOfRange { price, tick });
    }
    if price % tick != 0 {
        return Err(SignError::PriceOffTick { price, tick });
    }
    Ok(())
}

/// Cut to 2 decimals, refusing a negative input.
fn to_cents(micros: i64, what: &'static str) -> Result<i64, SignError> {
    if micros < 0 {
        return Err(SignError::AmountOutOfRange { what, micros });
    }
    Ok(micros - micros % CENT)
}

/// shares x price in micro-dollars. Exact: shares are whole cents (10^4 micro-shares) and an
/// on-tick price whole 10^-4 dollars (100 micros), so the product is a whole number of micros.
fn notional(shares: i64, price: i64) -> Result<i64, SignError> {
    let value = i128::from(shares) * i128::from(price) / i128::from(MICROS);
    i64::try_from(value).map_err(|_| SignError::AmountOutOfRange { what: "size", micros: shares })
}

fn amounts(maker: i64, taker: i64) -> Amounts {
    // Both were checked non-negative; i64 -> u64 cannot fail.
    Amounts { maker: maker.unsigned_abs(), taker: taker.unsigned_abs() }
}

/// A resting (GTC/GTD) order of `size` micro-shares at `price` micro-dollars. `min_size` is the
/// market's `orderMinSize`; a size that truncates to zero is refused even when it is 0.
pub fn limit_amounts(
    side: Side,
    price: i64,
    size: i64,
    tick: Tick,
    min_size: i64,
) -> Result<Amounts, SignError> {
    check_price(price, tick)?;
    let shares = to_cents(size, "size")?;
    if shares < min_size.max(CENT) {
        return Err(SignError::SizeBelowMinimum { size: shares, min: min_size.max(CENT) });
    }
    let dollars = notional(shares, price)?;
    Ok(match side {
        Side::Buy => amounts(dollars, shares),
        Side::Sell => amounts(shares, dollars),
    })
}

/// A marketable (FOK/FAK) order with `price` as its worst price. A BUY spends `amount`
/// micro-dollars (2 decimals) for at most 4 share decimals; a SELL sells `amount` micro-shares.
pub fn market_amounts(side: Side, price: i64, amount: i64, tick: Tick) -> Result<Amounts, SignError> {
    check_price(price, tick)?;
    match side {
        Side::Buy => {
            let dollars = to_cents(amount, "amount")?;
            if dollars < MIN_MARKETABLE_NOTIONAL {
                return Err(SignError::NotionalBelowMinimum {
                    notional: dollars,
                    min: MIN_MARKETABLE_NOTIONAL,
                });
            }
            let shares = i128::from(dollars) * i128::from(MICROS) / i128::from(price);
            let shares = i64::try_from(shares)
                .map_err(|_| SignError::AmountOutOfRange { what: "amount", micros: dollars })?;
            Ok(amounts(dollars, shares - shares % MARKET_BUY_TAKER_STEP))
        }
        Side::Sell => {
            let shares = to_cents(amount, "amount")?;
            let dollars = notional(shares, price)?;
            if dollars < MIN_MARKETABLE_NOTIONAL {
                return Err(SignError::NotionalBelowMinimum {
                    notional: dollars,
                    min: MIN_MARKETABLE_NOTIONAL,
                });
            }
            Ok(amounts(shares, dollars))
        }
    }
}
