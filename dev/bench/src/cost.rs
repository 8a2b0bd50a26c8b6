//! What a day costs, from the run's own measurements: for the default schedules
//! ([`Job::clock`], `vercel.json`) the function invocations, GB-seconds (memory ×
//! duration, the way Vercel bills functions) and Supabase requests per day when idle, and
//! per 1,000,000 patch jobs; the same for baseline 3 (the TypeScript route).
//!
//! Inputs: the idle invocation of each function (cold start median, its peak memory, its
//! requests; process section), the patch throughput and requests per 1,000 jobs at 2 ms
//! and `cron-patch`'s peak memory over a long run; for baseline 3 its measured rate,
//! requests and node's peak memory, and one idle invocation from spawning node to its exit.
//! Memory is the measured peak; Vercel bills the function's configured size (2 GB unless
//! `vercel.json` says otherwise), so the second GB-seconds column uses that.

use std::fmt::Write as _;

use supacron::Job;
use supacron::config::Tunables;

use crate::report::{IdleRun, Report, thousands};

/// Vercel's default function memory, GB (the size it bills unless configured).
const VERCEL_DEFAULT_GB: f64 = 2.0;
/// Jobs of the "per 1,000,000 patch jobs" row.
const MILLION: f64 = 1_000_000.0;
/// Jobs one invocation of baseline 3's route takes (its `.limit(100)`).
const TYPESCRIPT_PAGE: f64 = 100.0;

/// Invocations per day of `job` on its default clock (0 when unscheduled).
pub fn job_per_day(job: Job) -> f64 {
    job.clock()
        .and_then(|clock| per_day(&clock.expression))
        .unwrap_or(0.0)
}

/// Invocations per day of a 5-field schedule of the forms `*/N * * * *` and
/// `M * * * *` (the only forms the default schedules use).
pub fn per_day(schedule: &str) -> Option<f64> {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 || fields[1..].iter().any(|f| *f != "*") {
        return None;
    }
    if let Some(step) = fields[0].strip_prefix("*/") {
        let step: f64 = step.parse().ok()?;
        return Some((1440.0 / step).ceil());
    }
    fields[0].parse::<u32>().ok().filter(|m| *m < 60)?;
    Some(24.0)
}

/// One line of the cost table.
struct Line {
    what: String,
    invocations: f64,
    seconds: f64,
    gb_seconds: f64,
    requests: f64,
}

