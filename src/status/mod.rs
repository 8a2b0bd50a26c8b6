//! The status report: what `api/cron/status` shows, read in one round trip
//! (`status_report` in `supabase/schemas/60_status.sql`) and judged by [`health`].
//!
//! [`Report`] mirrors the two views (`cron_run_summary`, `queue_health`), the latest dead
//! patch jobs, what each LLM job spent ([`LlmSpend`]) and, for the HTML page, the last 24 hours of runs. [`health::tiles`] turns
//! it into one green / amber / red verdict per job with its reason; [`html::render`] draws
//! the page. The JSON answer is the same report plus the tiles.

pub mod health;
pub mod html;
pub mod timeline;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::jobs::catalog::Job;
use crate::supabase::{Result, Supabase};

/// Dead jobs listed on the page.
pub const DEAD_JOBS_SHOWN: usize = 10;

/// One row of `cron_run_summary`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct JobSummary {
    /// Job name (`patch`, `memory`, ...).
    pub job: String,
    /// Its cron schedule (null for a job with runs but no schedule).
    pub schedule: Option<String>,
    /// The latest run.
    pub last_run_id: Option<Uuid>,
    /// Its status (`running`, `ok`, `partial`, `error`, `skipped`).
    pub last_status: Option<String>,
    /// Who started it.
    pub last_trigger: Option<String>,
    /// When it started.
    pub last_started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub last_finished_at: Option<DateTime<Utc>>,
    /// How long it took.
    pub last_duration_ms: Option<i64>,
    /// Its error summary.
    pub last_error: Option<String>,
    /// Its counts.
    pub last_counts: Option<Value>,
    /// The latest run that completed (`ok` or `partial`).
    pub last_success_at: Option<DateTime<Utc>>,
    /// A run is in progress (within `maxDuration`).
    pub running: bool,
    /// Runs in the last 24 hours.
    pub runs_24h: i64,
    /// Failed runs (`error`) in the last 24 hours.
    pub failures_24h: i64,
    /// Skipped runs in the last 24 hours.
    pub skipped_24h: i64,
    /// Median duration over 24 hours.
    pub p50_duration_ms_24h: Option<i64>,
    /// 95th percentile duration over 24 hours.
    pub p95_duration_ms_24h: Option<i64>,
    /// The newest tick the schedule expected by now (allowing the tick grace).
    pub last_expected_tick: Option<DateTime<Utc>>,
    /// No scheduled run started for that tick.
    pub last_tick_missing: bool,
    /// The schedule's time zone (`UTC` for crons; a Vercel schedule's `timezone`): the one
    /// the job's runs recorded (`cron_schedules`), else the `vercel.json` this function was
    /// built with.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// One row of `queue_health`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct QueueHealth {
    /// The job whose work this is.
    pub job: String,
    /// Waiting.
    pub pending: i64,
    /// Claimable now.
    pub due: i64,
    /// Under a live lease.
    pub processing: i64,
    /// Under a lease that expired (its run died).
    pub expired_leases: i64,
    /// Failed, to be retried.
    pub failed: i64,
    /// Given up on.
    pub dead: i64,
    /// The longest-waiting due item's due time.
    pub oldest_due_at: Option<DateTime<Utc>>,
    /// Its age in seconds.
    pub oldest_due_age_seconds: Option<i64>,
}

/// A dead patch job.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct DeadJob {
    /// Job id (for `requeue_patch_jobs`).
    pub id: i64,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// Attempts made.
    pub attempts: i64,
    /// `conflict`, `retryable`, `permanent` or `timeout`.
    pub error_kind: Option<String>,
    /// Why it was given up on.
    pub last_error: Option<String>,
    /// When.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What one LLM job spent (`llm_spend_at`): over the last 24 hours, from its runs' counts,
/// and today (UTC) against its daily token budget.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct LlmSpend {
    /// `memory` or `schedule`.
    pub job: String,
    /// Billed calls in 24 hours.
    pub llm_calls_24h: i64,
    /// Of those, the ones whose content could not be used.
    pub unusable_calls_24h: i64,
    /// Prompt tokens in 24 hours.
    pub prompt_tokens_24h: i64,
    /// Completion tokens in 24 hours.
    pub completion_tokens_24h: i64,
    /// Today's ledger, when the job has a daily token budget.
    pub today: Option<SpendToday>,
}

/// One job's `llm_spend_days` row for today.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SpendToday {
    /// The UTC day.
    pub day: chrono::NaiveDate,
    /// Tokens billed today.
    pub spent_tokens: i64,
    /// Tokens reserved by calls in flight (or by runs that died mid-call).
    pub reserved_tokens: i64,
    /// `LLM_DAILY_TOKEN_BUDGET` as last checked.
    pub cap_tokens: Option<i64>,
    /// When a call first found no room today: from then on runs leave work for tomorrow.
    pub cap_reached_at: Option<DateTime<Utc>>,
}

/// One run on the timeline.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct TimelineRun(pub String, pub DateTime<Utc>, pub String);

/// Everything the status function shows.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Report {
    /// The database's time of the report.
    pub generated_at: DateTime<Utc>,
    /// Per job, ordered by name.
    pub cron_run_summary: Vec<JobSummary>,
    /// Per kind of work.
    pub queue_health: Vec<QueueHealth>,
    /// The latest dead patch jobs, newest first.
    pub dead_jobs: Vec<DeadJob>,
    /// What each LLM job spent.
    #[serde(default)]
    pub llm_spend: Vec<LlmSpend>,
    /// Runs of the last 24 hours (only when asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineRun>>,
}

impl Report {
    /// Reads the report (with the timeline for the HTML page) in one request;
    /// `memory_min_new` is the memory job's threshold (`MEMORY_MIN_NEW_MESSAGES`).
    pub async fn fetch(db: &Supabase, timeline: bool, memory_min_new: u64) -> Result<Report> {
        let args = json!({
            "p_dead_limit": DEAD_JOBS_SHOWN,
            "p_timeline": timeline,
            "p_memory_min_new": memory_min_new,
        });
        let mut report: Report = db.rpc("status_report", &args).await?;
        for summary in report
            .cron_run_summary
            .iter_mut()
            .filter(|summary| summary.timezone.is_none())
        {
            summary.timezone = Job::from_name(&summary.job)
                .and_then(Job::clock)
                .map(|clock| clock.timezone.clone());
        }
        Ok(report)
    }

    /// The queue row of `job`, if any.
    pub fn queue(&self, job: &str) -> Option<&QueueHealth> {
        self.queue_health.iter().find(|q| q.job == job)
    }
}
