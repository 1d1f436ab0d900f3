//! Bindings for `wire` and `replay`: frame summaries, the market's feed calls, batch replay.

use super::{outcome_arg, FrameError};
use crate::market::{Market, Outcome};
use crate::replay::Replay;
use crate::wire::{Expect, FeedState, Problem, Summary};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};

type PyTrade = (&'static str, i64, i64, &'static str);
type PyQuote = (&'static str, Option<i64>, Option<i64>);

/// What one `Market.apply_frame` (or `end_batch`, `apply_rest_book`) call changed.
#[pyclass(name = "FrameSummary", module = "gabagool._core", frozen)]
pub struct PyFrameSummary {
    #[pyo3(get)]
    changed: u8,
    #[pyo3(get)]
    needs_resync: u8,
    #[pyo3(get)]
    resolved: Option<&'static str>,
    #[pyo3(get)]
    trades: Vec<PyTrade>,
    #[pyo3(get)]
    problems: Vec<String>,
    #[pyo3(get)]
    quotes: Vec<PyQuote>,
    #[pyo3(get)]
    new_markets: Vec<String>,
}

#[pymethods]
impl PyFrameSummary {
    fn __repr__(&self) -> String {
        format!(
            "FrameSummary(changed={}, needs_resync={}, resolved={:?}, trades={:?}, problems={:?}, quotes={:?}, new_markets={:?})",
            self.changed, self.needs_resync, self.resolved, self.trades, self.problems, self.quotes, self.new_markets
        )
    }
}

fn expect_micros(expect: Expect) -> Option<i64> {
    match expect {
        Expect::At(price) => Some(price.micros()),
        Expect::Empty | Expect::Unchecked => None,
    }
}

fn problem_code(outcome: Option<Outcome>, problem: Problem) -> String {
    format!("{}:{}", outcome.map_or("market", Outcome::name), problem.code())
}

/// Summaries that carry only the two bitmasks are shared, immutable instances: the
/// common frame then costs no Python allocation at all.
static PLAIN: PyOnceLock<Vec<Py<PyFrameSummary>>> = PyOnceLock::new();

fn plain(changed: u8, needs_resync: u8) -> PyFrameSummary {
    PyFrameSummary {
        changed,
        needs_resync,
        resolved: None,
        trades: Vec::new(),
        problems: Vec::new(),
        quotes: Vec::new(),
        new_markets: Vec::new(),
    }
}

pub(crate) fn summary_to_py(py: Python<'_>, summary: &Summary) -> PyResult<Py<PyFrameSummary>> {
    if summary.is_plain() {
        let cached = PLAIN.get_or_try_init(py, || {
            (0..16u8).map(|i| Py::new(py, plain(i & 3, i >> 2))).collect::<PyResult<Vec<_>>>()
        })?;
        return Ok(cached[usize::from(summary.changed & 3 | (summary.needs_resync & 3) << 2)].clone_ref(py));
    }
    let mut out = plain(summary.changed, summary.needs_resync);
    out.resolved = summary.resolved.map(Outcome::name);
    out.trades = summary
        .trades
        .iter()
        .map(|t| (t.outcome.name(), t.price.micros(), t.size.micros(), t.side.name()))
        .collect();
    out.problems = summary.problems.iter().map(|&(outcome, problem)| problem_code(outcome, problem)).collect();
    out.quotes =
        summary.quotes.iter().map(|&(o, bid, ask)| (o.name(), expect_micros(bid), expect_micros(ask))).collect();
    out.new_markets.clone_from(&summary.new_markets);
    Py::new(py, out)
}

/// Runs `f` on the bytes of a `bytes` or (UTF-8 encoded) `str` frame, without copying.
pub(crate) fn with_frame<T>(frame: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> T) -> PyResult<T> {
    if let Ok(bytes) = frame.cast::<PyBytes>() {
        return Ok(f(bytes.as_bytes()));
    }
    if let Ok(text) = frame.cast::<PyString>() {
        return Ok(f(text.to_str()?.as_bytes()));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "a frame is bytes or str, not {}",
        frame.get_type().name()?
    )))
}

pub(crate) fn apply_frame(py: Python<'_>, market: &mut Market, feed: &mut FeedState, frame: &Bound<'_, PyAny>) -> PyResult<Py<PyFrameSummary>> {
    match with_frame(frame, |bytes| feed.apply_frame(market, bytes).map(|_| ()))? {
        Ok(()) => summary_to_py(py, feed.summary()),
        Err(err) => Err(FrameError::new_err(err.to_string())),
    }
}

pub(crate) fn apply_rest_book(
    py: Python<'_>,
    market: &mut Market,
    feed: &mut FeedState,
    outcome: &str,
    body: &Bound<'_, PyAny>,
) -> PyResult<Py<PyFrameSummary>> {
    let outcome = outcome_arg(outcome)?;
    match with_frame(body, |bytes| feed.apply_rest_book(market, outcome, bytes).map(|_| ()))? {
        Ok(()) => summary_to_py(py, feed.summary()),
        Err(err) => Err(FrameError::new_err(err.to_string())),
    }
}

