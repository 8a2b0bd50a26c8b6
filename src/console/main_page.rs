//! What the signed-in main page adds to the status page: who is signed in and the notice of
//! the last action, a run-now button and a link to the runs on each tile, the dead jobs with
//! check boxes, the operator actions the queues call for, and the latest audit rows.

use std::fmt::Write;

use super::Console;
use super::html::{Cell, col, link, submit, table};
use crate::jobs::catalog::Job;
use crate::status::Report;
use crate::status::health::first_line;
use crate::status::html::escape;

/// The bar with the session and sign-out, and the notice of the action just done.
pub fn top(console: &Console) -> String {
    let mut out = format!(
        "<div class=\"bar\"><span>Signed in · session <code>{}</code> · until {} UTC · {}</span>{}</div>",
        escape(&console.session.id[..8]),
        console.session.expires_at.format("%Y-%m-%d %H:%M"),
        link("view=actions", "audit log"),
        console.forms.button("sign_out", &[], "Sign out"),
    );
    if let Some(notice) = &console.overview.notice {
        let bad = matches!(notice.outcome.as_str(), "refused" | "failed");
        let again = if console.again {
            "This form had been sent before: nothing was done again. It had done this: "
        } else {
            ""
        };
        let _ = write!(
            out,
            "<div class=\"notice{}\" role=\"status\"><span>{again}{}</span>",
            if bad { " bad" } else { "" },
            escape(&notice.notice)
        );
        if let Some(answer) = &notice.answer {
            let pretty = serde_json::to_string_pretty(answer).unwrap_or_default();
            let _ = write!(
                out,
                "<details><summary>the run's answer</summary><pre>{}</pre></details>",
                escape(&pretty)
            );
        }
        out.push_str("</div>");
    }
    out
}

/// A tile's links and buttons: its runs, and run now (supacron's own jobs only).
pub fn tile_actions(console: &Console, job: &str) -> String {
    let Some(known) = Job::from_name(job).filter(|j| j.name() == job) else {
        let encoded: String = form_urlencoded::byte_serialize(job.as_bytes()).collect();
        return format!(
            "<div class=\"actions\">{}</div>",
            link(&format!("view=runs&job={encoded}"), "runs")
        );
    };
    format!(
        "<div class=\"actions\">{}{}</div>",
        link(&format!("view=runs&job={}", known.name()), "runs"),
        console
            .forms
            .button("run_job_now", &[("job", known.name())], "Run now")
    )
}

/// The latest dead patch jobs, to tick and requeue (or requeue all dead and failed ones).
pub fn dead_jobs(console: &Console, report: &Report) -> String {
    let mut out = String::from("<h2>Latest dead patch jobs</h2>");
    let rows: Vec<_> = report
        .dead_jobs
        .iter()
        .map(|job| {
            let mut row = serde_json::to_value(job)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            row.insert(
                "last_error".into(),
                first_line(job.last_error.as_deref().unwrap_or("")).into(),
            );
            row
        })
        .collect();
    out.push_str(&console.forms.open("requeue_dead_patch_jobs", &[], "block"));
    out.push_str(&table(
        &[
            col("id", "id", Cell::PatchJob),
            col("error_kind", "kind", Cell::Plain),
            col("attempts", "attempts", Cell::Plain),
            col("finished_at", "when", Cell::Time),
            col("last_error", "last_error", Cell::Text),
        ],
        &rows,
        Some(("id", &|_: &serde_json::Map<String, serde_json::Value>| true)),
    ));
    let _ = write!(
        out,
        "<div class=\"actions\">{}{}{}</div></form>",
        submit("Requeue selected", None),
        submit("Requeue all dead and failed", Some("all")),
        link("view=patch_jobs&status=dead", "all dead jobs")
    );
    out
}

/// The operator actions the queues call for, each with what it would change.
pub fn operations(console: &Console, report: &Report) -> String {
    let overview = console.overview;
    let forms = &console.forms;
    let mut items = Vec::new();
    let patch = report.queue("patch");
    let (dead, failed) = patch.map_or((0, 0), |q| (q.dead, q.failed));
    items.push(format!(
        "Patch jobs: {dead} dead, {failed} failed · {} · {}{}",
        link("view=patch_jobs&status=dead", "dead"),
        link("view=patch_jobs&status=failed", "failed"),
        if dead + failed > 0 {
            forms.button(
                "requeue_dead_patch_jobs",
                &[("all", "1")],
                "Requeue all dead and failed",
            )
        } else {
            String::new()
        }
    ));
    items.push(format!(
        "Conversations held back by a failed patch job: {} · {}",
        overview.held_conversations,
        link("view=held", "list")
    ));
    if overview.expired_locks.is_empty() {
        items.push("Job locks: none expired.".to_string());
    }
    for lock in &overview.expired_locks {
        items.push(format!(
            "The {} job's lock expired at {} UTC (held by <code>{}</code>): the next run takes it over anyway; clear it only to free the job now. {}",
            escape(&lock.job),
            lock.lease_until
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            escape(lock.lease_owner.as_deref().unwrap_or("-")),
            forms.button("clear_expired_job_lock", &[("job", &lock.job)], "Clear expired lock")
        ));
    }
    items.push(format!(
        "Schedule ticks given up on: {} · {}{}",
        overview.given_up_ticks,
        link("view=ticks", "list"),
        if overview.given_up_ticks > 0 {
            forms.button(
                "retry_given_up_schedule_ticks",
                &[("all", "1")],
                "Retry all given-up ticks",
            )
        } else {
            String::new()
        }
    ));
    for (job, count) in [
        ("outcomes", overview.refused_outcomes),
        ("rewards", overview.refused_rewards),
    ] {
        items.push(format!(
            "Rows the {job} job refused: {count} · {}{}",
            link(&format!("view=refused&job={job}"), "list"),
            if count > 0 {
                forms.button(
                    "retry_refused_training_rows",
                    &[("job", job), ("all", "1")],
                    "Retry all refused rows",
                )
            } else {
                String::new()
            }
        ));
    }
    let mut out = String::from("<h2>Operator actions</h2><ul class=\"ops\">");
    for item in items {
        let _ = write!(out, "<li>{item}</li>");
    }
    out.push_str("</ul>");
    out
}

/// The latest rows of the audit log.
pub fn recent_actions(console: &Console) -> String {
    let rows: Vec<_> = console
        .overview
        .actions
        .iter()
        .map(super::pages::action_row)
        .collect();
    format!(
        "<h2>Recent operator actions</h2>{}<p class=\"pager\">{}</p>",
        table(&super::pages::ACTION_COLUMNS, &rows, None),
        link("view=actions", "the whole audit log")
    )
}
