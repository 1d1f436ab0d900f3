//! Bindings for `market`: both books of a window, addressed by outcome ("up" / "down").

use super::book::{best_level, levels_of, walk_of, Level, WalkResult};
use super::{book_error, book_side_arg, levels_arg, outcome_arg, price_arg, size_arg};
use crate::book::BookSide;
use super::wire::{self, PyFrameSummary};
use crate::market::Market;
use crate::wire::FeedState;
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[pyclass(name = "Market", module = "gabagool._core")]
pub struct PyMarket {
    pub(crate) inner: Market,
    /// The market channel's state for these books (sync flags, bursts, duplicates).
    pub(crate) feed: FeedState,
}

#[pymethods]
impl PyMarket {
    #[new]
    #[pyo3(signature = (up_token, down_token, tick = 10_000))]
    fn new(up_token: &str, down_token: &str, tick: i64) -> PyResult<Self> {
        Ok(PyMarket { inner: Market::new(up_token, down_token, tick).map_err(book_error)?, feed: FeedState::new() })
    }

    /// Parses one market-channel frame (bytes or str) and applies it to both books.
    fn apply_frame(&mut self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> PyResult<Py<PyFrameSummary>> {
        wire::apply_frame(py, &mut self.inner, &mut self.feed, frame)
    }

    /// Ends the received batch: the burst in progress is checked against the books.
    fn end_batch(&mut self, py: Python<'_>) -> PyResult<Py<PyFrameSummary>> {
        let summary = self.feed.end_batch(&mut self.inner);
        wire::summary_to_py(py, summary)
    }

    /// Starts a REST resync of one token: its book empties and its updates are buffered.
    fn begin_resync(&mut self, outcome: &str) -> PyResult<()> {
        self.feed.begin_resync(&mut self.inner, outcome_arg(outcome)?);
        Ok(())
    }

    /// Replaces a token's book with a `GET /book` body and replays newer buffered updates.
    fn apply_rest_book(&mut self, py: Python<'_>, outcome: &str, body: &Bound<'_, PyAny>) -> PyResult<Py<PyFrameSummary>> {
        wire::apply_rest_book(py, &mut self.inner, &mut self.feed, outcome, body)
    }

    /// Bit 0 Up, bit 1 Down: books not trusted until a snapshot.
    fn needs_resync(&self) -> u8 {
        wire::needs_resync(&self.feed)
    }

    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        wire::counters(py, &self.feed)
    }

    fn token(&self, outcome: &str) -> PyResult<String> {
        Ok(self.inner.token(outcome_arg(outcome)?).to_owned())
    }

    fn apply_snapshot(&mut self, outcome: &str, bids: Vec<Level>, asks: Vec<Level>) -> PyResult<()> {
        let (bids, asks) = (levels_arg(bids)?, levels_arg(asks)?);
        self.inner.book_mut(outcome_arg(outcome)?).apply_snapshot(&bids, &asks).map_err(book_error)
    }

    fn set_level(&mut self, outcome: &str, side: &str, price: i64, size: i64) -> PyResult<()> {
        let book = self.inner.book_mut(outcome_arg(outcome)?);
        book.set_level(book_side_arg(side)?, price_arg(price)?, size_arg(size)?).map_err(book_error)
    }

    fn best_bid(&self, outcome: &str) -> PyResult<Option<Level>> {
        Ok(best_level(self.inner.book(outcome_arg(outcome)?), BookSide::Bid))
    }

    fn best_ask(&self, outcome: &str) -> PyResult<Option<Level>> {
        Ok(best_level(self.inner.book(outcome_arg(outcome)?), BookSide::Ask))
    }

    fn levels(&self, outcome: &str, side: &str) -> PyResult<Vec<Level>> {
        Ok(levels_of(self.inner.book(outcome_arg(outcome)?), book_side_arg(side)?))
    }

    fn depth_within(&self, outcome: &str, side: &str, bound: i64) -> PyResult<i64> {
        let book = self.inner.book(outcome_arg(outcome)?);
        Ok(book.depth_within(book_side_arg(side)?, price_arg(bound)?).micros())
    }

    #[pyo3(signature = (outcome, side, size, limit = None))]
    fn walk(&self, outcome: &str, side: &str, size: i64, limit: Option<i64>) -> PyResult<WalkResult> {
        walk_of(self.inner.book(outcome_arg(outcome)?), side, size, limit)
    }

    fn is_crossed(&self, outcome: &str) -> PyResult<bool> {
        Ok(self.inner.book(outcome_arg(outcome)?).is_crossed())
    }

    fn tick(&self, outcome: &str) -> PyResult<i64> {
        Ok(self.inner.book(outcome_arg(outcome)?).tick_micros())
    }

    fn epoch(&self, outcome: &str) -> PyResult<u64> {
        Ok(self.inner.book(outcome_arg(outcome)?).epoch())
    }

    fn has_snapshot(&self, outcome: &str) -> PyResult<bool> {
        Ok(self.inner.book(outcome_arg(outcome)?).has_snapshot())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMarket>()?;
    Ok(())
}
