//! What the scheduler does at a tick: [`InProcessRunner`] runs the job through
//! [`crate::function::handle`] with an in-process request (trigger `scheduler`), the same
//! path as every function; [`super::HttpRunner`] asks the deployed function instead (`--target`); tests
//! put their own [`Runner`] in its place.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cli::progress;
use crate::config::Config;
use crate::function::{FunctionRequest, handle};
use crate::invocation::Trigger;
use crate::jobs::catalog::Job;

/// One tick of one job, as the scheduler fires it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tick {
    /// The job.
    pub job: Job,
    /// The scheduled time of the tick.
    pub slot: DateTime<Utc>,
    /// The job's next tick after this one, if any: a run (with its retries) should be
    /// over by then, or that tick is skipped.
    pub next_slot: Option<DateTime<Utc>>,
    /// The `vercel.json` entry it fires for (the scheduler's file, which may differ from
    /// the copy built into the binary): what the run records as its schedule.
    pub schedule: crate::schedules::Clock,
}

/// Runs one job for one tick. The run's own outcome is logged by the run itself.
pub trait Runner: Send + Sync + 'static {
    /// Runs `tick` and returns when the run has ended.
    fn run(&self, tick: Tick) -> impl Future<Output = ()> + Send;
}

/// Runs jobs in this process with the given configuration.
#[derive(Clone, Debug)]
pub struct InProcessRunner {
    config: Arc<Config>,
}

impl InProcessRunner {
    /// A runner using `config`.
    pub fn new(config: Arc<Config>) -> InProcessRunner {
        InProcessRunner { config }
    }
}

impl Runner for InProcessRunner {
    fn run(&self, tick: Tick) -> impl Future<Output = ()> + Send {
        let config = self.config.clone();
        async move {
            let mut request = FunctionRequest::in_process(tick.job, false, Trigger::Scheduler);
            request.scheduled_at = Some(tick.slot);
            request.schedule = Some(tick.schedule);
            let run = handle(tick.job, request, &config);
            progress::with_progress(run, tick.job, progress::EVERY).await;
        }
    }
}
