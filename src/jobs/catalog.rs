//! The job catalog: the five jobs supacron runs, with everything that is fixed per job.
//!
//! One place answers "what is this job called, where is it served, who may call it,
//! what configuration does it need and how long may it run". The values of
//! [`Job::max_duration_secs`] mirror `vercel.json` (a test keeps the two equal); when it runs
//! is read from `vercel.json` itself ([`Job::clock`]).
//!
//! Each job has one name in the code and in the data: [`Job::name`] (`cron_runs.job`,
//! answers, logs, `supacron run <name>`), the same word as its variant and its module
//! under [`crate::jobs`]. What the outside world calls it besides is listed here and only
//! here: its URL path ([`Job::path`], which also names its function binary in
//! `Cargo.toml`) and the training scheduler's names it is still called by
//! ([`Job::aliases`]). The rewards job, for one, is `Job::Rewards` / `rewards` /
//! [`crate::jobs::training::rewards`], served at `/api/training/calculate-pending`.

use std::fmt;

/// One of supacron's jobs. Each is one Vercel Function under `api/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    /// `api/cron/patch.rs`: applies queued state patches exactly once (seed 000).
    Patch,
    /// `api/cron/memory.rs`: summarises conversations into long-term memories (seed 000).
    Memory,
    /// `api/cron/schedule.rs`: fires characters' schedules: posts and diary entries (seed 000).
    Schedule,
    /// `api/training/outcomes.rs`: records outcomes of decisions whose item is terminal (seed 002).
    Outcomes,
    /// `api/training/calculate-pending.rs`: computes rewards of decisions with outcomes (seed 002).
    Rewards,
}

impl Job {
    /// Every job, in the order the README lists them.
    pub const ALL: [Job; 5] = [
        Job::Patch,
        Job::Memory,
        Job::Schedule,
        Job::Outcomes,
        Job::Rewards,
    ];

    /// Short name used in answers, logs, `cron_runs.job` and `supacron run <name>`.
    pub fn name(self) -> &'static str {
        match self {
            Job::Patch => "patch",
            Job::Memory => "memory",
            Job::Schedule => "schedule",
            Job::Outcomes => "outcomes",
            Job::Rewards => "rewards",
        }
    }

    /// The URL path Vercel serves the function at (and `supacron serve` too).
    pub fn path(self) -> &'static str {
        match self {
            Job::Patch => "/api/cron/patch",
            Job::Memory => "/api/cron/memory",
            Job::Schedule => "/api/cron/schedule",
            Job::Outcomes => "/api/training/outcomes",
            Job::Rewards => "/api/training/calculate-pending",
        }
    }

    /// Other names the job is called by, accepted by [`Job::from_name`]: the training
    /// scheduler's (the last segment of its path, and the singular).
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Job::Rewards => &["calculate-pending", "reward"],
            Job::Outcomes => &["outcome"],
            Job::Patch | Job::Memory | Job::Schedule => &[],
        }
    }

    /// Finds a job by name, path, or alias ([`Job::aliases`]).
    pub fn from_name(name: &str) -> Option<Job> {
        let name = name.trim().trim_end_matches('/');
        Job::ALL
            .into_iter()
            .find(|job| job.name() == name || job.path() == name || job.aliases().contains(&name))
    }

    /// Whether `x-internal-api-key` (seed 002's credential) is accepted besides `CRON_SECRET`.
    pub fn accepts_internal_api_key(self) -> bool {
        matches!(self, Job::Outcomes | Job::Rewards)
    }

    /// Whether the job calls the LLM (and so needs `MINIMAX_API_KEY` unless the offline
    /// provider is chosen).
    pub fn calls_llm(self) -> bool {
        matches!(self, Job::Memory | Job::Schedule)
    }

    /// The function's `maxDuration` in `vercel.json`, in seconds. Every value stays within
    /// Hobby's 300 s cap, and the patch job's 60 s is half its 2-minute interval so that
    /// runs rarely overlap.
    pub fn max_duration_secs(self) -> u64 {
        match self {
            Job::Patch => 60,
            Job::Memory | Job::Schedule => 300,
            Job::Outcomes | Job::Rewards => 120,
        }
    }

    /// When the job runs and who wakes it: its entry in the `vercel.json` built into this
    /// binary ([`crate::schedules`], the single definition). `None` when it is unscheduled.
    pub fn clock(self) -> Option<&'static crate::schedules::Clock> {
        crate::schedules::built_in().of(self)
    }

    /// The job's cron expression in the built-in `vercel.json` (its [`Job::clock`]; read in
    /// the clock's time zone); empty when the file does not schedule it.
    pub fn schedule(self) -> &'static str {
        self.clock().map_or("", |clock| clock.expression.as_str())
    }
}

impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_round_trip() {
        for job in Job::ALL {
            assert_eq!(Job::from_name(job.name()), Some(job));
            assert_eq!(Job::from_name(job.path()), Some(job));
        }
        assert_eq!(Job::from_name("calculate-pending"), Some(Job::Rewards));
        assert_eq!(Job::from_name("teleport"), None);
    }

    #[test]
    fn only_training_jobs_accept_the_internal_api_key() {
        let accepting: Vec<_> = Job::ALL
            .into_iter()
            .filter(|j| j.accepts_internal_api_key())
            .collect();
        assert_eq!(accepting, vec![Job::Outcomes, Job::Rewards]);
    }
}
