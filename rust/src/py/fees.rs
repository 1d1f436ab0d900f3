//! Bindings for `fees`: a market's fee schedule and the exact fee of a fill.

use super::{price_arg, size_arg, ParamsError};
use crate::fees::{FeeError, FeeSchedule};
use pyo3::prelude::*;

pub(crate) fn fee_error(err: FeeError) -> PyErr {
    ParamsError::new_err(err.to_string())
}

#[pyclass(name = "FeeSchedule", module = "gabagool._core", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyFeeSchedule {
    pub(crate) inner: FeeSchedule,
}

#[pymethods]
impl PyFeeSchedule {
    #[new]
    #[pyo3(signature = (rate, exponent = 1, taker_only = true))]
    fn new(rate: i64, exponent: i64, taker_only: bool) -> PyResult<Self> {
        Ok(PyFeeSchedule { inner: FeeSchedule::new(rate, exponent, taker_only).map_err(fee_error)? })
    }

    #[staticmethod]
    #[pyo3(signature = (rate, exponent = 1, taker_only = true))]
    fn parse(rate: &str, exponent: i64, taker_only: bool) -> PyResult<Self> {
        Ok(PyFeeSchedule { inner: FeeSchedule::parse(rate, exponent, taker_only).map_err(fee_error)? })
    }

    #[getter]
    fn rate(&self) -> i64 {
        self.inner.rate()
    }

    #[getter]
    fn exponent(&self) -> u32 {
        self.inner.exponent()
    }

    #[getter]
    fn taker_only(&self) -> bool {
        self.inner.taker_only()
    }

    fn taker_fee(&self, price: i64, size: i64) -> PyResult<i64> {
        Ok(self.inner.taker_fee(price_arg(price)?, size_arg(size)?))
    }

    fn fee(&self, price: i64, size: i64, maker: bool) -> PyResult<i64> {
        Ok(self.inner.fee(price_arg(price)?, size_arg(size)?, maker))
    }

    fn __repr__(&self) -> String {
        format!(
            "FeeSchedule(rate={}, exponent={}, taker_only={})",
            self.inner.rate(),
            self.inner.exponent(),
            if self.inner.taker_only() { "True" } else { "False" }
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFeeSchedule>()?;
    Ok(())
}
