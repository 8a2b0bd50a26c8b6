//! Configuration: the only module that reads the environment.
//!
//! Each variable is declared once, in [`vars`] (type, bounds, default, whether it is
//! needed, which functions read it, its doc); [`Config::from_lookup`] reads them all by
//! those declarations, the docs table is written from them ([`markdown_table`]), and a test
//! keeps `.env.example` and docs/configuration.md in step.
//!
//! The environment is read once per process ([`Config::global`]) into a [`Config`] that
//! holds every variable, present or not. A job then asks for what it needs
//! ([`Config::for_job`]) and gets either a complete, typed [`JobConfig`] or one
//! [`ConfigError`] naming every missing or invalid variable at once — never a value —
//! covering only the variables that job reads ([`vars::ReadBy`]).
//! Secrets are held as [`Secret`]s. Imports stay below: the job catalog (a leaf) and the
//! log format; nothing here reads a job's code.

mod docs;
mod error;
mod read;
pub mod vars;

use std::time::Duration;

use once_cell::sync::Lazy;

pub use self::docs::markdown_table;
pub use self::error::{ConfigError, Invalid, Problem};
use self::read::Values;
use self::vars::{Need, Var};
use crate::jobs::catalog::Job;
use crate::logging::LogFormat;
use crate::secret::Secret;

/// Default MiniMax endpoint (OpenAI-compatible chat completions live under it).
pub const DEFAULT_MINIMAX_BASE_URL: &str = "https://api.minimax.io/v1";
/// Default MiniMax model.
pub const DEFAULT_MINIMAX_MODEL: &str = "MiniMax-M2";

/// Characters `CRON_SECRET` and `INTERNAL_API_KEY` need at least: a shorter one is a
/// configuration error, like an unset one (issue #22: a one-character secret was accepted).
pub const MIN_SHARED_SECRET_CHARS: usize = 16;

/// Every variable as read from the environment. Build it with [`Config::global`] in
/// production or [`Config::from_lookup`] in tests.
#[derive(Debug, Clone)]
pub struct Config {
    cron_secret: Option<Secret>,
    internal_api_key: Option<Secret>,
    supabase_url: Option<String>,
    supabase_key: Option<Secret>,
    minimax_api_key: Option<Secret>,
    minimax_base_url: String,
    minimax_model: String,
    llm_provider: LlmProvider,
    deployment_id: Option<String>,
    api_base_url: Option<String>,
    private_functions: Vec<Job>,
    heartbeat_url: Option<Secret>,
    alert_webhook_url: Option<Secret>,
    /// Tunables with documented defaults.
    pub tunables: Tunables,
    /// `SUPACRON_LOG` (default `info`): the most detailed level logged.
    pub log_level: tracing::Level,
    /// `SUPACRON_LOG_FORMAT`: `json` or `pretty`; `None` when unset (functions then log
    /// JSON; the `supacron` command picks pretty on a terminal).
    pub log_format: Option<LogFormat>,
    /// Variables that are set but unusable, with the reason (never the value).
    invalid: Vec<Invalid>,
    /// Declared variables that are unset or empty.
    unset: Vec<&'static str>,
}

/// Which LLM the memory and schedule jobs call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlmProvider {
    /// MiniMax's chat completions API (production).
    Minimax,
    /// A deterministic, clearly labelled stand-in for local demos (`model = 'offline'`).
    Offline,
}

