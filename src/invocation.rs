//! `RunContext`: one invocation of one job — its id, trigger, time budget and mode —
//! `RunSummary`, what a completed run reports back, and `RunFailure`, what a run that
//! could not complete reports (the error and the counts so far).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::AppError;
use crate::jobs::catalog::Job;
use crate::supabase::SupabaseError;

/// Who started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Vercel Cron, or a Vercel Schedules path target (user agent `vercel-cron/1.0`;
    /// spoofable, used only for reporting).
    VercelCron,
    /// A Vercel Schedules function target (a `ce-*` CloudEvent dispatch).
    VercelSchedule,
    /// A person or another system calling the URL.
    Manual,
    /// supacron's own scheduler.
    Scheduler,
}

impl Trigger {
    /// The name stored in `cron_runs.trigger` and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::VercelCron => "vercel_cron",
            Trigger::VercelSchedule => "vercel_schedule",
            Trigger::Manual => "manual",
            Trigger::Scheduler => "scheduler",
        }
    }

    /// Classifies a request by its user agent.
    pub fn from_user_agent(user_agent: Option<&str>) -> Trigger {
        match user_agent {
            Some(ua) if ua.starts_with("vercel-cron/") => Trigger::VercelCron,
            _ => Trigger::Manual,
        }
    }
}

/// One invocation of one job.
#[derive(Clone, Debug)]
pub struct RunContext {
    /// Unique id of this run: in every log line, the answer, and `cron_runs`.
    pub run_id: Uuid,
    /// The job being run.
    pub job: Job,
    /// Report what would be done and change nothing.
    pub dry_run: bool,
    /// Who started the run.
    pub trigger: Trigger,
    started: Instant,
    budget: Duration,
}

impl RunContext {
    /// Starts the clock of a run with the given time budget.
    pub fn new(run_id: Uuid, job: Job, trigger: Trigger, dry_run: bool, budget: Duration) -> Self {
        RunContext {
            run_id,
            job,
            dry_run,
            trigger,
            started: Instant::now(),
            budget,
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Time left in the budget (zero when spent).
    pub fn remaining(&self) -> Duration {
        self.budget.saturating_sub(self.elapsed())
    }

    /// The run's whole time budget.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The lease owner written on rows this run claims.
    pub fn lease_owner(&self) -> String {
        format!("{}:{}", self.job.name(), self.run_id)
    }
}

/// How a run ended, as recorded and answered.
///
/// A busy run's `cron_runs` row is `running` from `begin_cron_run` until `finish_cron_run`
/// writes one of these; an idle run's row is written `ok` at once by `begin_cron_run` (see
/// [`crate::function::record`]). A row left `running` 60 s past its deadline (`maxDuration`,
/// or the run's longer time budget) is set to `error` by the job's next run. The table's CHECK lists the same names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// All claimed work done.
    Ok,
    /// The run completed but some items failed or work was left for later.
    Partial,
    /// The run could not complete.
    Error,
    /// The run did nothing on purpose (another run holds the job's lease).
    Skipped,
    /// A second delivery of a schedule execution already recorded: the job did not run.
    Duplicate,
}

impl RunStatus {
    /// The name stored in `cron_runs.status` and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Error => "error",
            RunStatus::Skipped => "skipped",
            RunStatus::Duplicate => "duplicate",
        }
    }
}

/// What a run reports: its status and its job-specific counts.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// How the run ended.
    pub status: RunStatus,
    /// Job-specific counts, merged into the answer.
    pub counts: Map<String, Value>,
}

impl RunSummary {
    /// Builds a summary from a job's report struct (its fields become the counts).
    pub fn new(status: RunStatus, report: &impl Serialize) -> Self {
        let counts = match serde_json::to_value(report) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        RunSummary { status, counts }
    }
}

/// A run that could not complete: why, and the counts of the work it did before that
/// (recorded in `cron_runs` and answered, so an operator sees how far it got).
#[derive(Debug)]
pub struct RunFailure {
    /// What stopped the run.
    pub error: AppError,
    /// The counts so far (empty when the run failed before doing anything).
    pub counts: Map<String, Value>,
}

/// Counts that say a run changed something (committed, failed, refused, released work).
const WORK_COUNTS: &[&str] = &[
    "ok_count",
    "dead_count",
    "failed_count",
    "invalid",
    "ticks_fired",
    "ticks_skipped",
    "released",
    "skipped",
];

impl RunFailure {
    /// The answer's (and the run history's) message: the error's, and, when Supabase
    /// stopped answering, what this run had committed before — never "nothing was changed"
    /// when work was committed (issue #22: hundreds of jobs had been). A request that was in
    /// flight may have been applied too; every effect is idempotent, so the next run finishes
    /// the rest either way.
    pub fn public_message(&self) -> String {
        let message = self.error.public_message();
        let unavailable = matches!(&self.error, AppError::Supabase(e) if e.is_unavailable());
        if !unavailable {
            return message;
        }
        let committed: Vec<String> = WORK_COUNTS
            .iter()
            .filter_map(|name| {
                let n = self.counts.get(*name)?.as_i64()?;
                (n > 0).then(|| format!("{name}={n}"))
            })
            .collect();
        let before = if committed.is_empty() {
            "This run committed nothing before it".to_string()
        } else {
            format!(
                "Committed by this run before it (kept): {} (see counts)",
                committed.join(", ")
            )
        };
        format!(
            "{message}. {before}; a request in flight at that moment may also have been applied \
             (each item is applied at most once either way)"
        )
    }

    /// A failure after some work, described by the job's report struct.
    pub fn with_counts(error: impl Into<AppError>, report: &impl Serialize) -> Self {
        RunFailure {
            error: error.into(),
            counts: RunSummary::new(RunStatus::Error, report).counts,
        }
    }
}

impl From<AppError> for RunFailure {
    fn from(error: AppError) -> Self {
        RunFailure {
            error,
            counts: Map::new(),
        }
    }
}

impl From<SupabaseError> for RunFailure {
    fn from(error: SupabaseError) -> Self {
        AppError::from(error).into()
    }
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}
