//! Shared test helpers.

pub mod function_process;
pub mod llm;
pub mod patch;
pub mod stub_http;
pub mod supacron;
