//! Bindings for `scan`: strategy parameters, intents, the accumulator, the equalizer and
//! risk. One call per scan crosses the boundary; only the intents come back as objects.

use super::fees::PyFeeSchedule;
use super::market::PyMarket;
use super::position::PyPosition;
use super::{price_arg, size_arg, ParamsError};
use crate::fixed::MICROS;
use crate::scan::{
    self, AccumulateFlags, EqualizeFlags, Held, Intent, Mode, OrderType, RiskMetrics, Rule, StrategyParams,
};
use pyo3::prelude::*;

#[pyclass(name = "StrategyParams", module = "gabagool._core", frozen)]
pub struct PyStrategyParams {
    inner: StrategyParams,
}

#[pymethods]
impl PyStrategyParams {
    #[new]
    #[pyo3(signature = (
        *, mode = "maker", target_pair_cost = 980_000, entry_max_price = 450_000,
        max_pair_cost = 1_000_000, trade_size = 10_000_000, min_order_size = 5_000_000,
        max_delta = 50_000_000, hedge_slippage = 20_000, liquidity_multiple = 3,
        open_cutoff_ms = 120_000, quote_cutoff_ms = 10_000, taker_cutoff_ms = 30_000,
        stop_loss_ppm = 20_000, fee_blind = false, unhedged_cap = 0, delta_per_pair_ppm = 0,
        skew_ticks_per_clip = 0, lag_bid_ticks = 1, mid_edge = None,
        excess_min_mid = 0, equalizer = true
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        mode: &str,
        target_pair_cost: i64,
        entry_max_price: i64,
        max_pair_cost: i64,
        trade_size: i64,
        min_order_size: i64,
        max_delta: i64,
        hedge_slippage: i64,
        liquidity_multiple: i64,
        open_cutoff_ms: i64,
        quote_cutoff_ms: i64,
        taker_cutoff_ms: i64,
        stop_loss_ppm: i64,
        fee_blind: bool,
        unhedged_cap: i64,
        delta_per_pair_ppm: i64,
        skew_ticks_per_clip: i64,
        lag_bid_ticks: i64,
        mid_edge: Option<i64>,
        excess_min_mid: i64,
        equalizer: bool,
    ) -> PyResult<Self> {
        let params_error = |e: scan::ParamsError| ParamsError::new_err(e.to_string());
        let inner = StrategyParams {
            mode: Mode::parse(mode).map_err(params_error)?,
            target_pair_cost,
            entry_max_price,
            max_pair_cost,
            trade_size,
            min_order_size,
            max_delta,
            hedge_slippage,
            liquidity_multiple,
            open_cutoff_ms,
            quote_cutoff_ms,
            taker_cutoff_ms,
            stop_loss_ppm,
            fee_blind,
            unhedged_cap,
            delta_per_pair_ppm,
            skew_ticks_per_clip,
            lag_bid_ticks,
            mid_edge,
            excess_min_mid,
            equalizer,
        };
        inner.validate().map_err(params_error)?;
        Ok(PyStrategyParams { inner })
    }

    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.mode.name()
    }
    #[getter]
    fn target_pair_cost(&self) -> i64 {
        self.inner.target_pair_cost
    }
    #[getter]
    fn entry_max_price(&self) -> i64 {
        self.inner.entry_max_price
    }
    #[getter]
    fn max_pair_cost(&self) -> i64 {
        self.inner.max_pair_cost
    }
    #[getter]
    fn trade_size(&self) -> i64 {
        self.inner.trade_size
    }
    #[getter]
    fn min_order_size(&self) -> i64 {
        self.inner.min_order_size
    }
    #[getter]
    fn max_delta(&self) -> i64 {
        self.inner.max_delta
    }
    #[getter]
    fn hedge_slippage(&self) -> i64 {
        self.inner.hedge_slippage
    }
    #[getter]
    fn liquidity_multiple(&self) -> i64 {
        self.inner.liquidity_multiple
    }
    #[getter]
    fn open_cutoff_ms(&self) -> i64 {
        self.inner.open_cutoff_ms
    }
    #[getter]
    fn quote_cutoff_ms(&self) -> i64 {
        self.inner.quote_cutoff_ms
    }
    #[getter]
    fn taker_cutoff_ms(&self) -> i64 {
        self.inner.taker_cutoff_ms
    }
    #[getter]
    fn stop_loss_ppm(&self) -> i64 {
        self.inner.stop_loss_ppm
    }
    #[getter]
    fn fee_blind(&self) -> bool {
        self.inner.fee_blind
    }
    #[getter]
    fn unhedged_cap(&self) -> i64 {
        self.inner.unhedged_cap
    }
    #[getter]
    fn delta_per_pair_ppm(&self) -> i64 {
        self.inner.delta_per_pair_ppm
    }
    #[getter]
    fn skew_ticks_per_clip(&self) -> i64 {
        self.inner.skew_ticks_per_clip
    }
    #[getter]
    fn lag_bid_ticks(&self) -> i64 {
        self.inner.lag_bid_ticks
    }
    #[getter]
    fn mid_edge(&self) -> Option<i64> {
        self.inner.mid_edge
    }
    #[getter]
    fn excess_min_mid(&self) -> i64 {
        self.inner.excess_min_mid
    }
    #[getter]
    fn equalizer(&self) -> bool {
        self.inner.equalizer
    }

    fn __repr__(&self) -> String {
        format!("StrategyParams({:?})", self.inner)
    }
}

