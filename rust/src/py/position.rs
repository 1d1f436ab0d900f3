//! Bindings for `position`: one window's fills in, exact averages and PnL bounds out.

use super::market::PyMarket;
use super::{outcome_arg, PositionError};
use crate::position::{Position, Ratio};
use pyo3::prelude::*;

fn fraction<'py>(py: Python<'py>, ratio: Ratio) -> PyResult<Bound<'py, PyAny>> {
    py.import("fractions")?.getattr("Fraction")?.call1((ratio.num, ratio.den))
}

#[pyclass(name = "Position", module = "gabagool._core")]
#[derive(Clone)]
pub struct PyPosition {
    pub(crate) inner: Position,
}

#[pymethods]
impl PyPosition {
    #[new]
    fn new() -> Self {
        PyPosition { inner: Position::new() }
    }

    fn buy(&mut self, outcome: &str, price: i64, size: i64, fee: i64) -> PyResult<()> {
        let outcome = outcome_arg(outcome)?;
        self.inner.buy(outcome, price, size, fee).map_err(|e| PositionError::new_err(e.to_string()))
    }

    fn sell(&mut self, outcome: &str, price: i64, size: i64, fee: i64) -> PyResult<()> {
        let outcome = outcome_arg(outcome)?;
        self.inner.sell(outcome, price, size, fee).map_err(|e| PositionError::new_err(e.to_string()))
    }

    #[getter]
    fn qty_up(&self) -> i64 {
        self.inner.qty(crate::market::Outcome::Up)
    }

    #[getter]
    fn qty_down(&self) -> i64 {
        self.inner.qty(crate::market::Outcome::Down)
    }

    #[getter]
    fn cost_up(&self) -> i128 {
        self.inner.cost(crate::market::Outcome::Up)
    }

    #[getter]
    fn cost_down(&self) -> i128 {
        self.inner.cost(crate::market::Outcome::Down)
    }

    #[getter]
    fn realized(&self) -> i128 {
        self.inner.realized()
    }

    #[getter]
    fn fees_paid(&self) -> i64 {
        self.inner.fees_paid()
    }

    #[getter]
    fn delta(&self) -> i64 {
        self.inner.delta()
    }

    #[getter]
    fn hedged(&self) -> i64 {
        self.inner.hedged()
    }

    fn avg<'py>(&self, py: Python<'py>, outcome: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.avg(outcome_arg(outcome)?).map(|r| fraction(py, r)).transpose()
    }

    #[getter]
    fn pair_cost<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.pair_cost().map(|r| fraction(py, r)).transpose()
    }

    /// `pair_cost` as (numerator, denominator) in lowest terms: for hot paths that only
    /// format it (a Python `Fraction` costs tens of microseconds to build and compare).
    #[getter]
    fn pair_cost_ratio(&self) -> Option<(i128, i128)> {
        self.inner.pair_cost().map(|r| (r.num, r.den))
    }

    #[getter]
    fn locked_profit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        fraction(py, self.inner.locked_profit())
    }

    #[getter]
    fn worst_case_pnl(&self) -> i128 {
        self.inner.worst_case_pnl()
    }

    #[getter]
    fn best_case_pnl(&self) -> i128 {
        self.inner.best_case_pnl()
    }

    fn mark_pnl(&self, market: PyRef<'_, PyMarket>) -> i128 {
        self.inner.mark_pnl(&market.inner)
    }

    fn copy(&self) -> Self {
        self.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Position(qty_up={}, qty_down={}, cost_up={}, cost_down={}, realized={})",
            self.qty_up(),
            self.qty_down(),
            self.cost_up(),
            self.cost_down(),
            self.realized()
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPosition>()?;
    Ok(())
}