/// Numbers an operator may tune; each field is the variable it names, whose default, bounds
/// and readers are declared in [`vars`].
#[derive(Debug, Clone, PartialEq)]
pub struct Tunables {
    /// `SUPACRON_TIME_BUDGET_SECS`: overrides the run's time budget (see
    /// [`Tunables::time_budget`]).
    pub time_budget_secs: Option<u64>,
    /// `SUPABASE_TIMEOUT_SECS`: timeout of one PostgREST request.
    pub supabase_timeout_secs: u64,
    /// `MINIMAX_TIMEOUT_SECS`: timeout of one LLM call.
    pub minimax_timeout_secs: u64,
    /// `PATCH_BATCH_SIZE`: jobs claimed per round trip.
    pub patch_batch_size: u64,
    /// `PATCH_CONFLICT_RETRIES`: in-run retries after a version conflict.
    pub patch_conflict_retries: u64,
    /// `PATCH_CONFLICT_BACKOFF_MS`: first conflict backoff, doubling.
    pub patch_conflict_backoff_ms: u64,
    /// `REWARD_SPEED_WEIGHT`: how much resolution speed counts.
    pub reward_speed_weight: f64,
    /// `REWARD_CONFIDENCE_WEIGHT`: how much confidence scales a reward.
    pub reward_confidence_weight: f64,
    /// `MEMORY_MIN_NEW_MESSAGES`: new messages a conversation needs before the
    /// memory job summarises it.
    pub memory_min_new_messages: u64,
    /// `MEMORY_MAX_CONVERSATIONS_PER_RUN`: LLM calls one memory run may pay for.
    pub memory_max_conversations: u64,
    /// `MEMORY_MAX_MESSAGES`: new messages put in one prompt; the rest wait.
    pub memory_max_messages: u64,
    /// `MEMORY_MAX_PROMPT_CHARS`: characters of messages in one prompt.
    pub memory_max_prompt_chars: u64,
    /// `SCHEDULE_MAX_TICKS_PER_RUN`: posts one schedule run may generate.
    pub schedule_max_ticks: u64,
    /// `LLM_CONCURRENCY`: LLM calls in flight at once.
    pub llm_concurrency: u64,
    /// `MINIMAX_MAX_TOKENS`: `max_tokens` of every call (reasoning included).
    pub minimax_max_tokens: u64,
    /// `SUPACRON_RUN_RETENTION_DAYS`: days of `cron_runs` history kept.
    pub run_retention_days: u64,
    /// `LLM_DAILY_TOKEN_BUDGET`: tokens each LLM job may spend per UTC day (`None`: no cap).
    pub llm_daily_token_budget: Option<u64>,
}

impl Default for Tunables {
    /// Every tunable at its declared default ([`vars`]).
    fn default() -> Self {
        Config::from_lookup(|_| None).tunables
    }
}

impl Tunables {
    /// The time a run of `job` may spend working: `SUPACRON_TIME_BUDGET_SECS` when set,
    /// else [`Tunables::max_duration_budget`]. A deployed function is also held to the
    /// latter (see [`crate::function::vercel`]): Vercel stops it at `maxDuration` anyway.
    pub fn time_budget(&self, job: Job) -> Duration {
        if let Some(secs) = self.time_budget_secs {
            return Duration::from_secs(secs);
        }
        Tunables::max_duration_budget(job)
    }

    /// The most a run of `job` can work where its function's `maxDuration` applies: that
    /// minus 10 % (at least 5 s) kept for answering and logging.
    pub fn max_duration_budget(job: Job) -> Duration {
        let max = job.max_duration_secs();
        Duration::from_secs(max - (max / 10).max(5))
    }
}

/// How to reach Supabase's REST API.
#[derive(Debug, Clone)]
pub struct SupabaseConfig {
    /// The PostgREST base URL, ending in `/rest/v1` for a Supabase project.
    pub rest_url: String,
    /// The service-role key (legacy JWT) or a secret key (`sb_secret_...`).
    pub key: Secret,
    /// Timeout of one request.
    pub timeout: Duration,
}

/// How to reach the LLM.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// Which provider.
    pub provider: LlmProvider,
    /// `MINIMAX_API_KEY` (absent only with the offline provider).
    pub api_key: Option<Secret>,
    /// `MINIMAX_BASE_URL`.
    pub base_url: String,
    /// `MINIMAX_MODEL`.
    pub model: String,
    /// Timeout of one call.
    pub timeout: Duration,
}

/// Everything one job needs, complete and validated.
#[derive(Debug, Clone)]
pub struct JobConfig {
    /// Supabase access.
    pub supabase: SupabaseConfig,
    /// LLM access, for the jobs that call one.
    pub llm: Option<LlmConfig>,
    /// Tunables.
    pub tunables: Tunables,
}

static GLOBAL: Lazy<Config> = Lazy::new(|| Config::from_lookup(|name| std::env::var(name).ok()));

