//! Bindings for `sign`: a CLOB V2 order signer and its signed orders. Amounts in micro-units,
//! hashes and signatures as `0x` hex. The private key is read once into the Rust signer; no
//! Python object keeps it and no message shows it.

use crate::sign::{
    self, Address, Amounts, Exchange, OrderSigner, OrderType, PrivateKey, Side, SignError, SignatureType,
    SignedOrder, Tick, TokenId, POLYGON_CHAIN_ID,
};
use pyo3::prelude::*;

pyo3::import_exception!(gabagool.errors, PrivateKeyError);
pyo3::import_exception!(gabagool.errors, AddressError);
pyo3::import_exception!(gabagool.errors, TokenIdError);
pyo3::import_exception!(gabagool.errors, OrderAmountError);
pyo3::import_exception!(gabagool.errors, SigningError);

fn sign_error(err: SignError) -> PyErr {
    let text = err.to_string();
    match err {
        SignError::PrivateKey { .. } => PrivateKeyError::new_err(text),
        SignError::Address { .. } => AddressError::new_err(text),
        SignError::TokenId { .. } => TokenIdError::new_err(text),
        SignError::Tick { .. }
        | SignError::PriceOffTick { .. }
        | SignError::PriceOutOfRange { .. }
        | SignError::SizeBelowMinimum { .. }
        | SignError::NotionalBelowMinimum { .. }
        | SignError::AmountOutOfRange { .. } => OrderAmountError::new_err(text),
        SignError::Salt { .. }
        | SignError::SignatureType { .. }
        | SignError::BadBytes32 { .. }
        | SignError::ApiSecret
        | SignError::OrderType { .. } => SigningError::new_err(text),
    }
}

fn side_arg(side: &str) -> PyResult<Side> {
    match side {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        other => Err(SigningError::new_err(format!("side {other:?} is not 'BUY' or 'SELL'"))),
    }
}

