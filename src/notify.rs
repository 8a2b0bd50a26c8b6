//! What a run tells the outside world when it ends: a heartbeat ping after every scheduled
//! run (`SUPACRON_HEARTBEAT_URL`), and an alert webhook post once per incident when a job
//! turns red and once when it recovers (`SUPACRON_ALERT_WEBHOOK_URL`).
//!
//! - **Heartbeat**: the template's `{job}` becomes the job's name; `{status}` says how the
//!   run went in the conventions of the dead-man's-switch services. As a path segment
//!   (`…/{status}`) it is dropped on success and becomes `/fail` on failure (Healthchecks.io:
//!   `/<slug>` and `/<slug>/fail`); anywhere else it is `complete` or `fail` (Cronitor's
//!   `?state=complete|fail`). Only scheduled runs ping (Vercel Cron, Vercel Schedules,
//!   `supacron scheduler`), never manual or dry runs, nor a refused request or a repeated
//!   delivery. A run that failed, or could not start for its configuration, pings failure.
//!   When the clock stops, no ping comes and the service alerts: the one failure no
//!   in-process check can see.
//! - **Alerts**: after every run (any trigger, not dry runs) `cron_alert_sweep` compares each
//!   job's verdict with the open incidents (`cron_incidents`): a job that is red (last run
//!   failed or never finished, or a tick passed without a scheduled run) and has no open
//!   incident gets one, and this run posts `{"text": …}` (Slack-compatible); a job with an
//!   open incident that is no longer red has it closed, and this run posts the recovery. A
//!   unique index lets exactly one of several overlapping runs open (or close) an incident,
//!   and the sweep claims each post for 30 s, so each is posted once. An accepted post is
//!   confirmed (`cron_alert_posted`); one that fails is logged and posted again by a run
//!   after the claim (within a day), so a webhook that was down loses nothing.
//! - **Never in the way**: both run side by side within [`NOTIFY_TIMEOUT`], after the run
//!   was recorded; a slow or failing endpoint delays the answer by at most that and never
//!   changes it. The URLs hold secrets (ping keys, webhook tokens): they are held as
//!   [`crate::secret::Secret`]s (redacted from every log line), and errors are logged
//!   without their URL.

use std::time::Duration;

use once_cell::sync::Lazy;
use serde::Deserialize;
use serde_json::json;

use crate::config::{Config, JobConfig};
use crate::invocation::Trigger;
use crate::jobs::catalog::Job;
use crate::supabase::Supabase;

/// The most a run's answer waits for its heartbeat and alerts together.
pub const NOTIFY_TIMEOUT: Duration = Duration::from_secs(3);

// The requests' own timeout is longer than NOTIFY_TIMEOUT, which bounds them all together.
static CLIENT: Lazy<reqwest::Client> = Lazy::new(|| {
    reqwest::Client::builder()
        .timeout(NOTIFY_TIMEOUT * 2)
        .connect_timeout(NOTIFY_TIMEOUT)
        .user_agent(concat!("supacron/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
});

/// How a run ended, for its heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran (ok, partial, skipped, idle).
    Success,
    /// It failed, or could not start.
    Failure,
    /// Nothing to tell: a repeated delivery of an execution already run.
    Silent,
}

/// Everything a finished request of `job` hands over.
pub struct Finished<'a> {
    /// The job.
    pub job: Job,
    /// Who started it.
    pub trigger: Trigger,
    /// `?dry_run=1`.
    pub dry_run: bool,
    /// How it went.
    pub outcome: Outcome,
    /// Its configuration, when it had one (alerts need the database).
    pub job_config: Option<&'a JobConfig>,
}

/// Pings and posts what `finished` calls for, bounded by [`NOTIFY_TIMEOUT`]. Never fails.
pub async fn after_run(config: &Config, finished: Finished<'_>) {
    if finished.dry_run {
        return;
    }
    let heartbeat = async {
        let scheduled = matches!(
            finished.trigger,
            Trigger::VercelCron | Trigger::VercelSchedule | Trigger::Scheduler
        );
        let (Some(template), true) = (config.heartbeat_url(), scheduled) else {
            return;
        };
        let failed = match finished.outcome {
            Outcome::Success => false,
            Outcome::Failure => true,
            Outcome::Silent => return,
        };
        let url = heartbeat_url(template.expose(), finished.job, failed);
        let status = if failed { "fail" } else { "complete" };
        match CLIENT.get(&url).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::warn!(
                job = finished.job.name(),
                heartbeat = status,
                http_status = response.status().as_u16(),
                "heartbeat ping answered HTTP {}; check SUPACRON_HEARTBEAT_URL",
                response.status().as_u16()
            ),
            Err(error) => {
                let error = error.without_url();
                tracing::warn!(
                    job = finished.job.name(),
                    heartbeat = status,
                    error = %error,
                    "heartbeat ping failed ({error}); the run is unaffected"
                )
            }
        }
    };
    let alerts = async {
        let (Some(webhook), Some(job_config)) = (config.alert_webhook_url(), finished.job_config)
        else {
            return;
        };
        let db = Supabase::shared(&job_config.supabase);
        let changes: Vec<Change> = match db.rpc("cron_alert_sweep", &json!({})).await {
            Ok(changes) => changes,
            Err(error) => {
                tracing::warn!(
                    %error,
                    "could not check the jobs for alerts (cron_alert_sweep); the run is unaffected"
                );
                return;
            }
        };
        let posts = changes
            .iter()
            .map(|change| post(db, webhook.expose(), change));
        futures_util::future::join_all(posts).await;
    };
    let both = futures_util::future::join(heartbeat, alerts);
    if tokio::time::timeout(NOTIFY_TIMEOUT, both).await.is_err() {
        tracing::warn!(
            timeout_secs = NOTIFY_TIMEOUT.as_secs(),
            "heartbeat / alert webhook did not answer within {} s; not waiting longer (the run is unaffected)",
            NOTIFY_TIMEOUT.as_secs()
        );
    }
}

