//! Configuration: the only module that reads the environment.
//!
//! The environment is read once per process ([`Config::global`]) into a [`Config`] that
//! holds every variable, present or not. A job then asks for what it needs
//! ([`Config::for_job`]) and gets either a complete, typed [`JobConfig`] or one
//! [`ConfigError`] naming every missing or invalid variable at once — never a value.
//! Secrets are held as [`Secret`]s. The variables are documented in `.env.example` and
//! docs/configuration.md.

use std::fmt;
use std::time::Duration;

use once_cell::sync::Lazy;

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
    /// Tunables with documented defaults.
    pub tunables: Tunables,
    /// `SUPACRON_LOG` (default `info`): the most detailed level logged.
    pub log_level: tracing::Level,
    /// `SUPACRON_LOG_FORMAT`: `json` or `pretty`; `None` when unset (functions then log
    /// JSON; the `supacron` command picks pretty on a terminal).
    pub log_format: Option<LogFormat>,
    /// Variables that are set but unusable, with the reason (never the value).
    invalid: Vec<String>,
}

/// Which LLM the memory and schedule jobs call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LlmProvider {
    /// MiniMax's chat completions API (production).
    Minimax,
    /// A deterministic, clearly labelled stand-in for local demos (`model = 'offline'`).
    Offline,
}

/// Numbers an operator may tune, each with a documented default.
#[derive(Debug, Clone, PartialEq)]
pub struct Tunables {
    /// `SUPACRON_TIME_BUDGET_SECS`: overrides the run's time budget (default: the job's
    /// `maxDuration` minus a safety margin, see [`Tunables::time_budget`]).
    pub time_budget_secs: Option<u64>,
    /// `SUPABASE_TIMEOUT_SECS` (default 10): timeout of one PostgREST request.
    pub supabase_timeout_secs: u64,
    /// `MINIMAX_TIMEOUT_SECS` (default 60): timeout of one LLM call.
    pub minimax_timeout_secs: u64,
    /// `PATCH_BATCH_SIZE` (default 100, at most 1000): jobs claimed per round trip.
    pub patch_batch_size: u64,
    /// `PATCH_CONFLICT_RETRIES` (default 5, seed 000): in-run retries after a version conflict.
    pub patch_conflict_retries: u64,
    /// `PATCH_CONFLICT_BACKOFF_MS` (default 80, seed 000): first conflict backoff, doubling.
    pub patch_conflict_backoff_ms: u64,
    /// `REWARD_SPEED_WEIGHT` (default 0.5, in [0, 1]): how much resolution speed counts.
    pub reward_speed_weight: f64,
    /// `REWARD_CONFIDENCE_WEIGHT` (default 0.5, in [0, 1]): how much confidence scales a reward.
    pub reward_confidence_weight: f64,
    /// `MEMORY_MIN_NEW_MESSAGES` (default 10): new messages a conversation needs before the
    /// memory job summarises it.
    pub memory_min_new_messages: u64,
    /// `MEMORY_MAX_CONVERSATIONS_PER_RUN` (default 20): LLM calls one memory run may pay for.
    pub memory_max_conversations: u64,
    /// `MEMORY_MAX_MESSAGES` (default 50): new messages put in one prompt; the rest wait.
    pub memory_max_messages: u64,
    /// `MEMORY_MAX_PROMPT_CHARS` (default 16000): characters of messages in one prompt.
    pub memory_max_prompt_chars: u64,
    /// `SCHEDULE_MAX_TICKS_PER_RUN` (default 50): posts one schedule run may generate.
    pub schedule_max_ticks: u64,
    /// `LLM_CONCURRENCY` (default 4): LLM calls in flight at once.
    pub llm_concurrency: u64,
    /// `MINIMAX_MAX_TOKENS` (default 2048): `max_tokens` of every call (reasoning included).
    pub minimax_max_tokens: u64,
    /// `SUPACRON_RUN_RETENTION_DAYS` (default 30): days of `cron_runs` history kept.
    pub run_retention_days: u64,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            time_budget_secs: None,
            supabase_timeout_secs: 10,
            minimax_timeout_secs: 60,
            patch_batch_size: 100,
            patch_conflict_retries: 5,
            patch_conflict_backoff_ms: 80,
            reward_speed_weight: 0.5,
            reward_confidence_weight: 0.5,
            memory_min_new_messages: 10,
            memory_max_conversations: 20,
            memory_max_messages: 50,
            memory_max_prompt_chars: 16_000,
            schedule_max_ticks: 50,
            llm_concurrency: 4,
            minimax_max_tokens: 2048,
            run_retention_days: 30,
        }
    }
}

