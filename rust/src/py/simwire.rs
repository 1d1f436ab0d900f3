//! Bindings for `simwire`: the simulator's `price_change` frame text.

use crate::simwire::{self, Change, Side};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// `changes`: (side 0 bid / 1 ask, price in thousandths, new total in hundredths of a share).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn sim_price_change(
    up_token: &str,
    down_token: &str,
    condition_id: &str,
    up_bid: u32,
    up_ask: u32,
    changes: Vec<(u8, u32, u64)>,
    first_hash: u64,
    ts_ms: i64,
) -> PyResult<String> {
    let changes = changes
        .into_iter()
        .map(|(side, price, total)| {
            let side = match side {
                0 => Side::Bid,
                1 => Side::Ask,
                other => return Err(PyValueError::new_err(format!("side {other} is not 0 or 1"))),
            };
            Ok(Change { side, price, total })
        })
        .collect::<PyResult<Vec<_>>>()?;
    simwire::price_change(up_token, down_token, condition_id, up_bid, up_ask, &changes, first_hash, ts_ms)
        .map_err(|err| PyValueError::new_err(err.to_string()))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sim_price_change, m)?)?;
    Ok(())
}
