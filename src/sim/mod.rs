//! Synthetic regional penalty data with ground truth: `penex simulate`, benchmarks and tests.
//!
//! This commit holds the pure building blocks: a seeded generator ([`rng::Rng`]), amounts
//! written as on decisions ([`numerals`]) and the vocabulary of simulated records ([`data`]).
//! Pure and deterministic: no clock, no I/O, no OS randomness.

pub mod data;
pub mod numerals;
pub mod rng;

pub use numerals::capital_yuan;
