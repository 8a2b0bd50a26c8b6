//! What every paid LLM call of a run goes through ([`CallGate`]): before it, the run must
//! still hold its job's lease (renewed by [`CallGate::admit`]; issue #21: a run that had
//! outlived its lease paid again for work another run was doing) and, with a daily token
//! budget (`LLM_DAILY_TOKEN_BUDGET`), reserve the call's worst case in the database
//! (`reserve_llm_tokens`); after it, what the provider billed is counted, usable or not, and
//! the reservation is settled with it ([`CallGate::settle`]). Once the lease is found taken
//! the run starts no further paid call; an item the day's budget has no room for is left
//! (a later item may still fit once calls in flight settle below their reservation). Either
//! way the items are left for later, and the answer says why ([`Stop`]).

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::lease;
use crate::error::AppError;
use crate::invocation::RunContext;
use crate::llm::Usage;
use crate::supabase::Supabase;

/// Why a run left items it could otherwise have paid for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stop {
    /// `lease_lost` or `daily_token_budget`.
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
    daily_cap: Option<u64>,
    usage: Mutex<Usage>,
    /// The lease was lost: no further paid call.
    stop: Mutex<Option<Stop>>,
    /// Why an item was first left (the daily budget had no room), if one was.
    held_back: Mutex<Option<Stop>>,
}

impl<'a> CallGate<'a> {
    /// The gate of the run `ctx`, which started at `started_at` and holds its job's lease,
    /// with the job's daily token budget, if any.
    pub fn new(
        ctx: &'a RunContext,
        db: &'a Supabase,
        started_at: DateTime<Utc>,
        daily_cap: Option<u64>,
    ) -> Self {
        CallGate {
            ctx,
            db,
            started_at,
            daily_cap,
            usage: Mutex::new(Usage::default()),
            stop: Mutex::new(None),
            held_back: Mutex::new(None),
        }
    }

    /// The run's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.started_at + chrono::Duration::from_std(self.ctx.elapsed()).unwrap_or_default()
    }

    /// Whether the run may start one more paid call, whose worst case is `tokens`: it has
    /// not stopped, its lease (renewed now) is still its own, and the day's token budget has
    /// room for `tokens` (reserved now). `None`: leave the item (after a lost lease, every
    /// item from now on).
    pub async fn admit(&self, tokens: u64) -> Result<Option<Admission>, AppError> {
        if self.stop.lock().map(|s| s.is_some()).unwrap_or(true) {
            return Ok(None);
        }
        let renewal = lease::renew(self.db, self.ctx, self.now()).await?;
        if !renewal.held {
            let reason = renewal.lost_reason();
            self.stop_with(Stop {
                by: "lease_lost",
                reason,
            });
            return Ok(None);
        }
        let Some(cap) = self.daily_cap else {
            return Ok(Some(Admission { reserved: None }));
        };
        let reservation: Reservation = self
            .db
            .rpc(
                "reserve_llm_tokens",
                &json!({
                    "p_job": self.ctx.job.name(),
                    "p_tokens": tokens,
                    "p_cap": cap,
                    // No call of this run can settle later than its lease (budget + margin).
                    "p_hold_seconds": lease::lease_seconds(self.ctx).min(i32::MAX as u64),
                }),
            )
            .await?;
        if !reservation.reserved {
            self.hold_back(Stop {
                by: "daily_token_budget",
                reason: format!(
                    "the {} job's daily token budget is spent: {} of LLM_DAILY_TOKEN_BUDGET={cap} tokens are used or \
                     reserved today ({} UTC), and a call may take {tokens}; the rest waits for tomorrow \
                     (or raise LLM_DAILY_TOKEN_BUDGET)",
                    self.ctx.job,
                    reservation.used.unwrap_or(0),
                    reservation.day
                ),
            });
            return Ok(None);
        }
        Ok(Some(Admission {
            reserved: Some((reservation.day, tokens)),
        }))
    }

    /// Counts what an admitted call was billed, and settles its reservation with it.
    pub async fn settle(&self, admission: Admission, billed: &Usage) -> Result<(), AppError> {
        self.count(billed);
        let Some((day, reserved)) = admission.reserved else {
            return Ok(());
        };
        let _: serde_json::Value = self
            .db
            .rpc(
                "settle_llm_tokens",
                &json!({
                    "p_job": self.ctx.job.name(),
                    "p_day": day,
                    "p_reserved": reserved,
                    "p_tokens": billed.tokens(),
                    "p_calls": billed.llm_calls,
                    "p_unusable": billed.unusable_calls,
                }),
            )
            .await?;
        Ok(())
    }

    /// Stops the run's paid calls (the first reason is kept).
    pub fn stop_with(&self, stop: Stop) {
        if let Ok(mut current) = self.stop.lock()
            && current.is_none()
        {
            tracing::warn!(stopped_by = stop.by, reason = %stop.reason, "{} run stops its paid calls", self.ctx.job);
            *current = Some(stop);
        }
    }

    /// Notes why an item was left (the first reason is kept); later items may still go.
    fn hold_back(&self, reason: Stop) {
        if let Ok(mut current) = self.held_back.lock()
            && current.is_none()
        {
            tracing::warn!(stopped_by = reason.by, reason = %reason.reason, "{} run leaves work for later", self.ctx.job);
            *current = Some(reason);
        }
    }

    /// Why the run left items it could otherwise have paid for: its lost lease, else the
    /// daily budget, if either happened.
    pub fn stopped(&self) -> Option<Stop> {
        let stop = self.stop.lock().ok().and_then(|s| s.clone());
        stop.or_else(|| self.held_back.lock().ok().and_then(|s| s.clone()))
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

/// A paid call the gate let through: its reservation of the day's budget, if any.
#[must_use = "settle the call with what it was billed"]
pub struct Admission {
    reserved: Option<(NaiveDate, u64)>,
}

/// The answer of `reserve_llm_tokens`.
#[derive(Deserialize)]
struct Reservation {
    reserved: bool,
    day: NaiveDate,
    used: Option<i64>,
}

/// The worst case of one call, reserved against the daily budget: all of `max_tokens`, plus
/// the prompt at one token per two characters and 16 per message (chat formatting). Prompts
/// tokenised more densely than that can make a call cost more than it reserved.
pub fn worst_case_tokens(messages: &[crate::llm::ChatMessage], max_tokens: u64) -> u64 {
    let chars: usize = messages.iter().map(|m| m.content.chars().count()).sum();
    max_tokens + (chars as u64).div_ceil(2) + 16 * messages.len() as u64
}