impl Config {
    /// The process-wide configuration, read from the environment on first use.
    pub fn global() -> &'static Config {
        &GLOBAL
    }

    /// Reads every declared variable ([`vars::ALL`]) through `lookup` (the environment, or a
    /// map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Config {
        let values = Values::read(lookup);
        let whole = |var: &Var| values.whole(var).expect("declared with a default");
        let tunables = Tunables {
            time_budget_secs: values.whole(&vars::SUPACRON_TIME_BUDGET_SECS),
            supabase_timeout_secs: whole(&vars::SUPABASE_TIMEOUT_SECS),
            minimax_timeout_secs: whole(&vars::MINIMAX_TIMEOUT_SECS),
            patch_batch_size: whole(&vars::PATCH_BATCH_SIZE),
            patch_conflict_retries: whole(&vars::PATCH_CONFLICT_RETRIES),
            patch_conflict_backoff_ms: whole(&vars::PATCH_CONFLICT_BACKOFF_MS),
            reward_speed_weight: values.fraction(&vars::REWARD_SPEED_WEIGHT),
            reward_confidence_weight: values.fraction(&vars::REWARD_CONFIDENCE_WEIGHT),
            memory_min_new_messages: whole(&vars::MEMORY_MIN_NEW_MESSAGES),
            memory_max_conversations: whole(&vars::MEMORY_MAX_CONVERSATIONS_PER_RUN),
            memory_max_messages: whole(&vars::MEMORY_MAX_MESSAGES),
            memory_max_prompt_chars: whole(&vars::MEMORY_MAX_PROMPT_CHARS),
            schedule_max_ticks: whole(&vars::SCHEDULE_MAX_TICKS_PER_RUN),
            llm_concurrency: whole(&vars::LLM_CONCURRENCY),
            minimax_max_tokens: whole(&vars::MINIMAX_MAX_TOKENS),
            run_retention_days: whole(&vars::SUPACRON_RUN_RETENTION_DAYS),
            llm_daily_token_budget: values.whole(&vars::LLM_DAILY_TOKEN_BUDGET),
        };
        let llm_provider = match values.text(&vars::SUPACRON_LLM_PROVIDER).as_deref() {
            Some("offline") => LlmProvider::Offline,
            _ => LlmProvider::Minimax,
        };
        let log_level = match values.text(&vars::SUPACRON_LOG).as_deref() {
            Some("error") => tracing::Level::ERROR,
            Some("warn") => tracing::Level::WARN,
            Some("debug") => tracing::Level::DEBUG,
            Some("trace") => tracing::Level::TRACE,
            _ => tracing::Level::INFO,
        };
        let log_format = match values.text(&vars::SUPACRON_LOG_FORMAT).as_deref() {
            None => None,
            Some("pretty") => Some(LogFormat::Pretty),
            Some(_) => Some(LogFormat::Json),
        };
        let text = |var: &Var| values.text(var).unwrap_or_default();
        Config {
            cron_secret: values.secret(&vars::CRON_SECRET),
            internal_api_key: values.secret(&vars::INTERNAL_API_KEY),
            supabase_url: values.text(&vars::SUPABASE_URL),
            supabase_key: values.secret(&vars::SUPABASE_SERVICE_ROLE_KEY),
            minimax_api_key: values.secret(&vars::MINIMAX_API_KEY),
            minimax_base_url: text(&vars::MINIMAX_BASE_URL)
                .trim_end_matches('/')
                .to_string(),
            minimax_model: text(&vars::MINIMAX_MODEL),
            llm_provider,
            deployment_id: values.text(&vars::VERCEL_DEPLOYMENT_ID),
            api_base_url: values
                .text(&vars::API_BASE_URL)
                .map(|url| url.trim().to_string()),
            heartbeat_url: values.secret(&vars::SUPACRON_HEARTBEAT_URL),
            alert_webhook_url: values.secret(&vars::SUPACRON_ALERT_WEBHOOK_URL),
            private_functions: values
                .text(&vars::SUPACRON_PRIVATE_FUNCTIONS)
                .unwrap_or_default()
                .split(',')
                .filter_map(Job::from_name)
                .collect(),
            tunables,
            log_level,
            log_format,
            invalid: values.invalid,
            unset: values.unset,
        }
    }

    /// `CRON_SECRET`, required by every function: without it every request is refused.
    pub fn cron_secret(&self) -> Result<&Secret, ConfigError> {
        self.cron_secret.as_ref().ok_or_else(|| ConfigError {
            missing: vec!["CRON_SECRET"],
            invalid: self.invalid_about("CRON_SECRET"),
        })
    }

    /// `INTERNAL_API_KEY` (optional; accepted by the training functions).
    pub fn internal_api_key(&self) -> Option<&Secret> {
        self.internal_api_key.as_ref()
    }

    /// `INTERNAL_API_KEY` for the credential check: `Err` naming it when it is set but
    /// unusable (too short, whitespace, ...), so the training functions fail closed (500).
    pub fn checked_internal_api_key(&self) -> Result<Option<&Secret>, ConfigError> {
        let invalid = self.invalid_about("INTERNAL_API_KEY");
        if invalid.is_empty() {
            Ok(self.internal_api_key.as_ref())
        } else {
            Err(ConfigError {
                missing: Vec::new(),
                invalid,
            })
        }
    }

    /// `VERCEL_DEPLOYMENT_ID`, set by Vercel on every deployment (a system environment
    /// variable); recorded with each run. Absent locally.
    pub fn deployment_id(&self) -> Option<&str> {
        self.deployment_id.as_deref()
    }

    /// `API_BASE_URL` (seed 002's name): where `supacron scheduler` sends its ticks, like
    /// `--target`. Checked by the scheduler, the only reader.
    pub fn api_base_url(&self) -> Option<&str> {
        self.api_base_url.as_deref()
    }

    /// `SUPACRON_PRIVATE_FUNCTIONS`: the jobs whose function the operator made a private
    /// Vercel Schedules function target (`experimentalTriggers: [{"type":
    /// "schedule/v1beta"}]` in `vercel.json`). Only these accept a `ce-*` dispatch without a
    /// credential; every other function refuses it like any unauthenticated request.
    pub fn private_functions(&self) -> &[Job] {
        &self.private_functions
    }

    /// `SUPACRON_HEARTBEAT_URL`: the heartbeat template pinged after every scheduled run
    /// ([`crate::notify`]).
    pub fn heartbeat_url(&self) -> Option<&Secret> {
        self.heartbeat_url.as_ref()
    }

    /// `SUPACRON_ALERT_WEBHOOK_URL`: where incidents are posted ([`crate::notify`]).
    pub fn alert_webhook_url(&self) -> Option<&Secret> {
        self.alert_webhook_url.as_ref()
    }

    /// Whether `job`'s function is declared private ([`Config::private_functions`]).
    pub fn is_private(&self, job: Job) -> bool {
        self.private_functions.contains(&job)
    }

    /// The configuration `job` needs, or one error naming everything missing or invalid.
    pub fn for_job(&self, job: Job) -> Result<JobConfig, ConfigError> {
        self.for_run(Some(job))
    }

    /// The configuration of the status function: Supabase only.
    pub fn for_status(&self) -> Result<JobConfig, ConfigError> {
        self.for_run(None)
    }

    /// What a run of `job` (`None`: the status function) needs besides `CRON_SECRET`:
    /// Supabase always, the LLM for the jobs that call it, and every variable it reads valid.
    fn for_run(&self, job: Option<Job>) -> Result<JobConfig, ConfigError> {
        let llm = job.is_some_and(Job::calls_llm);
        let minimax = self.llm_provider == LlmProvider::Minimax;
        let missing: Vec<&'static str> = vars::ALL
            .iter()
            .filter(|var| var.read_by.includes(job))
            .filter(|var| match var.need {
                Need::Optional => false,
                Need::Required => true,
                Need::RequiredWithMinimax => minimax,
            })
            .filter(|var| self.unset.contains(&var.name))
            .map(|var| var.name)
            .collect();
        let invalid: Vec<Invalid> = self
            .invalid
            .iter()
            .filter(|invalid| {
                Var::named(invalid.variable).is_some_and(|var| var.read_by.includes(job))
            })
            .cloned()
            .collect();
        if !missing.is_empty() || !invalid.is_empty() {
            return Err(ConfigError { missing, invalid });
        }
        let (Some(rest_url), Some(key)) = (self.supabase_url.clone(), self.supabase_key.clone())
        else {
            unreachable!("checked above");
        };
        Ok(JobConfig {
            supabase: SupabaseConfig {
                rest_url,
                key,
                timeout: Duration::from_secs(self.tunables.supabase_timeout_secs),
            },
            llm: llm.then(|| LlmConfig {
                provider: self.llm_provider,
                api_key: self.minimax_api_key.clone(),
                base_url: self.minimax_base_url.clone(),
                model: self.minimax_model.clone(),
                timeout: Duration::from_secs(self.tunables.minimax_timeout_secs),
            }),
            tunables: self.tunables.clone(),
        })
    }

    fn invalid_about(&self, name: &str) -> Vec<Invalid> {
        self.invalid
            .iter()
            .filter(|invalid| invalid.variable == name)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod agreement;
#[cfg(test)]
mod tests;
