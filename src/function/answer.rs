//! The answers every function gives: [`FunctionResponse`], JSON with `Cache-Control:
//! no-store` and the request's id, a job run's answer, and the one error body. Errors are
//! mapped here and only here ([`AppError::status`]), never handed to `vercel_runtime`
//! (which would echo the raw error text).

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::Function;
use crate::error::AppError;
use crate::invocation::{RunFailure, RunSummary};
use crate::jobs::catalog::Job;

/// A complete answer: status, headers, body.
#[derive(Clone, Debug)]
pub struct FunctionResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers (content type, no-store, run id, `Allow` on 405).
    pub headers: HeaderMap,
    /// The body: JSON, or the status page's HTML.
    pub body: String,
}

/// The answer to a completed run: job, run id, status, dry run, the job's counts, duration.
pub(super) fn run_answer(
    job: Job,
    run_id: Uuid,
    dry_run: bool,
    duration_ms: u64,
    summary: &RunSummary,
) -> FunctionResponse {
    let mut body = Map::new();
    body.insert("job".into(), json!(job.name()));
    body.insert("run_id".into(), json!(run_id));
    body.insert("status".into(), json!(summary.status));
    body.insert("dry_run".into(), json!(dry_run));
    body.extend(summary.counts.clone());
    body.insert("duration_ms".into(), json!(duration_ms));
    respond(StatusCode::OK, run_id, &Value::Object(body))
}

/// The answer to a refusal or a failure, for every function: `{"error":"unauthorized"}`
/// for every cause of a refusal; otherwise the error's code and public message, the id
/// (a job's `job` and `run_id`, the status function's `request_id`), and the counts of
/// what a run did before failing.
pub(super) fn error_answer(function: Function, id: Uuid, failure: &RunFailure) -> FunctionResponse {
    let error = &failure.error;
    let mut body = match (error, function) {
        (AppError::Unauthorized, _) => json!({ "error": "unauthorized" }),
        (_, Function::Job(entry)) => json!({
            "error": error.code(),
            "message": failure.public_message(),
            "job": entry.job.name(),
            "run_id": id,
        }),
        (_, Function::Status(_)) => json!({
            "error": error.code(),
            "message": error.public_message(),
            "request_id": id,
        }),
    };
    if !failure.counts.is_empty() {
        body["counts"] = Value::Object(failure.counts.clone());
    }
    let mut response = respond(error.status(), id, &body);
    match error {
        AppError::MethodNotAllowed => {
            response
                .headers
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        AppError::TooManyRequests { retry_after_secs } => {
            response
                .headers
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        _ => {}
    }
    response
}

/// A JSON answer: `status`, `body`, no-store, and `x-supacron-run-id: <id>`.
pub fn respond(status: StatusCode, id: Uuid, body: &Value) -> FunctionResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(id) = HeaderValue::from_str(&id.to_string()) {
        headers.insert("x-supacron-run-id", id);
    }
    FunctionResponse {
        status,
        headers,
        body: body.to_string(),
    }
}