/// Counter names and values: market-wide, then per token as `up_*` / `down_*`.
pub(crate) fn counters<'py>(py: Python<'py>, feed: &FeedState) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let c = feed.counters();
    for (name, value) in [
        ("frames", c.frames),
        ("events", c.events),
        ("duplicates", c.duplicates),
        ("unknown_events", c.unknown_events),
        ("foreign_events", c.foreign_events),
        ("frame_errors", c.frame_errors),
        ("quotes", c.quotes),
        ("new_markets", c.new_markets),
        ("resolutions", c.resolutions),
        ("missing_asset", c.missing_asset),
        ("stale_rest_books", c.stale_rest_books),
    ] {
        dict.set_item(name, value)?;
    }
    for outcome in Outcome::BOTH {
        let t = feed.token_counters(outcome);
        let prefix = outcome.name();
        for (name, value) in [
            ("events", t.events),
            ("snapshots", t.snapshots),
            ("trades", t.trades),
            ("resyncs", t.resyncs),
            ("tick_changes", t.tick_changes),
            ("ignored_deltas", t.ignored_deltas),
            ("buffered_deltas", t.buffered_deltas),
            ("problems", t.problem_total()),
        ] {
            dict.set_item(format!("{prefix}_{name}"), value)?;
        }
        for problem in Problem::ALL {
            if problem != Problem::MissingAsset {
                dict.set_item(format!("{prefix}_{}", problem.code()), t.problems[problem.index()])?;
            }
        }
    }
    Ok(dict)
}

pub(crate) fn needs_resync(feed: &FeedState) -> u8 {
    Outcome::BOTH.into_iter().filter(|&o| feed.needs_resync(o)).map(|o| 1 << o.index()).sum()
}

/// Several markets fed from one recorded stream; each frame is parsed once and routed to
/// the market(s) whose tokens it names.
#[pyclass(name = "Replay", module = "gabagool._core")]
pub struct PyReplay {
    inner: Replay,
}

#[pymethods]
impl PyReplay {
    #[new]
    fn new(markets: Vec<(String, String, i64)>) -> PyResult<Self> {
        let specs: Vec<(&str, &str, i64)> = markets.iter().map(|(up, down, tick)| (up.as_str(), down.as_str(), *tick)).collect();
        Ok(PyReplay { inner: Replay::new(&specs).map_err(super::book_error)? })
    }

    /// Applies one frame; False (and counted) when it is not readable.
    fn apply(&mut self, frame: &Bound<'_, PyAny>) -> PyResult<bool> {
        with_frame(frame, |bytes| self.inner.apply(bytes).is_ok())
    }

    /// Applies frames in order; returns how many were not readable.
    fn apply_many(&mut self, frames: Vec<Bound<'_, PyAny>>) -> PyResult<u64> {
        let mut errors = 0;
        for frame in &frames {
            if !with_frame(frame, |bytes| self.inner.apply(bytes).is_ok())? {
                errors += 1;
            }
        }
        Ok(errors)
    }

    /// Ends the stream: the last burst of every market is checked.
    fn finish(&mut self) {
        self.inner.finish();
    }

    #[getter]
    fn frames(&self) -> u64 {
        self.inner.frames()
    }

    #[getter]
    fn frame_errors(&self) -> u64 {
        self.inner.frame_errors()
    }

    #[getter]
    fn unrouted(&self) -> u64 {
        self.inner.unrouted()
    }

    /// Per market, per token: final top of book, level counts and counters.
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let mut out = Vec::new();
        for (market, feed) in self.inner.markets().iter().zip(self.inner.feeds()) {
            for outcome in Outcome::BOTH {
                let book = market.book(outcome);
                let t = feed.token_counters(outcome);
                let row = PyDict::new(py);
                row.set_item("token", market.token(outcome))?;
                row.set_item("outcome", outcome.name())?;
                row.set_item("best_bid", book.best_bid().map(|p| p.micros()))?;
                row.set_item("best_ask", book.best_ask().map(|p| p.micros()))?;
                row.set_item("bid_levels", book.level_count(crate::book::BookSide::Bid))?;
                row.set_item("ask_levels", book.level_count(crate::book::BookSide::Ask))?;
                row.set_item("frames", t.events)?;
                row.set_item("trades", t.trades)?;
                row.set_item("resyncs", t.resyncs)?;
                row.set_item("errors", t.problem_total())?;
                row.set_item("needs_resync", feed.needs_resync(outcome))?;
                row.set_item("duplicates", feed.counters().duplicates)?;
                out.push(row);
            }
        }
        Ok(out)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFrameSummary>()?;
    m.add_class::<PyReplay>()?;
    Ok(())
}
