//! Shared test helpers.

pub mod browser;
pub mod console;
pub mod front_door;
pub mod function_process;
pub mod llm;
pub mod patch;
pub mod stub_http;
pub mod supacron;