impl Tunables {
    /// The reward function's weights.
    pub fn reward_weights(&self) -> crate::jobs::training::reward_fn::RewardWeights {
        crate::jobs::training::reward_fn::RewardWeights {
            speed: self.reward_speed_weight,
            confidence: self.reward_confidence_weight,
        }
    }

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

/// Missing or invalid configuration. Names variables, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Variables that are unset or empty.
    pub missing: Vec<&'static str>,
    /// Variables that are set but unusable, each with the reason.
    pub invalid: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "missing environment variables: {}",
                self.missing.join(", ")
            ));
        }
        if !self.invalid.is_empty() {
            parts.push(format!("invalid: {}", self.invalid.join("; ")));
        }
        write!(
            f,
            "{}. Set them in Vercel (Project Settings -> Environment Variables, Production) and redeploy, \
             or in .env for local runs",
            parts.join("; ")
        )
    }
}

static GLOBAL: Lazy<Config> = Lazy::new(|| Config::from_lookup(|name| std::env::var(name).ok()));

impl Config {
    /// The process-wide configuration, read from the environment on first use.
    pub fn global() -> &'static Config {
        &GLOBAL
    }

    /// Reads every variable through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Config {
        let mut invalid = Vec::new();
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let secret = |name: &'static str, invalid: &mut Vec<String>| {
            let value = get(name)?;
            if value.trim() != value {
                invalid.push(format!(
                    "{name} has leading or trailing whitespace (often a newline from `echo`; set it with printf '%s')"
                ));
                return None;
            }
            if !value.bytes().all(|b| b.is_ascii_graphic()) {
                invalid.push(format!(
                    "{name} contains characters that cannot be sent in an HTTP header"
                ));
                return None;
            }
            Some(Secret::new(value))
        };
        // Shared secrets a caller presents must be hard to guess: shorter ones are refused
        // like unset ones (fail closed; the docs ask for at least 16 random characters).
        let strong = |name: &'static str, invalid: &mut Vec<String>| {
            let value = secret(name, invalid)?;
            if value.expose().chars().count() < MIN_SHARED_SECRET_CHARS {
                invalid.push(format!(
                    "{name} is shorter than {MIN_SHARED_SECRET_CHARS} characters; use at least {MIN_SHARED_SECRET_CHARS} random characters, e.g. `openssl rand -hex 32`"
                ));
                return None;
            }
            Some(value)
        };
        let cron_secret = strong("CRON_SECRET", &mut invalid);
        let internal_api_key = strong("INTERNAL_API_KEY", &mut invalid);
        let supabase_key = secret("SUPABASE_SERVICE_ROLE_KEY", &mut invalid);
        if supabase_key
            .as_ref()
            .is_some_and(|k| k.expose().starts_with("sb_publishable_"))
        {
            invalid.push(
                "SUPABASE_SERVICE_ROLE_KEY is a publishable key; use a secret key (sb_secret_...) or the legacy service_role key"
                    .into(),
            );
        }
        let minimax_api_key = secret("MINIMAX_API_KEY", &mut invalid);
        let supabase_url = get("SUPABASE_URL").and_then(|url| match rest_url(&url) {
            Some(rest) => Some(rest),
            None => {
                invalid.push("SUPABASE_URL must start with https:// or http://".into());
                None
            }
        });
        let llm_provider = match get("SUPACRON_LLM_PROVIDER").as_deref() {
            None | Some("minimax") => LlmProvider::Minimax,
            Some("offline") => LlmProvider::Offline,
            Some(_) => {
                invalid.push("SUPACRON_LLM_PROVIDER must be `minimax` or `offline`".into());
                LlmProvider::Minimax
            }
        };
        let log_level = match get("SUPACRON_LOG")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("info") => tracing::Level::INFO,
            Some("error") => tracing::Level::ERROR,
            Some("warn") => tracing::Level::WARN,
            Some("debug") => tracing::Level::DEBUG,
            Some("trace") => tracing::Level::TRACE,
            Some(_) => {
                invalid.push("SUPACRON_LOG must be one of error, warn, info, debug, trace".into());
                tracing::Level::INFO
            }
        };
        let log_format = match get("SUPACRON_LOG_FORMAT").as_deref() {
            None => None,
            Some("json") => Some(LogFormat::Json),
            Some("pretty") => Some(LogFormat::Pretty),
            Some(_) => {
                invalid.push("SUPACRON_LOG_FORMAT must be `json` or `pretty`".into());
                Some(LogFormat::Json)
            }
        };
        let defaults = Tunables::default();
        let tunables = Tunables {
            time_budget_secs: get("SUPACRON_TIME_BUDGET_SECS")
                .map(|v| positive(Some(v), "SUPACRON_TIME_BUDGET_SECS", 1, &mut invalid)),
            supabase_timeout_secs: positive(
                get("SUPABASE_TIMEOUT_SECS"),
                "SUPABASE_TIMEOUT_SECS",
                defaults.supabase_timeout_secs,
                &mut invalid,
            ),
            minimax_timeout_secs: positive(
                get("MINIMAX_TIMEOUT_SECS"),
                "MINIMAX_TIMEOUT_SECS",
                defaults.minimax_timeout_secs,
                &mut invalid,
            ),
            patch_batch_size: positive(
                get("PATCH_BATCH_SIZE"),
                "PATCH_BATCH_SIZE",
                defaults.patch_batch_size,
                &mut invalid,
            )
            .min(1000),
            patch_conflict_retries: positive(
                get("PATCH_CONFLICT_RETRIES"),
                "PATCH_CONFLICT_RETRIES",
                defaults.patch_conflict_retries,
                &mut invalid,
            ),
            patch_conflict_backoff_ms: positive(
                get("PATCH_CONFLICT_BACKOFF_MS"),
                "PATCH_CONFLICT_BACKOFF_MS",
                defaults.patch_conflict_backoff_ms,
                &mut invalid,
            ),
            reward_speed_weight: weight(
                get("REWARD_SPEED_WEIGHT"),
                "REWARD_SPEED_WEIGHT",
                &mut invalid,
            ),
            reward_confidence_weight: weight(
                get("REWARD_CONFIDENCE_WEIGHT"),
                "REWARD_CONFIDENCE_WEIGHT",
                &mut invalid,
            ),
            memory_min_new_messages: positive(
                get("MEMORY_MIN_NEW_MESSAGES"),
                "MEMORY_MIN_NEW_MESSAGES",
                defaults.memory_min_new_messages,
                &mut invalid,
            ),
            memory_max_conversations: positive(
                get("MEMORY_MAX_CONVERSATIONS_PER_RUN"),
                "MEMORY_MAX_CONVERSATIONS_PER_RUN",
                defaults.memory_max_conversations,
                &mut invalid,
            )
            .min(1000),
            memory_max_messages: positive(
                get("MEMORY_MAX_MESSAGES"),
                "MEMORY_MAX_MESSAGES",
                defaults.memory_max_messages,
                &mut invalid,
            )
            .min(1000),
            memory_max_prompt_chars: positive(
                get("MEMORY_MAX_PROMPT_CHARS"),
                "MEMORY_MAX_PROMPT_CHARS",
                defaults.memory_max_prompt_chars,
                &mut invalid,
            ),
            schedule_max_ticks: positive(
                get("SCHEDULE_MAX_TICKS_PER_RUN"),
                "SCHEDULE_MAX_TICKS_PER_RUN",
                defaults.schedule_max_ticks,
                &mut invalid,
            )
            .min(1000),
            llm_concurrency: positive(
                get("LLM_CONCURRENCY"),
                "LLM_CONCURRENCY",
                defaults.llm_concurrency,
                &mut invalid,
            )
            .min(32),
            minimax_max_tokens: positive(
                get("MINIMAX_MAX_TOKENS"),
                "MINIMAX_MAX_TOKENS",
                defaults.minimax_max_tokens,
                &mut invalid,
            ),
            run_retention_days: positive(
                get("SUPACRON_RUN_RETENTION_DAYS"),
                "SUPACRON_RUN_RETENTION_DAYS",
                defaults.run_retention_days,
                &mut invalid,
            ),
        };
        Config {
            cron_secret,
            internal_api_key,
            supabase_url,
            supabase_key,
            minimax_api_key,
            minimax_base_url: get("MINIMAX_BASE_URL")
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| DEFAULT_MINIMAX_BASE_URL.into()),
            minimax_model: get("MINIMAX_MODEL").unwrap_or_else(|| DEFAULT_MINIMAX_MODEL.into()),
            llm_provider,
            deployment_id: get("VERCEL_DEPLOYMENT_ID"),
            api_base_url: get("API_BASE_URL").map(|url| url.trim().to_string()),
            tunables,
            log_level,
            log_format,
            invalid,
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
        let mut missing = Vec::new();
        if self.supabase_url.is_none() && self.invalid_about("SUPABASE_URL").is_empty() {
            missing.push("SUPABASE_URL");
        }
        if self.supabase_key.is_none() && self.invalid_about("SUPABASE_SERVICE_ROLE_KEY").is_empty()
        {
            missing.push("SUPABASE_SERVICE_ROLE_KEY");
        }
        let llm_wanted = llm && self.llm_provider == LlmProvider::Minimax;
        if llm_wanted
            && self.minimax_api_key.is_none()
            && self.invalid_about("MINIMAX_API_KEY").is_empty()
        {
            missing.push("MINIMAX_API_KEY");
        }
        let invalid: Vec<String> = self
            .invalid
            .iter()
            .filter(|reason| concerns(reason, job))
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

    fn invalid_about(&self, name: &str) -> Vec<String> {
        self.invalid
            .iter()
            .filter(|r| r.starts_with(name))
            .cloned()
            .collect()
    }
}

