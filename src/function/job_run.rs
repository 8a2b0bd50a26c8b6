//! A job's function behind the front door: the run is opened in `cron_runs` ([`record`]);
//! when the job has nothing pending that same request records it as finished and the
//! answer follows at once (one request). Otherwise the job runs with a run id and a time
//! budget (`?dry_run=1` changes nothing), and its status, counts and error are recorded as
//! it ends. Recording never changes the answer: a failure to record is handed back for the
//! request's one log line.

use std::time::Duration;

use uuid::Uuid;

use super::record::{Begun, Recorder};
use crate::config::{Config, JobConfig};
use crate::invocation::{RunContext, RunFailure, RunSummary, Trigger};
use crate::jobs::JobEntry;
use crate::supabase::Supabase;

/// How one admitted run went.
pub(super) struct Ran {
    /// What the job reported.
    pub result: Result<RunSummary, RunFailure>,
    /// Why the run could not be recorded in `cron_runs`, if so.
    pub record_error: Option<String>,
}

/// Runs `entry`'s job once as `run_id` and records it; `cap` shortens its time budget.
pub(super) async fn run(
    entry: JobEntry,
    config: &Config,
    job_config: &JobConfig,
    run_id: Uuid,
    trigger: Trigger,
    dry_run: bool,
    cap: Option<Duration>,
) -> Ran {
    let job = entry.job;
    let budget = job_config.tunables.time_budget(job);
    let budget = cap.map_or(budget, |cap| cap.min(budget));
    let ctx = RunContext::new(run_id, job, trigger, dry_run, budget);
    let recorder = Recorder::new(Supabase::shared(&job_config.supabase), &ctx, config);
    // The run's first request opens its record and, when the job has nothing pending, is
    // the whole run (see `record`). Dry runs always run: they answer counts.
    let idle = (!dry_run).then(|| (entry.idle)(job_config));
    let begun = recorder.begin(idle.as_ref()).await;
    if let (Ok(Begun::Idle), Some(idle)) = (&begun, idle) {
        return Ran {
            result: Ok(idle.summary),
            record_error: None,
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
    }
}
