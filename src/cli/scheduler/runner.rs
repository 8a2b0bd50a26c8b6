//! What the scheduler does at a tick: [`InProcessRunner`] runs the job through
//! [`crate::function::handle`] with an in-process request (trigger `scheduler`), the same path as every
//! function; tests put their own [`Runner`] in its place.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cli::progress;
use crate::config::Config;
use crate::function::{FunctionRequest, handle};
use crate::job::Job;
use crate::run::Trigger;

/// Runs one job for one tick. The run's own outcome is logged by the run itself.
pub trait Runner: Send + Sync + 'static {
    /// Runs `job` for the tick at `slot` and returns when the run has ended.
    fn run(&self, job: Job, slot: DateTime<Utc>) -> impl Future<Output = ()> + Send;
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
    fn run(&self, job: Job, _slot: DateTime<Utc>) -> impl Future<Output = ()> + Send {
        let config = self.config.clone();
        async move {
            let request = FunctionRequest::in_process(job, false, Trigger::Scheduler);
            let run = handle(job, request, &config);
            progress::with_progress(run, job, progress::EVERY).await;
        }
    }
}