fn exchange_arg(neg_risk: bool) -> Exchange {
    if neg_risk {
        Exchange::NegRisk
    } else {
        Exchange::Ctf
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + 2 * bytes.len());
    out.push_str("0x");
    for byte in bytes {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// (maker, taker) micro-units of a resting order; OrderAmountError for what the exchange refuses.
#[pyfunction]
fn clob_limit_amounts(side: &str, price: i64, size: i64, tick: i64, min_size: i64) -> PyResult<(u64, u64)> {
    let tick = Tick::from_micros(tick).map_err(sign_error)?;
    let amounts = sign::limit_amounts(side_arg(side)?, price, size, tick, min_size).map_err(sign_error)?;
    Ok((amounts.maker, amounts.taker))
}

/// (maker, taker) micro-units of a marketable (FOK/FAK) order.
#[pyfunction]
fn clob_market_amounts(side: &str, price: i64, amount: i64, tick: i64) -> PyResult<(u64, u64)> {
    let tick = Tick::from_micros(tick).map_err(sign_error)?;
    let amounts = sign::market_amounts(side_arg(side)?, price, amount, tick).map_err(sign_error)?;
    Ok((amounts.maker, amounts.taker))
}

#[pyfunction]
fn clob_l2_signature(
    secret: &str,
    timestamp: &str,
    method: &str,
    path: &str,
    body: &str,
) -> PyResult<String> {
    sign::l2_signature(secret, timestamp, method, path, body).map_err(sign_error)
}

#[pyclass(name = "SignedClobOrder", module = "gabagool._core", frozen)]
pub struct PySignedOrder {
    inner: SignedOrder,
    neg_risk: bool,
}

#[pymethods]
impl PySignedOrder {
    #[getter]
    fn order_id(&self) -> String {
        hex(&self.inner.order_id)
    }

    #[getter]
    fn signature(&self) -> String {
        hex(&self.inner.signature)
    }

    #[getter]
    fn salt(&self) -> u64 {
        self.inner.order.salt
    }

    #[getter]
    fn maker(&self) -> String {
        self.inner.order.maker.to_string()
    }

    #[getter]
    fn signer(&self) -> String {
        self.inner.order.signer.to_string()
    }

    #[getter]
    fn token_id(&self) -> String {
        self.inner.order.token_id.as_str().to_string()
    }

    #[getter]
    fn maker_amount(&self) -> u64 {
        self.inner.order.maker_amount
    }

    #[getter]
    fn taker_amount(&self) -> u64 {
        self.inner.order.taker_amount
    }

    #[getter]
    fn side(&self) -> &'static str {
        self.inner.order.side.label()
    }

    #[getter]
    fn signature_type(&self) -> u8 {
        self.inner.order.signature_type.code()
    }

    #[getter]
    fn timestamp_ms(&self) -> u64 {
        self.inner.order.timestamp_ms
    }

    #[getter]
    fn expiration(&self) -> u64 {
        self.inner.order.expiration
    }

    #[getter]
    fn neg_risk(&self) -> bool {
        self.neg_risk
    }

    fn order_json(&self) -> String {
        sign::order_json(&self.inner)
    }

    #[pyo3(signature = (owner, order_type, post_only = false, defer_exec = false))]
    fn post_body(
        &self,
        owner: &str,
        order_type: &str,
        post_only: bool,
        defer_exec: bool,
    ) -> PyResult<String> {
        let order_type = OrderType::parse(order_type).map_err(sign_error)?;
        sign::post_body(&self.inner, owner, order_type, post_only, defer_exec).map_err(sign_error)
    }

    fn __repr__(&self) -> String {
        let order = &self.inner.order;
        format!(
            "SignedClobOrder(order_id={}, side={}, maker_amount={}, taker_amount={}, token_id={})",
            hex(&self.inner.order_id),
            order.side.label(),
            order.maker_amount,
            order.taker_amount,
            order.token_id.as_str()
        )
    }
}

#[pyclass(name = "ClobOrderSigner", module = "gabagool._core", frozen)]
pub struct PyOrderSigner {
    inner: OrderSigner,
}

impl PyOrderSigner {
    #[allow(clippy::too_many_arguments)]
    fn signed(
        &self,
        token_id: &str,
        side: &str,
        amounts: Amounts,
        neg_risk: bool,
        salt: u64,
        timestamp_ms: u64,
        expiration: u64,
    ) -> PyResult<PySignedOrder> {
        let token = TokenId::parse(token_id).map_err(sign_error)?;
        let inner = self
            .inner
            .sign(exchange_arg(neg_risk), &token, side_arg(side)?, amounts, salt, timestamp_ms, expiration)
            .map_err(sign_error)?;
        Ok(PySignedOrder { inner, neg_risk })
    }
}

#[pymethods]
impl PyOrderSigner {
    #[new]
    #[pyo3(signature = (private_key, funder = None, signature_type = 0))]
    fn new(private_key: &str, funder: Option<&str>, signature_type: u8) -> PyResult<Self> {
        let key = PrivateKey::from_hex(private_key).map_err(sign_error)?;
        let funder = funder.map(|text| Address::parse(text, "funder")).transpose().map_err(sign_error)?;
        let kind = SignatureType::from_code(signature_type).map_err(sign_error)?;
        let inner = OrderSigner::new(key, funder, kind, POLYGON_CHAIN_ID).map_err(sign_error)?;
        Ok(PyOrderSigner { inner })
    }

    #[getter]
    fn address(&self) -> String {
        self.inner.address().to_string()
    }

    #[getter]
    fn funder(&self) -> String {
        self.inner.funder().to_string()
    }

    #[getter]
    fn signature_type(&self) -> u8 {
        self.inner.signature_type().code()
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (token_id, side, price, size, tick, min_size, neg_risk, salt, timestamp_ms, expiration = 0))]
    fn sign_limit(
        &self,
        token_id: &str,
        side: &str,
        price: i64,
        size: i64,
        tick: i64,
        min_size: i64,
        neg_risk: bool,
        salt: u64,
        timestamp_ms: u64,
        expiration: u64,
    ) -> PyResult<PySignedOrder> {
        let tick = Tick::from_micros(tick).map_err(sign_error)?;
        let amounts =
            sign::limit_amounts(side_arg(side)?, price, size, tick, min_size).map_err(sign_error)?;
        self.signed(token_id, side, amounts, neg_risk, salt, timestamp_ms, expiration)
    }

    #[allow(clippy::too_many_arguments)]
    fn sign_market(
        &self,
        token_id: &str,
        side: &str,
        price: i64,
        amount: i64,
        tick: i64,
        neg_risk: bool,
        salt: u64,
        timestamp_ms: u64,
    ) -> PyResult<PySignedOrder> {
        let tick = Tick::from_micros(tick).map_err(sign_error)?;
        let amounts = sign::market_amounts(side_arg(side)?, price, amount, tick).map_err(sign_error)?;
        self.signed(token_id, side, amounts, neg_risk, salt, timestamp_ms, 0)
    }

    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (token_id, side, maker_amount, taker_amount, neg_risk, salt, timestamp_ms, expiration = 0))]
    fn sign_amounts(
        &self,
        token_id: &str,
        side: &str,
        maker_amount: u64,
        taker_amount: u64,
        neg_risk: bool,
        salt: u64,
        timestamp_ms: u64,
        expiration: u64,
    ) -> PyResult<PySignedOrder> {
        let amounts = Amounts { maker: maker_amount, taker: taker_amount };
        self.signed(token_id, side, amounts, neg_risk, salt, timestamp_ms, expiration)
    }

    #[pyo3(signature = (timestamp, nonce = 0))]
    fn clob_auth_signature(&self, timestamp: u64, nonce: u64) -> String {
        hex(&sign::clob_auth_signature(self.inner.key(), POLYGON_CHAIN_ID, timestamp, nonce))
    }

    fn __repr__(&self) -> String {
        format!(
            "ClobOrderSigner(address={}, funder={}, signature_type={})",
            self.inner.address(),
            self.inner.funder(),
            self.inner.signature_type().code()
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(clob_limit_amounts, m)?)?;
    m.add_function(wrap_pyfunction!(clob_market_amounts, m)?)?;
    m.add_function(wrap_pyfunction!(clob_l2_signature, m)?)?;
    m.add_class::<PyOrderSigner>()?;
    m.add_class::<PySignedOrder>()?;
    Ok(())
}
