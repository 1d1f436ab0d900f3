//! PyO3 bindings: thin wrappers that convert arguments, call the plain-Rust core and map its
//! errors onto the Python exceptions of `gabagool.errors`. No strategy logic lives here.

use pyo3::prelude::*;

mod book;
mod fair;
mod market;
mod fees;
mod position;
mod scan;
mod sign;
mod simwire;
mod wire;

pyo3::import_exception!(gabagool.errors, ParseError);
pyo3::import_exception!(gabagool.errors, BookError);
pyo3::import_exception!(gabagool.errors, FrameError);
pyo3::import_exception!(gabagool.errors, PositionError);
pyo3::import_exception!(gabagool.errors, ParamsError);

use crate::book::BookSide;
use crate::fixed::{FixedError, Price, Size};
use crate::market::Outcome;
use pyo3::exceptions::PyValueError;

pub(crate) fn parse_error(err: FixedError) -> PyErr {
    ParseError::new_err(err.to_string())
}

pub(crate) fn book_error(err: crate::book::BookError) -> PyErr {
    BookError::new_err(err.to_string())
}

pub(crate) fn price_arg(micros: i64) -> PyResult<Price> {
    Price::from_micros(micros).map_err(parse_error)
}

pub(crate) fn size_arg(micros: i64) -> PyResult<Size> {
    Size::from_micros(micros).map_err(parse_error)
}

pub(crate) fn book_side_arg(side: &str) -> PyResult<BookSide> {
    match side {
        "bid" => Ok(BookSide::Bid),
        "ask" => Ok(BookSide::Ask),
        other => Err(PyValueError::new_err(format!("book side {other:?} is not 'bid' or 'ask'"))),
    }
}

pub(crate) fn outcome_arg(outcome: &str) -> PyResult<Outcome> {
    match outcome {
        "up" => Ok(Outcome::Up),
        "down" => Ok(Outcome::Down),
        other => Err(PyValueError::new_err(format!("outcome {other:?} is not 'up' or 'down'"))),
    }
}

pub(crate) fn levels_arg(levels: Vec<(i64, i64)>) -> PyResult<Vec<(Price, Size)>> {
    levels.into_iter().map(|(price, size)| Ok((price_arg(price)?, size_arg(size)?))).collect()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    book::register(m)?;
    fair::register(m)?;
    market::register(m)?;
    fees::register(m)?;
    position::register(m)?;
    scan::register(m)?;
    sign::register(m)?;
    simwire::register(m)?;
    wire::register(m)?;
    Ok(())
}
