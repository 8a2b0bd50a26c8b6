//! The run history: every invocation that gets past the method, credential and
//! configuration checks leaves exactly one `cron_runs` row (SQL:
//! `supabase/schemas/20_run_history.sql`).
//!
//! [`Recorder::begin`] opens the run (`begin_cron_run`): it keeps `cron_schedules` current
//! (runs started by a clock only), marks the job's unfinished runs 60 s past their deadline
//! (`maxDuration`, or a longer time budget) as `error`, and counts the job's
//! pending work. When there is none (most cron ticks), that same request records the run as
//! finished with the job's idle answer ([`crate::jobs::IdleCheck`]), and the job's code does
//! not run: an idle tick costs one request. Otherwise the run's row is `running` from its
//! first moment, so a run killed by Vercel at `maxDuration` still leaves a trace, and
//! [`Recorder::finish`] writes its status, counts and error as it ends (`finish_cron_run`,
//! which also prunes the job's runs older than the retention; an idle run prunes too).
//! Dry runs skip the idle check: they always run, to answer their counts.
//!
//! Every row carries what the clock said ([`ClockFacts`]: schedule name, execution id,
//! scheduled time) and `cron_schedules` gets the job's configured clock (expression, time
//! zone, jitter, name: [`crate::schedules`]). A second delivery of an execution id already
//! recorded for the job ([`Begun::Duplicate`]) is recorded as `duplicate` and the job does not
//! run; a unique index makes that hold for deliveries at the same moment too.
//!
//! Refused requests (405, 401, 500 configuration) are not runs and write nothing: an
//! unauthenticated caller must not be able to fill the table. Recording never changes
//! the answer: a failed write is reported in the invocation's one log line
//! (`record_error`) and the run goes on (a failed `begin` runs the job as usual).

use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::request::ClockFacts;
use crate::config::Config;
use crate::invocation::{RunContext, RunFailure, RunStatus, RunSummary, Trigger};
use crate::jobs::IdleCheck;
use crate::supabase::Supabase;

/// Longest error summary stored (characters).
const MAX_ERROR_CHARS: usize = 1000;

/// Records one run in `cron_runs`.
pub struct Recorder<'a> {
    db: &'a Supabase,
    ctx: &'a RunContext,
    deployment_id: Option<&'a str>,
    keep_days: u64,
    facts: &'a ClockFacts,
}

impl<'a> Recorder<'a> {
    /// A recorder for the run `ctx`, writing through `db`.
    pub fn new(
        db: &'a Supabase,
        ctx: &'a RunContext,
        config: &'a Config,
        facts: &'a ClockFacts,
    ) -> Self {
        Recorder {
            db,
            ctx,
            deployment_id: config.deployment_id(),
            keep_days: config.tunables.run_retention_days,
            facts,
        }
    }

    /// The arguments every write takes: the job's clock and what the clock said.
    fn clock_args(&self) -> Map<String, Value> {
        let job = self.ctx.job;
        // Only a clock's run says what the schedule is: a manual one (curl, `supacron run`,
        // the console's run-now, `supacron serve`) leaves `cron_schedules` as the clock that
        // runs the job last wrote it (the in-process scheduler's file may differ from the
        // built-in copy).
        let clock = match self.ctx.trigger {
            Trigger::Manual => None,
            _ => self.facts.schedule.as_ref().or(job.clock()),
        };
        let args = json!({
            "p_schedule": clock.map(|c| c.expression.as_str()),
            "p_timezone": clock.map(|c| c.timezone.as_str()),
            "p_jitter_minutes": clock.map(|c| c.jitter_minutes),
            "p_clock_name": clock.and_then(|c| c.name.as_deref()),
            "p_path": job.path(),
            "p_max_duration_secs": job.max_duration_secs(),
            "p_schedule_name": self.facts.schedule_name,
            "p_execution_id": self.facts.execution_id,
            "p_scheduled_at": self.facts.scheduled_at,
        });
        match args {
            Value::Object(map) => map,
            _ => unreachable!("an object literal"),
        }
    }