/// A whole number greater than 0, or `default` (noting why) when unset or unusable.
fn positive(value: Option<String>, name: &str, default: u64, invalid: &mut Vec<String>) -> u64 {
    let Some(value) = value else { return default };
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => n,
        _ => {
            invalid.push(format!("{name} must be a whole number greater than 0"));
            default
        }
    }
}

/// A weight in [0, 1], or 0.5 (noting why) when unset or unusable.
fn weight(value: Option<String>, name: &str, invalid: &mut Vec<String>) -> f64 {
    let Some(value) = value else { return 0.5 };
    match value.trim().parse::<f64>() {
        Ok(w) if (0.0..=1.0).contains(&w) => w,
        _ => {
            invalid.push(format!("{name} must be a number between 0 and 1"));
            0.5
        }
    }
}

/// `https://abc.supabase.co` → `https://abc.supabase.co/rest/v1`; a URL that already
/// names the REST root (`.../rest/v1`, or any other path) is kept as given.
fn rest_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    if rest.is_empty() {
        return None;
    }
    Some(if rest.contains('/') {
        url.to_string()
    } else {
        format!("{url}/rest/v1")
    })
}

/// Whether the problem `reason` (it starts with the variable's name) concerns a run of
/// `job` (`None`: the status function). A variable that only other jobs read never stops a
/// job: a typo in `REWARD_SPEED_WEIGHT` fails the rewards job, not the patch job.
/// `CRON_SECRET` is checked before any job runs (and `supacron run` needs none).
fn concerns(reason: &str, job: Option<Job>) -> bool {
    let name = reason.split_whitespace().next().unwrap_or_default();
    let read_by = |jobs: &[Job]| job.is_some_and(|job| jobs.contains(&job));
    match name {
        "CRON_SECRET" => false,
        "INTERNAL_API_KEY" => read_by(&[Job::Outcomes, Job::Rewards]),
        "SUPACRON_LLM_PROVIDER" => read_by(&[Job::Memory, Job::Schedule]),
        _ if name.starts_with("MINIMAX_") || name.starts_with("LLM_") => {
            read_by(&[Job::Memory, Job::Schedule])
        }
        _ if name.starts_with("PATCH_") => read_by(&[Job::Patch]),
        _ if name.starts_with("MEMORY_") => read_by(&[Job::Memory]),
        _ if name.starts_with("SCHEDULE_") => read_by(&[Job::Schedule]),
        _ if name.starts_with("REWARD_") => read_by(&[Job::Rewards]),
        _ => true,
    }
}

#[cfg(test)]
mod tests;
