//! What every paid LLM call of a run goes through ([`CallGate`]): the count of what the
//! provider billed, usable or not (issue #21: a billed but unusable answer used to vanish
//! from `llm_calls` and the token sums).

use std::sync::Mutex;

use crate::invocation::RunContext;
use crate::llm::Usage;

/// The paid calls of one run of an LLM job.
pub struct CallGate<'a> {
    /// The run.
    pub ctx: &'a RunContext,
    usage: Mutex<Usage>,
}

impl<'a> CallGate<'a> {
    /// The gate of the run `ctx`.
    pub fn new(ctx: &'a RunContext) -> Self {
        CallGate {
            ctx,
            usage: Mutex::new(Usage::default()),
        }
    }

    /// Counts what one call was billed (nothing for a call the provider did not bill).
    pub fn count(&self, billed: &Usage) {
        if let Ok(mut usage) = self.usage.lock() {
            usage.add_usage(billed);
        }
    }

    /// Everything billed so far.
    pub fn usage(&self) -> Usage {
        self.usage.lock().map(|u| *u).unwrap_or_default()
    }
}
