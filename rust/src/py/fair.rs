//! Bindings for `fair`: reference prices, the volatility estimate, the window's open and the
//! fair value of Up and Down.

use super::{ParamsError, ParseError};
use crate::fair::{self, FairError, OpenSource, RefPrice, Settlement, CERTAIN};
use pyo3::prelude::*;

fn fair_error(err: FairError) -> PyErr {
    match err {
        FairError::Price { .. } => ParseError::new_err(err.to_string()),
        FairError::Param { .. } => ParamsError::new_err(err.to_string()),
    }
}

fn ref_arg(attos: i128) -> PyResult<RefPrice> {
    RefPrice::from_attos(attos).map_err(fair_error)
}

fn settlement(ms_left: i64, twap_window_ms: i64, twap_fixed: Option<i128>) -> PyResult<Settlement> {
    let fixed = twap_fixed.map(ref_arg).transpose()?;
    Settlement::new(ms_left, twap_window_ms, fixed).map_err(fair_error)
}

/// `"64123.5"` -> 64123500000000000000000 atto-dollars, exactly (ParseError otherwise).
#[pyfunction]
fn parse_reference_price(text: &str) -> PyResult<i128> {
    RefPrice::parse(text).map(RefPrice::attos).map_err(fair_error)
}

/// 64123500000000000000000 -> `"64123.5"`: the shortest exact decimal of atto-dollars.
#[pyfunction]
fn format_reference_price(attos: i128) -> PyResult<String> {
    Ok(ref_arg(attos)?.to_string())
}

/// (up, down) in micro-dollars from the model alone.
#[pyfunction]
#[pyo3(signature = (spot, open, sigma_ppb, ms_left, twap_window_ms = 60_000, twap_fixed = None))]
fn fair_model(
    spot: i128,
    open: i128,
    sigma_ppb: i64,
    ms_left: i64,
    twap_window_ms: i64,
    twap_fixed: Option<i128>,
) -> PyResult<(i64, i64)> {
    let at = settlement(ms_left, twap_window_ms, twap_fixed)?;
    let up = fair::model_up(ref_arg(spot)?, ref_arg(open)?, sigma_ppb, &at).map_err(fair_error)?;
    Ok((up, CERTAIN - up))
}

/// (up, down) in micro-dollars: the book's mid moved by the reference's move since the book
/// last moved.
#[pyfunction]
#[pyo3(signature = (mid, spot_at_book, spot, open, sigma_ppb, ms_left, twap_window_ms = 60_000,
                    twap_fixed = None, book_ms_left = None, book_twap_fixed = None))]
#[allow(clippy::too_many_arguments)]
fn fair_anchored(
    mid: i64,
    spot_at_book: i128,
    spot: i128,
    open: i128,
    sigma_ppb: i64,
    ms_left: i64,
    twap_window_ms: i64,
    twap_fixed: Option<i128>,
    book_ms_left: Option<i64>,
    book_twap_fixed: Option<i128>,
) -> PyResult<(i64, i64)> {
    let at = settlement(ms_left, twap_window_ms, twap_fixed)?;
    let (book_spot, spot, open) = (ref_arg(spot_at_book)?, ref_arg(spot)?, ref_arg(open)?);
    let up = match book_ms_left {
        None => fair::anchored_up(mid, book_spot, spot, open, sigma_ppb, &at),
        Some(book_ms_left) => {
            let book = settlement(book_ms_left, twap_window_ms, book_twap_fixed)?;
            fair::anchored_up_since(mid, book_spot, &book, spot, open, sigma_ppb, &at)
        }
    }
    .map_err(fair_error)?;
    Ok((up, CERTAIN - up))
}

#[pyclass(name = "Volatility", module = "gabagool._core")]
#[derive(Clone)]
pub struct PyVolatility {
    inner: fair::Volatility,
}

#[pymethods]
impl PyVolatility {
    #[new]
    fn new(halflife_ms: i64, initial_ppb: i64, floor_ppb: i64, cap_ppb: i64) -> PyResult<Self> {
        let inner = fair::Volatility::new(halflife_ms, initial_ppb, floor_ppb, cap_ppb).map_err(fair_error)?;
        Ok(PyVolatility { inner })
    }

    fn update(&mut self, ts_ms: i64, price: i128) -> PyResult<bool> {
        Ok(self.inner.update(ts_ms, ref_arg(price)?))
    }

    #[getter]
    fn sigma_ppb(&self) -> i64 {
        self.inner.sigma_ppb()
    }

    #[getter]
    fn samples(&self) -> u64 {
        self.inner.samples()
    }

    fn __repr__(&self) -> String {
        format!("Volatility(sigma_ppb={}, samples={})", self.inner.sigma_ppb(), self.inner.samples())
    }
}

#[pyclass(name = "WindowOpen", module = "gabagool._core")]
#[derive(Clone)]
pub struct PyWindowOpen {
    inner: fair::WindowOpen,
}

#[pymethods]
impl PyWindowOpen {
    #[new]
    fn new(start_ms: i64) -> Self {
        PyWindowOpen { inner: fair::WindowOpen::new(start_ms) }
    }

    fn observe(&mut self, ts_ms: i64, price: i128) -> PyResult<bool> {
        Ok(self.inner.observe(ts_ms, ref_arg(price)?))
    }

    fn set_price_to_beat(&mut self, price: i128) -> PyResult<()> {
        self.inner.set_price_to_beat(ref_arg(price)?);
        Ok(())
    }

    #[getter]
    fn start_ms(&self) -> i64 {
        self.inner.start_ms()
    }

    #[getter]
    fn price(&self) -> Option<i128> {
        self.inner.price().map(RefPrice::attos)
    }

    #[getter]
    fn source(&self) -> Option<&'static str> {
        self.inner.source().map(|source| match source {
            OpenSource::PriceToBeat => "price_to_beat",
            OpenSource::Reference => "reference",
        })
    }

    fn __repr__(&self) -> String {
        match (self.inner.price(), self.source()) {
            (Some(price), Some(source)) => format!("WindowOpen(start_ms={}, price={price}, source={source})", self.inner.start_ms()),
            _ => format!("WindowOpen(start_ms={}, price=None)", self.inner.start_ms()),
        }
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_reference_price, m)?)?;
    m.add_function(wrap_pyfunction!(format_reference_price, m)?)?;
    m.add_function(wrap_pyfunction!(fair_model, m)?)?;
    m.add_function(wrap_pyfunction!(fair_anchored, m)?)?;
    m.add_class::<PyVolatility>()?;
    m.add_class::<PyWindowOpen>()?;
    Ok(())
}
