//! A job's function behind the front door: the run is opened in `cron_runs` ([`record`]);
//! when the job has nothing pending that same request records it as finished and the
//! answer follows at once (one request). Otherwise the job runs with a run id and a time
//! budget (`?dry_run=1` changes nothing), and its status, counts and error are recorded as
//! it ends. A second delivery of a schedule execution already recorded does not run: it
//! answers `duplicate` with the first run's id. Recording never changes the answer: a failure to record is handed back for the
//! request's one log line.

use std::time::Duration;

use uuid::Uuid;

use serde_json::{Map, json};

use super::record::{Begun, Recorder};
use super::request::ClockFacts;
use crate::config::{Config, JobConfig};
use crate::invocation::{RunContext, RunFailure, RunStatus, RunSummary, Trigger};
use crate::jobs::JobEntry;
use crate::supabase::Supabase;

/// How one admitted run went.
pub(super) struct Ran {
    /// What the job reported.
    pub result: Result<RunSummary, RunFailure>,
    /// Why the run could not be recorded in `cron_runs`, if so.
    pub record_error: Option<String>,
    /// A repeated delivery: the id of the run that took the execution (the answer's id).
    pub duplicate_of: Option<Uuid>,
}

/// Runs `entry`'s job once as `run_id` and records it with `facts`; `cap` shortens its time
/// budget.
#[allow(clippy::too_many_arguments)] // the one call site passes the request's parts
pub(super) async fn run(
    entry: JobEntry,
    config: &Config,
    job_config: &JobConfig,
    run_id: Uuid,
    trigger: Trigger,
    dry_run: bool,
    cap: Option<Duration>,
    facts: &ClockFacts,
) -> Ran {
    let job = entry.job;
    let budget = job_config.tunables.time_budget(job);
    let budget = cap.map_or(budget, |cap| cap.min(budget));
    let ctx = RunContext::new(run_id, job, trigger, dry_run, budget);
    let recorder = Recorder::new(Supabase::shared(&job_config.supabase), &ctx, config, facts);
    // The run's first request opens its record and, when the job has nothing pending, is
    // the whole run (see `record`). Dry runs always run: they answer counts.
    let idle = (!dry_run).then(|| (entry.idle)(job_config));
    let begun = recorder.begin(idle.as_ref()).await;
    if let Ok(Begun::Duplicate {
        first_run_id,
        first_status,
    }) = &begun
    {
        let mut counts = Map::new();
        counts.insert("first_status".into(), json!(first_status));
        counts.insert("execution_id".into(), json!(facts.execution_id));
        counts.insert("delivery_run_id".into(), json!(run_id));
        return Ran {
            result: Ok(RunSummary {
                status: RunStatus::Duplicate,
                counts,
            }),
            record_error: None,
            duplicate_of: Some(*first_run_id),
        };
    }
    if let (Ok(Begun::Idle), Some(idle)) = (&begun, idle) {
        return Ran {
            result: Ok(idle.summary),
            record_error: None,
            duplicate_of: None,
        };
    }
    let result = (entry.run)(&ctx, job_config).await;
    let record_error = match (begun, recorder.finish(&result).await) {
        (_, Err(finish)) => Some(finish),
        (Err(begin), Ok(())) => Some(format!("{begin} (the end was recorded)")),
        (Ok(_), Ok(())) => None,
    };
    Ran {
        result,
        record_error,
        duplicate_of: None,
    }
}
