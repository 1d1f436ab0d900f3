//! gabagool's core: exact fixed-point books, the exchange's market frames, position and fee
//! math and the strategy scan, as plain Rust. The Python bindings live in `py/` behind the
//! `python` feature, so `cargo test` needs no interpreter.

pub mod book;
pub mod fair;
pub mod fees;
pub mod fixed;
pub mod market;
pub mod position;
pub mod replay;
pub mod scan;
pub mod sign;
pub mod simwire;
pub mod wire;

#[cfg(feature = "python")]
mod py;
