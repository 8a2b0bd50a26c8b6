//! The status function (`api/cron/status`): the run history and queues at a glance.
//!
//! Not a job: it is in no cron, changes nothing and is not recorded in `cron_runs` (a
//! page someone reloads is not a run). It goes through the jobs' front door
//! ([`super::handle`] with [`FUNCTION`]): GET or POST (else 405), `CRON_SECRET` from the
//! same three places (else 401; unset: 500), Supabase configuration (else 500 naming the
//! variables). Then one request to Supabase (`status_report`) and the answer:
//!
//! - by default JSON: `generated_at`, `tiles` (the verdict per job), `cron_run_summary`
//!   and `queue_health` (the two views), `dead_jobs`;
//! - with `Accept: text/html` (what a browser sends), the page of [`crate::status::html`],
//!   with a Content-Security-Policy that allows no scripts and no outside resources, and
//!   no referrer (a `?secret=` in the address must not leak through a link).
//!
//! JSON answers carry `x-supacron-run-id` like the jobs' (here the id of the request,
//! logged with it as `request_id`).

use http::{HeaderMap, HeaderValue, StatusCode, header};

use super::answer::respond;
use super::{Admitted, AnswerFuture, Function, FunctionResponse};
use crate::error::AppError;
use crate::status::{Report, health, html};
use crate::supabase::Supabase;

/// Where the status function is served.
pub const PATH: &str = "/api/cron/status";

/// Its `maxDuration` in `vercel.json`: one database request, but more than the default
/// `SUPABASE_TIMEOUT_SECS` (10), so a slow database answers our 503, not Vercel's 504.
pub const MAX_DURATION_SECS: u64 = 15;

/// The status function, for [`super::handle`].
pub const FUNCTION: Function = Function::Status(answer);

fn answer<'a>(admitted: &'a Admitted<'a>) -> AnswerFuture<'a> {
    Box::pin(report(admitted))
}

async fn report(admitted: &Admitted<'_>) -> Result<FunctionResponse, AppError> {
    let wants_html = admitted.request.wants_html();
    let db = Supabase::shared(&admitted.job_config.supabase);
    let min_new = admitted.job_config.tunables.memory_min_new_messages;
    let report = Report::fetch(db, wants_html, min_new).await?;
    let tiles = health::tiles(&report);
    if wants_html {
        return Ok(html_response(html::render(&report, &tiles)));
    }
    let mut body = serde_json::to_value(&report).map_err(|e| AppError::Internal(e.to_string()))?;
    body["tiles"] = serde_json::to_value(&tiles).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(respond(StatusCode::OK, admitted.id, &body))
}

fn html_response(page: String) -> FunctionResponse {
    let mut headers = HeaderMap::new();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    FunctionResponse {
        status: StatusCode::OK,
        headers,
        body: page,
    }
}
