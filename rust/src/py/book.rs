//! Bindings for `fixed` (parsing, formatting) and `book` (one token's book).

use super::{book_error, book_side_arg, levels_arg, parse_error, price_arg, size_arg};
use crate::book::{Book, BookSide};
use crate::fixed::{self, Price, Size};
use pyo3::prelude::*;

/// `"0.52"` -> 520000 micro-dollars; raises ParseError unless 0 < price < 1, exactly.
#[pyfunction]
fn parse_price(text: &str) -> PyResult<i64> {
    Price::parse(text).map(Price::micros).map_err(parse_error)
}

/// `"12.5"` -> 12500000 micro-shares; raises ParseError unless a plain decimal, <= 6 places.
#[pyfunction]
fn parse_size(text: &str) -> PyResult<i64> {
    Size::parse(text).map(Size::micros).map_err(parse_error)
}

/// 520000 -> `"0.52"`: the shortest exact decimal of a millionths amount.
#[pyfunction]
fn format_micros(micros: i64) -> String {
    fixed::format_micros(micros)
}

pub(crate) type Level = (i64, i64);

pub(crate) fn best_level(book: &Book, side: BookSide) -> Option<Level> {
    book.best(side).map(|(price, size)| (price.micros(), size.micros()))
}

pub(crate) fn levels_of(book: &Book, side: BookSide) -> Vec<Level> {
    book.levels(side).map(|(price, size)| (price.micros(), size.micros())).collect()
}

/// (filled micro-shares, notional in pico-dollars, worst price or None)
pub(crate) type WalkResult = (i64, i128, Option<i64>);

pub(crate) fn walk_of(book: &Book, side: &str, size: i64, limit: Option<i64>) -> PyResult<WalkResult> {
    let limit = limit.map(price_arg).transpose()?;
    let walk = book.walk(book_side_arg(side)?, size_arg(size)?, limit);
    Ok((walk.filled.micros(), walk.notional.picos(), walk.worst_price.map(Price::micros)))
}

#[pyclass(name = "Book", module = "gabagool._core")]
pub struct PyBook {
    pub(crate) inner: Book,
}

#[pymethods]
impl PyBook {
    #[new]
    #[pyo3(signature = (tick = 10_000))]
    fn new(tick: i64) -> PyResult<Self> {
        Ok(PyBook { inner: Book::new(tick).map_err(book_error)? })
    }

    fn apply_snapshot(&mut self, bids: Vec<Level>, asks: Vec<Level>) -> PyResult<()> {
        let (bids, asks) = (levels_arg(bids)?, levels_arg(asks)?);
        self.inner.apply_snapshot(&bids, &asks).map_err(book_error)
    }

    fn set_level(&mut self, side: &str, price: i64, size: i64) -> PyResult<()> {
        self.inner.set_level(book_side_arg(side)?, price_arg(price)?, size_arg(size)?).map_err(book_error)
    }

    fn invalidate(&mut self) {
        self.inner.invalidate();
    }

    #[getter]
    fn best_bid(&self) -> Option<Level> {
        best_level(&self.inner, BookSide::Bid)
    }

    #[getter]
    fn best_ask(&self) -> Option<Level> {
        best_level(&self.inner, BookSide::Ask)
    }

    fn levels(&self, side: &str) -> PyResult<Vec<Level>> {
        Ok(levels_of(&self.inner, book_side_arg(side)?))
    }

    fn level_count(&self, side: &str) -> PyResult<u32> {
        Ok(self.inner.level_count(book_side_arg(side)?))
    }

    fn depth_within(&self, side: &str, bound: i64) -> PyResult<i64> {
        Ok(self.inner.depth_within(book_side_arg(side)?, price_arg(bound)?).micros())
    }

    #[pyo3(signature = (side, size, limit = None))]
    fn walk(&self, side: &str, size: i64, limit: Option<i64>) -> PyResult<WalkResult> {
        walk_of(&self.inner, side, size, limit)
    }

    #[getter]
    fn is_crossed(&self) -> bool {
        self.inner.is_crossed()
    }

    #[getter]
    fn tick(&self) -> i64 {
        self.inner.tick_micros()
    }

    #[setter]
    fn set_tick(&mut self, tick: i64) -> PyResult<()> {
        self.inner.set_tick(tick).map_err(book_error)
    }

    #[getter]
    fn epoch(&self) -> u64 {
        self.inner.epoch()
    }

    #[getter]
    fn has_snapshot(&self) -> bool {
        self.inner.has_snapshot()
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(parse_price, m)?)?;
    m.add_function(wrap_pyfunction!(parse_size, m)?)?;
    m.add_function(wrap_pyfunction!(format_micros, m)?)?;
    m.add_class::<PyBook>()?;
    Ok(())
}
