//! Shared test helpers.

pub mod function_process;
pub mod patch;
pub mod supacron;