/// One alert or recovery `cron_alert_sweep` answered for this run to post.
#[derive(Debug, Deserialize)]
struct Change {
    /// The incident.
    id: i64,
    job: String,
    /// `alert` or `recovery`.
    kind: String,
    /// Why the job is red (the status page's reason), or what it was red for.
    reason: String,
    /// When the job turned red.
    opened_at: chrono::DateTime<chrono::Utc>,
}

async fn post(db: &Supabase, webhook: &str, change: &Change) {
    let text = match change.kind.as_str() {
        "alert" => format!(
            "🔴 supacron: job `{}` is red: {}",
            change.job, change.reason
        ),
        _ => format!(
            "✅ supacron: job `{}` recovered (red since {}: {})",
            change.job,
            change.opened_at.format("%Y-%m-%d %H:%M UTC"),
            change.reason
        ),
    };
    match CLIENT
        .post(webhook)
        .json(&json!({ "text": text }))
        .send()
        .await
    {
        Ok(response) if response.status().is_success() => {
            tracing::info!(job = %change.job, alert = %change.kind, "alert webhook posted: {text}");
            let confirmed: Result<bool, _> = db
                .rpc(
                    "cron_alert_posted",
                    &json!({"p_id": change.id, "p_kind": change.kind}),
                )
                .await;
            if let Err(error) = confirmed {
                tracing::warn!(
                    job = %change.job,
                    alert = %change.kind,
                    %error,
                    "the alert was posted but could not be marked posted (cron_alert_posted); a later run may post it again"
                );
            }
        }
        Ok(response) => tracing::warn!(
            job = %change.job,
            alert = %change.kind,
            http_status = response.status().as_u16(),
            "alert webhook answered HTTP {} (a later run posts it again): {text}",
            response.status().as_u16()
        ),
        Err(error) => {
            let error = error.without_url();
            tracing::warn!(
                job = %change.job,
                alert = %change.kind,
                error = %error,
                "alert webhook post failed ({error}; a later run posts it again): {text}"
            )
        }
    }
}

/// The heartbeat URL of `template` for a run of `job` ([module docs](self)).
pub fn heartbeat_url(template: &str, job: Job, failed: bool) -> String {
    let (path, query) = match template.find('?') {
        Some(at) => template.split_at(at),
        None => (template, ""),
    };
    let path = path.replace("{job}", job.name());
    let path = path.replace("/{status}", if failed { "/fail" } else { "" });
    let word = if failed { "fail" } else { "complete" };
    let path = path.replace("{status}", word);
    let query = query.replace("{job}", job.name()).replace("{status}", word);
    format!("{path}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_templates_follow_each_service() {
        let hc = "https://hc-ping.com/PINGKEY/supacron-{job}/{status}";
        assert_eq!(
            heartbeat_url(hc, Job::Patch, false),
            "https://hc-ping.com/PINGKEY/supacron-patch"
        );
        assert_eq!(
            heartbeat_url(hc, Job::Patch, true),
            "https://hc-ping.com/PINGKEY/supacron-patch/fail"
        );
        let cronitor = "https://cronitor.link/p/KEY/supacron-{job}?state={status}";
        assert_eq!(
            heartbeat_url(cronitor, Job::Rewards, false),
            "https://cronitor.link/p/KEY/supacron-rewards?state=complete"
        );
        assert_eq!(
            heartbeat_url(cronitor, Job::Rewards, true),
            "https://cronitor.link/p/KEY/supacron-rewards?state=fail"
        );
        assert_eq!(
            heartbeat_url("https://x.example/{job}-{status}", Job::Memory, true),
            "https://x.example/memory-fail"
        );
    }
}
