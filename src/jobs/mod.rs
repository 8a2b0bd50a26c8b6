//! The jobs: one module per job, each a run-once pass over its work.
//!
//! [`JobEntry`] names a job and its run; a function binary links only its own entry, and
//! [`run`] dispatches an authorized, configured invocation to any job.

pub mod call_gate;
pub mod catalog;
pub mod failure_log;
pub mod lease;
pub mod llm_items;
pub mod memory;
pub mod patch;
pub mod rows;
pub mod schedule;
pub mod training;

use std::future::Future;
use std::pin::Pin;

use serde_json::{Value, json};

use crate::config::JobConfig;
use crate::error::AppError;
use crate::invocation::{RunContext, RunFailure, RunSummary};
use crate::jobs::catalog::Job;
use crate::llm::Llm;
use crate::supabase::Supabase;

/// What a job's run returns: a boxed future, so every job fits one function pointer type.
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = Result<RunSummary, RunFailure>> + Send + 'a>>;

/// One job and the code that runs it.
///
/// A function binary names only its own entry ([`PATCH`], [`MEMORY`], ...), so it links only
/// its own job's code: the patch function carries no LLM client and no time-zone tables. The
/// benchmark (issue #8) found that linking every job into every binary cost each cold start
/// about a millisecond before the port was even open (30,000 load-time relocations of the
/// schedule job's time-zone tables, a page fault per page). [`entry`] (every job) is for
/// `supacron`, which serves them all.
#[derive(Clone, Copy)]
pub struct JobEntry {
    /// The job.
    pub job: Job,
    /// Runs it once.
    pub run: for<'a> fn(&'a RunContext, &'a JobConfig) -> RunFuture<'a>,
    /// What an idle run of it is (checked and recorded by the run's first request).
    pub idle: fn(&JobConfig) -> IdleCheck,
}

/// A job's idle case: what its pending-work count needs, and what it answers when nothing is
/// pending. The run's first request (`begin_cron_run`, [`crate::function::record`]) counts
/// the pending work with the same count the job reports as `remaining` and, when there is
/// none, records the run as finished with this answer: an idle tick (most cron ticks) costs
/// one request, and the job's code does not run.
pub struct IdleCheck {
    /// The job's settings the count needs (`cron_job_pending`'s `p_work`).
    pub work: Value,
    /// The job's answer when nothing is pending: exactly what its run answers then.
    pub summary: RunSummary,
}

/// `api/cron/patch.rs`.
pub const PATCH: JobEntry = JobEntry {
    job: Job::Patch,
    run: run_patch,
    idle: idle_patch,
};
/// `api/cron/memory.rs`.
pub const MEMORY: JobEntry = JobEntry {
    job: Job::Memory,
    run: run_memory,
    idle: idle_memory,
};
/// `api/cron/schedule.rs`.
pub const SCHEDULE: JobEntry = JobEntry {
    job: Job::Schedule,
    run: run_schedule,
    idle: idle_schedule,
};
/// `api/training/outcomes.rs`.
pub const OUTCOMES: JobEntry = JobEntry {
    job: Job::Outcomes,
    run: run_outcomes,
    idle: idle_training,
};
/// `api/training/calculate-pending.rs`.
pub const REWARDS: JobEntry = JobEntry {
    job: Job::Rewards,
    run: run_rewards,
    idle: idle_training,
};

/// The entry of any job (links every job's code).
pub fn entry(job: Job) -> JobEntry {
    match job {
        Job::Patch => PATCH,
        Job::Memory => MEMORY,
        Job::Schedule => SCHEDULE,
        Job::Outcomes => OUTCOMES,
        Job::Rewards => REWARDS,
    }
}

/// Runs the job of `ctx` once (links every job's code). A failed run hands back its counts
/// so far ([`RunFailure`]); a job that returns a plain [`AppError`] reports none
/// (`.map_err(RunFailure::from)`).
pub async fn run(ctx: &RunContext, config: &JobConfig) -> Result<RunSummary, RunFailure> {
    (entry(ctx.job).run)(ctx, config).await
}

fn run_patch<'a>(ctx: &'a RunContext, config: &'a JobConfig) -> RunFuture<'a> {
    Box::pin(async move {
        let settings = patch::PatchSettings::from_tunables(&config.tunables);
        patch::run(ctx, Supabase::shared(&config.supabase), &settings).await
    })
}

fn run_memory<'a>(ctx: &'a RunContext, config: &'a JobConfig) -> RunFuture<'a> {
    Box::pin(async move {
        let settings = memory::MemorySettings::from_tunables(&config.tunables);
        let db = Supabase::shared(&config.supabase);
        memory::run(ctx, db, &llm(config)?, &settings).await
    })
}

fn run_schedule<'a>(ctx: &'a RunContext, config: &'a JobConfig) -> RunFuture<'a> {
    Box::pin(async move {
        let settings = schedule::ScheduleSettings::from_tunables(&config.tunables);
        let db = Supabase::shared(&config.supabase);
        schedule::run(ctx, db, &llm(config)?, &settings).await
    })
}

fn run_outcomes<'a>(ctx: &'a RunContext, config: &'a JobConfig) -> RunFuture<'a> {
    Box::pin(training::outcomes::run(
        ctx,
        Supabase::shared(&config.supabase),
    ))
}

fn run_rewards<'a>(ctx: &'a RunContext, config: &'a JobConfig) -> RunFuture<'a> {
    Box::pin(async move {
        let weights = training::reward_fn::RewardWeights {
            speed: config.tunables.reward_speed_weight,
            confidence: config.tunables.reward_confidence_weight,
        };
        training::rewards::run(ctx, Supabase::shared(&config.supabase), &weights).await
    })
}

fn idle_patch(_: &JobConfig) -> IdleCheck {
    IdleCheck {
        work: json!({}),
        summary: patch::idle_summary(),
    }
}

fn idle_memory(config: &JobConfig) -> IdleCheck {
    IdleCheck {
        work: json!({ "min_new_messages": config.tunables.memory_min_new_messages }),
        summary: memory::idle_summary(),
    }
}

fn idle_schedule(_: &JobConfig) -> IdleCheck {
    IdleCheck {
        work: json!({ "max_attempts": schedule::MAX_TICK_ATTEMPTS }),
        summary: schedule::idle_summary(),
    }
}

/// Both training jobs: their counts take no settings, and they answer the same counts.
fn idle_training(_: &JobConfig) -> IdleCheck {
    IdleCheck {
        work: json!({}),
        summary: training::idle_summary(),
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
