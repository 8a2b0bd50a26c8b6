//! The status function (`api/cron/status`): the run history and queues at a glance.
//!
//! Not a job: it is in no cron, changes nothing and is not recorded in `cron_runs` (a
//! page someone reloads is not a run). It shares the jobs' front door: GET or POST
//! (else 405), `CRON_SECRET` from the same three places (else 401; unset: 500), Supabase
//! configuration (else 500 naming the variables). Then one request to Supabase
//! (`status_report`) and the answer:
//!
//! - by default JSON: `generated_at`, `tiles` (the verdict per job), `cron_run_summary`
//!   and `queue_health` (the two views), `dead_jobs`;
//! - with `Accept: text/html` (what a browser sends), the page of [`crate::status::html`],
//!   with a Content-Security-Policy that allows no scripts and no outside resources, and
//!   no referrer (a `?secret=` in the address must not leak through a link).
//!
//! Answers carry `x-supacron-run-id` like the jobs' (here the id of the request, logged
//! with it). `supacron serve` serves it at [`PATH`] by calling [`handle_status`].

use std::time::Instant;

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::json;
use uuid::Uuid;

use super::{FunctionRequest, FunctionResponse, error_response, refusal, respond};
use crate::auth;
use crate::config::Config;
use crate::error::AppError;
use crate::status::{Report, health, html};
use crate::supabase::Supabase;

/// Where the status function is served.
pub const PATH: &str = "/api/cron/status";

/// Its `maxDuration` in `vercel.json`: one database request, but more than the default
/// `SUPABASE_TIMEOUT_SECS` (10), so a slow database answers our 503, not Vercel's 504.
pub const MAX_DURATION_SECS: u64 = 15;

/// Answers one request for the status. Never fails: every error becomes an answer.
pub async fn handle_status(request: FunctionRequest, config: &Config) -> FunctionResponse {
    let started = Instant::now();
    let request_id = Uuid::new_v4();
    let wants_html = wants_html(&request.headers);
    let response = match answer(&request, config, wants_html, request_id).await {
        Ok(response) => response,
        Err(error) => {
            let body = match &error {
                AppError::Unauthorized => json!({ "error": "unauthorized" }),
                _ => json!({
                    "error": error.code(),
                    "message": error.public_message(),
                    "request_id": request_id,
                }),
            };
            if !matches!(error, AppError::Unauthorized) && error.status().is_server_error() {
                tracing::error!(request_id = %request_id, cause = %error, "status failed");
            }
            error_response(&error, request_id, &body)
        }
    };
    let query = request
        .uri
        .query()
        .map(auth::redact_query)
        .unwrap_or_default();
    tracing::info!(
        request_id = %request_id,
        method = %request.method,
        path = request.uri.path(),
        query = %query,
        http_status = response.status.as_u16(),
        html = wants_html,
        duration_ms = started.elapsed().as_millis() as u64,
        "status served"
    );
    response
}

async fn answer(
    request: &FunctionRequest,
    config: &Config,
    wants_html: bool,
    request_id: Uuid,
) -> Result<FunctionResponse, AppError> {
    if request.method != Method::GET && request.method != Method::POST {
        return Err(AppError::MethodNotAllowed);
    }
    auth::authorize_status(config, &request.headers, request.uri.query()).map_err(refusal)?;
    let job_config = config.for_status()?;
    let db = Supabase::shared(&job_config.supabase);
    let min_new = job_config.tunables.memory_min_new_messages;
    let report = Report::fetch(db, wants_html, min_new).await?;
    let tiles = health::tiles(&report);
    if wants_html {
        return Ok(html_response(html::render(&report, &tiles)));
    }
    let mut body = serde_json::to_value(&report).map_err(|e| AppError::Internal(e.to_string()))?;
    body["tiles"] = serde_json::to_value(&tiles).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(respond(StatusCode::OK, request_id, &body))
}

/// True when the client asks for HTML (a browser's `Accept: text/html,...`).
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_html_and_everyone_else_json() {
        let mut headers = HeaderMap::new();
        assert!(!wants_html(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!wants_html(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        );
        assert!(wants_html(&headers));
    }
}
