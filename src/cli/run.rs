//! `supacron run <job>`: one run of one job in this process, for a person or a system
//! crontab. The answer is the function's JSON answer; the exit code says whether the run
//! completed, so cron (and `set -e` scripts) notice a failure.
//!
//! | exit | meaning |
//! |---|---|
//! | 0 | the run completed (`status` `ok`, `partial` or `skipped`) |
//! | 1 | it could not: Supabase unreachable or erroring, configuration missing or invalid |
//! | 2 | usage error: unknown job or flag, or a malformed `./.env` (nothing ran) |
//!
//! No `CRON_SECRET` is needed: see [`crate::function::FunctionRequest::in_process`].

use http::StatusCode;

use super::progress;
use crate::config::Config;
use crate::function::{FunctionRequest, FunctionResponse, handle};
use crate::invocation::Trigger;
use crate::jobs::catalog::Job;

/// Exit code of a completed run.
pub const EXIT_COMPLETED: u8 = 0;
/// Exit code of a run that could not complete.
pub const EXIT_FAILED: u8 = 1;
/// Exit code of a usage error (the same as the argument parser's).
pub const EXIT_USAGE: u8 = 2;

/// Runs `job` once (trigger `manual`, or `scheduler` from a crontab), logging progress while it goes.
pub async fn run_once(
    job: Job,
    dry_run: bool,
    trigger: Trigger,
    config: &Config,
) -> FunctionResponse {
    progress::with_progress(
        handle(
            job,
            FunctionRequest::in_process(job, dry_run, trigger),
            config,
        ),
        job,
        progress::EVERY,
    )
    .await
}

/// The exit code for an answer: completed only with 200 and a status other than `error`.
pub fn exit_code(answer: &FunctionResponse) -> u8 {
    let status = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|body| body["status"].as_str().map(str::to_owned));
    if answer.status == StatusCode::OK && status.as_deref() != Some("error") {
        EXIT_COMPLETED
    } else {
        EXIT_FAILED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: StatusCode, body: &str) -> FunctionResponse {
        FunctionResponse {
            status,
            headers: Default::default(),
            body: body.into(),
        }
    }

    #[test]
    fn only_a_completed_run_exits_zero() {
        for status in ["ok", "partial", "skipped"] {
            let body = format!(r#"{{"status":"{status}"}}"#);
            assert_eq!(exit_code(&answer(StatusCode::OK, &body)), 0, "{status}");
        }
        assert_eq!(
            exit_code(&answer(StatusCode::OK, r#"{"status":"error"}"#)),
            1
        );
        for status in [500, 501, 502, 503] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(exit_code(&answer(status, r#"{"error":"x"}"#)), 1);
        }
    }
}