/// Adds the cost table to the report's notes (or says which measurements it lacks).
pub fn add_table(report: &mut Report) {
    let mut lines = Vec::new();
    let mut missing = Vec::new();

    // Ours, idle: each scheduled function's idle invocation, times its ticks per day.
    let mut idle = Line {
        what: "ours, idle day (the five schedules)".into(),
        invocations: 0.0,
        seconds: 0.0,
        gb_seconds: 0.0,
        requests: 0.0,
    };
    let mut provisioned = 0.0;
    for job in Job::ALL {
        let Some(run) = report.idle.iter().find(|r| r.path == job.path()) else {
            missing.push(format!("the idle run of {}", job.path()));
            continue;
        };
        let n = job_per_day(job);
        add_idle(&mut idle, run, n);
        provisioned += n * run.wall_ms / 1000.0 * VERCEL_DEFAULT_GB;
    }
    let have_idle = !report.idle.is_empty();
    if have_idle {
        lines.push((idle, provisioned));
    }

    // Baseline 3, idle: its patch route's idle invocation, assumed for every schedule
    // (seed 000's other routes also start node and ask Supabase at least once).
    if let Some(run) = &report.typescript_idle {
        let mut ts = Line {
            what:
                "baseline 3, idle day (its patch route's idle run for each of the five schedules)"
                    .into(),
            invocations: 0.0,
            seconds: 0.0,
            gb_seconds: 0.0,
            requests: 0.0,
        };
        let n: f64 = Job::ALL.iter().map(|j| job_per_day(*j)).sum();
        add_idle(&mut ts, run, n);
        let provisioned = n * run.wall_ms / 1000.0 * VERCEL_DEFAULT_GB;
        lines.push((ts, provisioned));
    } else {
        missing.push("baseline 3's idle run".into());
    }

    // Per 1,000,000 patch jobs at 2 ms: processing time at the measured rate, plus one
    // start-up per invocation (ours: budget-long invocations, each with its run history's
    // two requests; baseline 3: 100 jobs each, as its route is written).
    let patch_idle = report.idle.iter().find(|r| r.path == Job::Patch.path());
    match (
        report.ours.iter().find(|r| r.latency_ms == 2),
        report.patch_peak_mb,
        patch_idle,
    ) {
        (Some(ours), Some(peak), Some(start)) => {
            let busy = MILLION / ours.rate;
            let budget = Tunables::default().time_budget(Job::Patch).as_secs_f64();
            let invocations = (busy / budget).ceil().max(1.0);
            let seconds = busy + invocations * start.wall_ms / 1000.0;
            lines.push((
                Line {
                    what: "ours, 1,000,000 patch jobs (2 ms per request)".into(),
                    invocations,
                    seconds,
                    gb_seconds: seconds * peak / 1000.0,
                    // The run history: a busy run's opening and closing requests.
                    requests: ours.requests_per_1000 * 1000.0 + 2.0 * invocations,
                },
                seconds * VERCEL_DEFAULT_GB,
            ));
        }
        _ => missing.push("ours at 2 ms, cron-patch's peak memory or its idle run".into()),
    }
    match (
        report.typescript.iter().find(|r| r.latency_ms == 2),
        &report.typescript_idle,
    ) {
        (Some(ts), Some(start)) => {
            let invocations = MILLION / TYPESCRIPT_PAGE;
            let seconds = MILLION / ts.rate + invocations * start.wall_ms / 1000.0;
            lines.push((
                Line {
                    what: "baseline 3, 1,000,000 patch jobs (2 ms per request; 100 per invocation)"
                        .into(),
                    invocations,
                    seconds,
                    gb_seconds: seconds * ts.peak_rss_mb.max(start.peak_mb) / 1000.0,
                    requests: ts.requests_per_1000 * 1000.0,
                },
                seconds * VERCEL_DEFAULT_GB,
            ));
        }
        _ => missing.push("baseline 3 at 2 ms".into()),
    }

    if lines.is_empty() {
        return;
    }
    let mut table = String::from(
        "What a day costs (from this run's durations and peak memory; GB-seconds = memory × \
         duration):\n\n| | invocations | function seconds | GB-seconds at peak memory | \
         GB-seconds at 2 GB (Vercel's default size) | Supabase requests |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (line, provisioned) in &lines {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} |",
            line.what,
            thousands(line.invocations),
            decimals(line.seconds),
            decimals(line.gb_seconds),
            decimals(*provisioned),
            thousands(line.requests)
        );
    }
    if !missing.is_empty() {
        let _ = write!(
            table,
            "\nNot in this run (run throughput and process together for the whole table): {}.",
            missing.join(", ")
        );
    }
    report.notes.push(table);
}

fn add_idle(line: &mut Line, run: &IdleRun, per_day: f64) {
    let seconds = per_day * run.wall_ms / 1000.0;
    line.invocations += per_day;
    line.seconds += seconds;
    line.gb_seconds += seconds * run.peak_mb / 1000.0;
    line.requests += per_day * run.requests as f64;
}

/// `1.234` → `1.23`, `1234.5` → `1,235`.
fn decimals(value: f64) -> String {
    if value < 100.0 {
        format!("{value:.2}")
    } else {
        thousands(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedules_tick_936_times_a_day() {
        let total: f64 = Job::ALL.iter().map(|j| job_per_day(*j)).sum();
        assert_eq!(total, 720.0 + 144.0 + 24.0 + 24.0 + 24.0);
        assert_eq!(per_day("0 3 * * *"), None);
    }
}
