//! The jobs: one module per job, each a run-once pass over its work.
//!
//! [`run`] dispatches an authorized, configured invocation to its job. A job whose code
//! has not landed answers 501 naming itself, so no function pretends to work.

use crate::config::JobConfig;
use crate::error::AppError;
use crate::job::Job;
use crate::run::{RunContext, RunSummary};

/// Runs the job of `ctx` once.
pub async fn run(ctx: &RunContext, _config: &JobConfig) -> Result<RunSummary, AppError> {
    match ctx.job {
        job @ (Job::Patch | Job::Memory | Job::Schedule | Job::Outcomes | Job::Rewards) => {
            Err(AppError::NotImplemented(job))
        }
    }
}
