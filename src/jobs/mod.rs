//! The jobs: one module per job, each a run-once pass over its work.
//!
//! [`run`] dispatches an authorized, configured invocation to its job. A job whose code
//! has not landed answers 501 naming itself, so no function pretends to work.

pub mod patch;
pub mod training;

use crate::config::JobConfig;
use crate::error::AppError;
use crate::job::Job;
use crate::run::{RunContext, RunSummary};
use crate::supabase::Supabase;

/// Runs the job of `ctx` once.
pub async fn run(ctx: &RunContext, config: &JobConfig) -> Result<RunSummary, AppError> {
    let db = Supabase::shared(&config.supabase);
    match ctx.job {
        Job::Patch => {
            patch::run(
                ctx,
                db,
                &patch::PatchSettings::from_tunables(&config.tunables),
            )
            .await
        }
        Job::Outcomes => training::outcomes::run(ctx, db).await,
        Job::Rewards => training::rewards::run(ctx, db, &config.tunables.reward_weights()).await,
        job @ (Job::Memory | Job::Schedule) => Err(AppError::NotImplemented(job)),
    }
}
