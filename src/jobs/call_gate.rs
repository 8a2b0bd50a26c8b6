//! What every paid LLM call of a run goes through ([`CallGate`]): before it, the run must
//! still hold its job's lease (renewed by [`CallGate::admit`]; issue #21: a run that had
//! outlived its lease paid again for work another run was doing); after it, what the
//! provider billed is counted, usable or not (a billed but unusable answer used to vanish
//! from `llm_calls` and the token sums). Once a renewal finds the lease taken, the run
//! starts no further paid call: its remaining items are left for later, and the answer
//! says why ([`Stop`]).

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::lease;
use crate::error::AppError;
use crate::invocation::RunContext;
use crate::llm::Usage;
use crate::supabase::Supabase;

/// Why a run stopped starting paid calls before its work was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    /// `lease_lost` (or, with the daily cap, `daily_token_budget`).
    pub by: &'static str,
    /// What happened and what to do, for the answer and the log.
    pub reason: String,
}

/// The paid calls of one run of an LLM job.
pub struct CallGate<'a> {
    /// The run.
    pub ctx: &'a RunContext,
    db: &'a Supabase,
    /// The run's time at its start (the job's `now`); the gate's clock moves from it with
    /// the run's elapsed time, so tests that set `now` move the lease's time too.
    started_at: DateTime<Utc>,
    usage: Mutex<Usage>,
    stop: Mutex<Option<Stop>>,
}

impl<'a> CallGate<'a> {
    /// The gate of the run `ctx`, which started at `started_at` and holds its job's lease.
    pub fn new(ctx: &'a RunContext, db: &'a Supabase, started_at: DateTime<Utc>) -> Self {
        CallGate {
            ctx,
            db,
            started_at,
            usage: Mutex::new(Usage::default()),
            stop: Mutex::new(None),
        }
    }

    /// The run's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.started_at + chrono::Duration::from_std(self.ctx.elapsed()).unwrap_or_default()
    }

    /// Whether the run may start one more paid call: it has not stopped, and its lease,
    /// renewed now, is still its own. `false` stops the run's paid calls for good.
    pub async fn admit(&self) -> Result<bool, AppError> {
        if self.stopped().is_some() {
            return Ok(false);
        }
        let renewal = lease::renew(self.db, self.ctx, self.now()).await?;
        if !renewal.held {
            let reason = renewal.lost_reason();
            tracing::warn!(reason = %reason, "{} run stops its paid calls", self.ctx.job);
            self.stop_with(Stop {
                by: "lease_lost",
                reason,
            });
            return Ok(false);
        }
        Ok(true)
    }

    /// Stops the run's paid calls (the first reason is kept).
    pub fn stop_with(&self, stop: Stop) {
        if let Ok(mut current) = self.stop.lock() {
            current.get_or_insert(stop);
        }
    }

    /// Why the run stopped its paid calls, if it did.
    pub fn stopped(&self) -> Option<Stop> {
        self.stop.lock().ok().and_then(|s| s.clone())
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