    /// Opens the run: records it as finished when `idle` is given and the job has nothing
    /// pending ([`Begun::Idle`]: answer `idle.summary`, the run is recorded), otherwise as
    /// `running`. A failure is described, for the invocation's log line; the run goes on.
    pub async fn begin(&self, idle: Option<&IdleCheck>) -> Result<Begun, String> {
        #[derive(Deserialize)]
        struct Opened {
            idle: bool,
            #[serde(default)]
            duplicate: bool,
            first_run_id: Option<Uuid>,
            first_status: Option<String>,
        }
        let job = self.ctx.job;
        let mut args = self.clock_args();
        args.extend(
            [
                ("p_run_id", json!(self.ctx.run_id)),
                ("p_job", json!(job.name())),
                ("p_trigger", json!(self.ctx.trigger.as_str())),
                ("p_dry_run", json!(self.ctx.dry_run)),
                ("p_deployment_id", json!(self.deployment_id)),
                (
                    "p_idle",
                    json!(
                        idle.map(
                            |idle| json!({ "work": idle.work, "counts": idle.summary.counts })
                        )
                    ),
                ),
                ("p_duration_ms", json!(self.elapsed_ms())),
                ("p_keep_days", json!(self.keep_days)),
                // Sets the run's deadline: a budget longer than maxDuration (`supacron serve`,
                // `supacron run`) must not make a working run look killed.
                (
                    "p_budget_secs",
                    json!(self.ctx.budget().as_secs().min(i32::MAX as u64)),
                ),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        match self
            .db
            .rpc::<Opened>("begin_cron_run", &Value::Object(args))
            .await
        {
            Ok(Opened {
                duplicate: true,
                first_run_id: Some(first_run_id),
                first_status,
                ..
            }) => Ok(Begun::Duplicate {
                first_run_id,
                first_status: first_status.unwrap_or_default(),
            }),
            Ok(Opened { idle: true, .. }) => Ok(Begun::Idle),
            Ok(Opened { .. }) => Ok(Begun::Running),
            Err(e) => Err(format!("could not record the start in cron_runs: {e}")),
        }
    }

    fn elapsed_ms(&self) -> i64 {
        self.ctx.elapsed().as_millis().min(i32::MAX as u128) as i64
    }

    /// Writes how the run ended (the whole row if the start was not recorded). A failure
    /// is described, for the invocation's log line.
    pub async fn finish(&self, result: &Result<RunSummary, RunFailure>) -> Result<(), String> {
        let (status, counts, error): (RunStatus, &Map<String, Value>, Option<String>) = match result
        {
            Ok(summary) => (summary.status, &summary.counts, None),
            Err(failure) => (
                RunStatus::Error,
                &failure.counts,
                Some(error_summary(failure)),
            ),
        };
        let mut args = self.clock_args();
        args.extend(
            [
                ("p_run_id", json!(self.ctx.run_id)),
                ("p_job", json!(self.ctx.job.name())),
                ("p_trigger", json!(self.ctx.trigger.as_str())),
                ("p_status", json!(status.as_str())),
                ("p_duration_ms", json!(self.elapsed_ms())),
                ("p_counts", json!(counts)),
                ("p_error", json!(error)),
                ("p_dry_run", json!(self.ctx.dry_run)),
                ("p_deployment_id", json!(self.deployment_id)),
                ("p_keep_days", json!(self.keep_days)),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        match self
            .db
            .rpc::<Value>("finish_cron_run", &Value::Object(args))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(format!(
                "could not record this {} run in cron_runs: {e}",
                status.as_str()
            )),
        }
    }
}

/// How [`Recorder::begin`] opened a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Begun {
    /// The job had nothing pending: the run is recorded as finished with its idle answer.
    Idle,
    /// The execution id was already recorded: this delivery is recorded as `duplicate`.
    Duplicate {
        /// The run that took the execution.
        first_run_id: Uuid,
        /// Its status when this delivery arrived.
        first_status: String,
    },
    /// The run is recorded as `running`; the job runs and [`Recorder::finish`] ends it.
    Running,
}

/// The stored error: the answer's public message (what failed and what to do; never
/// secrets or row data), prefixed with its code and cut to [`MAX_ERROR_CHARS`].
fn error_summary(failure: &RunFailure) -> String {
    let text = format!("{}: {}", failure.error.code(), failure.public_message());
    let text = crate::redact::redact(&text);
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn error_summaries_carry_the_code_and_are_bounded() {
        let short = RunFailure::from(AppError::Internal("boom".into()));
        assert_eq!(
            error_summary(&short),
            "internal: internal error; see the function log for this run id"
        );
        let long = RunFailure::from(AppError::BadRequest("x".repeat(5000)));
        assert_eq!(error_summary(&long).chars().count(), MAX_ERROR_CHARS + 1);
    }
}