#[pyclass(name = "Intent", module = "gabagool._core", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash)]
pub struct PyIntent {
    inner: Intent,
}

#[pymethods]
impl PyIntent {
    #[getter]
    fn outcome(&self) -> &'static str {
        self.inner.outcome.name()
    }
    #[getter]
    fn action(&self) -> &'static str {
        self.inner.action.name()
    }
    #[getter]
    fn price(&self) -> i64 {
        self.inner.price.micros()
    }
    #[getter]
    fn size(&self) -> i64 {
        self.inner.size.micros()
    }
    #[getter]
    fn order_type(&self) -> &'static str {
        self.inner.order_type.name()
    }
    #[getter]
    fn post_only(&self) -> bool {
        self.inner.post_only
    }
    #[getter]
    fn rule(&self) -> &'static str {
        self.inner.rule.name()
    }

    fn __repr__(&self) -> String {
        let i = &self.inner;
        format!(
            "Intent({} {} {} @ {} {}{} rule={})",
            i.action.name(),
            i.size,
            i.outcome,
            i.price,
            i.order_type.name(),
            if i.post_only { " post-only" } else { "" },
            i.rule.name()
        )
    }
}

fn intents(list: Vec<Intent>) -> Vec<PyIntent> {
    list.into_iter().map(|inner| PyIntent { inner }).collect()
}

#[pyclass(name = "RiskMetrics", module = "gabagool._core", frozen)]
pub struct PyRiskMetrics {
    inner: RiskMetrics,
}

#[pymethods]
impl PyRiskMetrics {
    #[getter]
    fn delta(&self) -> i64 {
        self.inner.delta
    }
    #[getter]
    fn unhedged(&self) -> i64 {
        self.inner.unhedged
    }
    #[getter]
    fn heavy(&self) -> Option<&'static str> {
        self.inner.heavy.map(|o| o.name())
    }
    #[getter]
    fn over_max_delta(&self) -> bool {
        self.inner.over_max_delta
    }
    #[getter]
    fn exit_liquidity_ok(&self) -> bool {
        self.inner.exit_liquidity_ok
    }
    #[getter]
    fn capital_deployed(&self) -> i128 {
        self.inner.capital_deployed
    }
    #[getter]
    fn unhedged_mark_loss(&self) -> i128 {
        self.inner.unhedged_mark_loss
    }
    #[getter]
    fn stop_loss_triggered(&self) -> bool {
        self.inner.stop_loss_triggered
    }
    #[getter]
    fn mark_pnl(&self) -> i128 {
        self.inner.mark_pnl
    }
    #[getter]
    fn worst_case_pnl(&self) -> i128 {
        self.inner.worst_case_pnl
    }
    #[getter]
    fn best_case_pnl(&self) -> i128 {
        self.inner.best_case_pnl
    }

    fn __repr__(&self) -> String {
        format!("RiskMetrics({:?})", self.inner)
    }
}

#[pyfunction]
#[pyo3(signature = (
    market, position, params, fees, ms_to_end, *, halted = false, feed_stale = false, capital_room = None,
    unhedged_room = None
))]
#[allow(clippy::too_many_arguments)]
fn accumulate(
    market: PyRef<'_, PyMarket>,
    position: PyRef<'_, PyPosition>,
    params: PyRef<'_, PyStrategyParams>,
    fees: PyRef<'_, PyFeeSchedule>,
    ms_to_end: i64,
    halted: bool,
    feed_stale: bool,
    capital_room: Option<i128>,
    unhedged_room: Option<i64>,
) -> Vec<PyIntent> {
    let flags = AccumulateFlags { halted, feed_stale, capital_room, unhedged_room };
    intents(scan::accumulate(&market.inner, &position.inner, &params.inner, &fees.inner, ms_to_end, flags))
}

