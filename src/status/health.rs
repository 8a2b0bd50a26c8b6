//! The verdict per job: green, amber or red, with every reason, from a [`Report`].
//!
//! Red means someone should act now: the last run failed (also a run that never
//! finished), or the schedule's last tick passed without a scheduled run. Amber means
//! look soon: the last run was partial or skipped, runs failed in the last 24 hours,
//! dead items or expired leases wait in the queue, due work has waited over an hour, or
//! nothing was recorded yet. Otherwise green. The rules are pure and unit tested; the
//! HTML page and the JSON answer show the same verdicts.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{JobSummary, QueueHealth, Report};
use crate::jobs::catalog::Job;

/// Due work older than this makes a tile amber.
pub const STALE_DUE_SECS: i64 = 3600;

/// How healthy a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Nothing to do.
    Green,
    /// Look soon.
    Amber,
    /// Act now.
    Red,
}

impl Level {
    /// The name used in the JSON answer and as the tile's CSS class.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Amber => "amber",
            Level::Red => "red",
        }
    }
}

/// One job's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tile {
    /// Job name.
    pub job: String,
    /// The worst level among the reasons.
    pub level: Level,
    /// Why, most severe first (one line for green too).
    pub reasons: Vec<String>,
}

/// One tile per job: supacron's jobs in their usual order, then any other job with runs.
pub fn tiles(report: &Report) -> Vec<Tile> {
    let mut names: Vec<String> = Job::ALL.iter().map(|j| j.name().to_string()).collect();
    for summary in &report.cron_run_summary {
        if !names.contains(&summary.job) {
            names.push(summary.job.clone());
        }
    }
    names
        .into_iter()
        .map(|name| {
            let empty = JobSummary {
                job: name.clone(),
                ..Default::default()
            };
            let summary = report
                .cron_run_summary
                .iter()
                .find(|s| s.job == name)
                .unwrap_or(&empty);
            tile(summary, report.queue(&name), report.generated_at)
        })
        .collect()
}

/// The verdict for one job at `now`.
pub fn tile(summary: &JobSummary, queue: Option<&QueueHealth>, now: DateTime<Utc>) -> Tile {
    let mut reasons: Vec<(Level, String)> = Vec::new();
    let mut add = |level, reason: String| reasons.push((level, reason));
    match summary.last_status.as_deref() {
        Some("error") => add(
            Level::Red,
            format!(
                "last run failed {}: {}",
                ago(summary.last_started_at, now),
                first_line(summary.last_error.as_deref().unwrap_or("no error recorded"))
            ),
        ),
        Some("partial") => add(
            Level::Amber,
            format!(
                "last run partial {}{}",
                ago(summary.last_started_at, now),
                partial_counts(summary)
            ),
        ),
        Some("skipped") => add(
            Level::Amber,
            format!(
                "last run skipped {} (another run held the job's lease)",
                ago(summary.last_started_at, now)
            ),
        ),
        None => add(Level::Amber, "no runs recorded yet".into()),
        _ => {}
    }
    if summary.last_tick_missing {
        let tick = summary
            .last_expected_tick
            .map(|t| tick_time(t, summary.timezone.as_deref()))
            .unwrap_or_default();
        add(
            Level::Red,
            format!(
                "no scheduled run for the {tick} tick of `{}`: is the cron deployed and firing?",
                summary.schedule.as_deref().unwrap_or("?")
            ),
        );
    }
    let earlier_failures =
        summary.failures_24h - i64::from(summary.last_status.as_deref() == Some("error"));
    if earlier_failures > 0 {
        add(
            Level::Amber,
            format!("{} in 24 h", plural(summary.failures_24h, "failed run")),
        );
    }
    if let Some(q) = queue {
        if q.dead > 0 {
            add(
                Level::Amber,
                format!("{} given up on", plural(q.dead, "item")),
            );
        }
        if q.expired_leases > 0 {
            add(
                Level::Amber,
                format!(
                    "{} (a run died while holding it)",
                    plural(q.expired_leases, "expired lease")
                ),
            );
        }
        if q.oldest_due_age_seconds
            .is_some_and(|age| age > STALE_DUE_SECS)
        {
            add(
                Level::Amber,
                format!(
                    "{} due, the oldest waiting {}",
                    q.due,
                    duration(q.oldest_due_age_seconds.unwrap_or(0))
                ),
            );
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
    let level = reasons.first().map_or(Level::Green, |r| r.0);
    let mut reasons: Vec<String> = reasons.into_iter().map(|r| r.1).collect();
    if reasons.is_empty() {
        let state = if summary.running {
            "running now"
        } else {
            "healthy"
        };
        reasons.push(format!(
            "{state}; last run {} ({})",
            ago(summary.last_started_at, now),
            summary.last_status.as_deref().unwrap_or("-")
        ));
    }
    Tile {
        job: summary.job.clone(),
        level,
        reasons,
    }
}

/// `07:00 UTC`, and the schedule's own zone when it has one: `07:00 UTC (Europe/Berlin)`.
fn tick_time(tick: DateTime<Utc>, zone: Option<&str>) -> String {
    let utc = tick.format("%H:%M UTC").to_string();
    match zone.filter(|z| !matches!(*z, "UTC" | "Etc/UTC")) {
        Some(zone) => format!("{utc} (schedule in {zone})"),
        None => utc,
    }
}

fn partial_counts(summary: &JobSummary) -> String {
    let count = |key: &str| {
        summary
            .last_counts
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(|v| v.as_i64())
            .unwrap_or(0)
    };
    let parts: Vec<String> = [
        ("failed_count", "failed"),
        ("dead_count", "dead"),
        ("remaining", "left"),
    ]
    .into_iter()
    .filter(|(key, _)| count(key) > 0)
    .map(|(key, label)| format!("{} {label}", count(key)))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The first line of `text`, at most 160 characters.
pub fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

/// `3 min ago`, `2 h ago`, `never`.
pub fn ago(then: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match then {
        None => "never".into(),
        Some(then) => format!("{} ago", duration((now - then).num_seconds().max(0))),
    }
}

/// `45 s`, `3 min`, `2 h`, `3 d`.
pub fn duration(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

fn plural(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests;
