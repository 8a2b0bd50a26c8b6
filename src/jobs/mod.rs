//! The jobs: one module per job, each a run-once pass over its work.
//!
//! [`run`] dispatches an authorized, configured invocation to its job.

pub mod failure_log;
pub mod lease;
pub mod llm_items;
pub mod memory;
pub mod patch;
pub mod schedule;
pub mod training;

use crate::config::JobConfig;
use crate::error::AppError;
use crate::job::Job;
use crate::llm::Llm;
use crate::run::{RunContext, RunFailure, RunSummary};
use crate::supabase::Supabase;

/// Runs the job of `ctx` once. A failed run hands back its counts so far ([`RunFailure`]);
/// a job that returns a plain [`AppError`] reports none (`.map_err(RunFailure::from)`).
pub async fn run(ctx: &RunContext, config: &JobConfig) -> Result<RunSummary, RunFailure> {
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
        Job::Memory => {
            let settings = memory::MemorySettings::from_tunables(&config.tunables);
            memory::run(ctx, db, &llm(config)?, &settings).await
        }
        Job::Schedule => {
            let settings = schedule::ScheduleSettings::from_tunables(&config.tunables);
            schedule::run(ctx, db, &llm(config)?, &settings).await
        }
    }
}

/// The LLM of an LLM job (its configuration is loaded whenever the job needs one).
#[allow(clippy::result_large_err)] // once per invocation; AppError is the crate's error type
fn llm(config: &JobConfig) -> Result<Llm, AppError> {
    config
        .llm
        .as_ref()
        .map(Llm::from_config)
        .ok_or_else(|| AppError::Internal("the LLM configuration was not loaded".into()))
}