#[pyfunction]
#[pyo3(signature = (market, position, params, fees, ms_to_end, *, fills_confirmed = true, urgent = false, halted = false))]
#[allow(clippy::too_many_arguments)]
fn equalize(
    market: PyRef<'_, PyMarket>,
    position: PyRef<'_, PyPosition>,
    params: PyRef<'_, PyStrategyParams>,
    fees: PyRef<'_, PyFeeSchedule>,
    ms_to_end: i64,
    fills_confirmed: bool,
    urgent: bool,
    halted: bool,
) -> Vec<PyIntent> {
    let flags = EqualizeFlags { fills_confirmed, urgent, halted };
    intents(scan::equalize(&market.inner, &position.inner, &params.inner, &fees.inner, ms_to_end, flags))
}

#[pyfunction]
fn risk_metrics(
    market: PyRef<'_, PyMarket>,
    position: PyRef<'_, PyPosition>,
    params: PyRef<'_, PyStrategyParams>,
) -> PyRiskMetrics {
    PyRiskMetrics { inner: scan::risk_metrics(&market.inner, &position.inner, &params.inner) }
}

#[pyfunction]
fn flatten(
    market: PyRef<'_, PyMarket>,
    position: PyRef<'_, PyPosition>,
    params: PyRef<'_, PyStrategyParams>,
    fees: PyRef<'_, PyFeeSchedule>,
) -> Vec<PyIntent> {
    intents(scan::flatten(&market.inner, &position.inner, &params.inner, &fees.inner))
}

/// `rule` by name; "" (an order no rule asked for) is `None`.
fn rule_arg(name: &str) -> PyResult<Option<Rule>> {
    if name.is_empty() {
        return Ok(None);
    }
    Rule::parse(name).map(Some).ok_or_else(|| ParamsError::new_err(format!("unknown rule {name:?}")))
}

#[pyfunction]
#[pyo3(signature = (rule, params, *, price, size, fee, qty_self, cost_self, qty_other, cost_other))]
#[allow(clippy::too_many_arguments)]
fn buy_within_rule(
    rule: &str,
    params: PyRef<'_, PyStrategyParams>,
    price: i64,
    size: i64,
    fee: i64,
    qty_self: i64,
    cost_self: i128,
    qty_other: i64,
    cost_other: i128,
) -> PyResult<bool> {
    let Some(rule) = rule_arg(rule)? else {
        return Ok(true); // no rule, no bound to keep
    };
    // Not validated as a price: the fill is already booked, and a strange one should read as
    // a breach (negative terms do), not raise.
    let paid = price as i128 * size as i128 + fee as i128 * MICROS as i128;
    let (own, other) = (Held { qty: qty_self, cost: cost_self }, Held { qty: qty_other, cost: cost_other });
    Ok(scan::buy_within_rule(rule, &params.inner, paid, size, own, other))
}

#[pyfunction]
fn worst_buy_cost(
    fees: PyRef<'_, PyFeeSchedule>,
    price: i64,
    size: i64,
    order_type: &str,
    post_only: bool,
) -> PyResult<i128> {
    let order_type = match order_type {
        "GTC" => OrderType::Gtc,
        // A fill-or-kill takes up to its limit like a FAK; only the unfilled rest differs.
        "FAK" | "FOK" => OrderType::Fak,
        other => return Err(ParamsError::new_err(format!("order type {other:?} is not 'GTC', 'FAK' or 'FOK'"))),
    };
    Ok(scan::worst_buy_cost(&fees.inner, price_arg(price)?, size_arg(size)?, order_type, post_only))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyStrategyParams>()?;
    m.add_class::<PyIntent>()?;
    m.add_class::<PyRiskMetrics>()?;
    m.add_function(wrap_pyfunction!(accumulate, m)?)?;
    m.add_function(wrap_pyfunction!(equalize, m)?)?;
    m.add_function(wrap_pyfunction!(risk_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(flatten, m)?)?;
    m.add_function(wrap_pyfunction!(buy_within_rule, m)?)?;
    m.add_function(wrap_pyfunction!(worst_buy_cost, m)?)?;
    Ok(())
}
