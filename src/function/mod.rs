//! The function wrapper: one invocation of one job, from HTTP request to HTTP answer.
//!
//! Used by all five Vercel functions (through [`vercel`]), by `supacron serve`, and — as
//! [`handle_trusted`] — by `supacron run` and the scheduler, so every entry point has the
//! same methods, auth, answers and logs:
//!
//! 1. GET and POST run the job (Vercel Cron sends GET); other methods get 405 + `Allow`.
//! 2. Credentials are checked ([`crate::auth`]); an unset `CRON_SECRET` refuses all (500).
//! 3. The job's configuration is loaded; anything missing is a 500 naming the variables.
//! 4. The run is opened in `cron_runs` ([`record`]); when the job has nothing pending that
//!    same request records it as finished and the answer follows at once (one request).
//!    Otherwise the job runs with a run id and a time budget (`?dry_run=1` changes
//!    nothing), and its status, counts and error are recorded as it ends. Refusals (steps
//!    1-3) are not runs and are not recorded.
//! 5. The answer is JSON with `Cache-Control: no-store`; errors are mapped here and only
//!    here ([`AppError::status`]), never handed to `vercel_runtime` (which would echo
//!    the raw error text). One summary line is logged per invocation.

pub mod record;
pub mod status;
pub mod vercel;

use std::time::Instant;

use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use serde_json::{Map, Value, json};
use tracing::Instrument;
use uuid::Uuid;

use crate::auth::{self, AuthError};
use crate::config::Config;
use crate::error::AppError;
use crate::job::Job;
use crate::jobs::{self, JobEntry};
use crate::run::{RunContext, RunFailure, RunSummary, Trigger};
use crate::supabase::Supabase;

use self::record::{Begun, Recorder};

/// The parts of an HTTP request a job invocation looks at.
#[derive(Clone, Debug)]
pub struct FunctionRequest {
    /// HTTP method.
    pub method: Method,
    /// Request URI (path and query).
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
}

/// A complete answer: status, headers, JSON body.
#[derive(Clone, Debug)]
pub struct FunctionResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers (content type, no-store, run id, `Allow` on 405).
    pub headers: HeaderMap,
    /// The JSON body, serialized.
    pub body: String,
}

/// Who is calling, which decides whether credentials are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// An HTTP request (Vercel, `supacron serve`): credentials are checked.
    Http,
    /// Code inside this process (`supacron run`, the scheduler): already trusted.
    InProcess,
}

impl FunctionRequest {
    /// The request an in-process run stands for: `GET <job's path>[?dry_run=1]`, no headers.
    pub fn in_process(job: Job, dry_run: bool) -> FunctionRequest {
        let uri = if dry_run {
            format!("{}?dry_run=1", job.path())
        } else {
            job.path().to_string()
        };
        FunctionRequest {
            method: Method::GET,
            uri: uri.parse().expect("job paths are valid URIs"),
            headers: HeaderMap::new(),
        }
    }
}

/// Runs `job` for one request and answers. Never fails: every error becomes an answer.
/// `trigger` overrides the user-agent based detection (the scheduler passes its own).
pub async fn handle(
    job: Job,
    request: FunctionRequest,
    config: &Config,
    trigger: Option<Trigger>,
) -> FunctionResponse {
    handle_as(jobs::entry(job), request, config, trigger, Caller::Http).await
}

/// Like [`handle`], for the one job of a function binary: naming its [`JobEntry`] links only
/// that job's code into the binary (see [`JobEntry`]).
pub async fn handle_entry(
    entry: JobEntry,
    request: FunctionRequest,
    config: &Config,
    trigger: Option<Trigger>,
) -> FunctionResponse {
    handle_as(entry, request, config, trigger, Caller::Http).await
}

/// Runs `job` once for a caller inside this process (`supacron run`, the scheduler) and
/// answers exactly as [`handle`] would, minus the credential check: whoever can start the
/// process already holds its environment, the service-role key included, so a secret would
/// prove nothing. `CRON_SECRET` is therefore not needed to run jobs in-process.
pub async fn handle_trusted(
    job: Job,
    dry_run: bool,
    config: &Config,
    trigger: Trigger,
) -> FunctionResponse {
    let request = FunctionRequest::in_process(job, dry_run);
    handle_as(
        jobs::entry(job),
        request,
        config,
        Some(trigger),
        Caller::InProcess,
    )
    .await
}

async fn handle_as(
    entry: JobEntry,
    request: FunctionRequest,
    config: &Config,
    trigger: Option<Trigger>,
    caller: Caller,
) -> FunctionResponse {
    let job = entry.job;
    let run_id = Uuid::new_v4();
    let span = tracing::info_span!("run", run_id = %run_id, job = job.name());
    async move {
        let started = Instant::now();
        let trigger = trigger.unwrap_or_else(|| request_trigger(&request));
        let dry_run = is_dry_run(request.uri.query());
        let mut record_error = None;
        let result = invoke(
            entry,
            &request,
            config,
            (run_id, trigger, dry_run),
            caller,
            &mut record_error,
        )
        .await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let response = match &result {
            Ok(summary) => success(job, run_id, dry_run, duration_ms, summary),
            Err(failure) => failure_answer(job, run_id, failure),
        };
        log_invocation(
            &request,
            trigger,
            &response,
            duration_ms,
            result.as_ref().err().map(|f| &f.error),
            record_error.as_deref(),
        );
        response
    }
    .instrument(span)
    .await
}

/// Checks, runs and records one invocation. A failure to record goes to `record_error`
/// (for the one log line), never into the result.
async fn invoke(
    entry: JobEntry,
    request: &FunctionRequest,
    config: &Config,
    (run_id, trigger, dry_run): (Uuid, Trigger, bool),
    caller: Caller,
    record_error: &mut Option<String>,
) -> Result<RunSummary, RunFailure> {
    let job = entry.job;
    if request.method != Method::GET && request.method != Method::POST {
        return Err(AppError::MethodNotAllowed.into());
    }
    if caller == Caller::Http {
        auth::authorize(config, job, &request.headers, request.uri.query()).map_err(refusal)?;
    }
    let job_config = config.for_job(job).map_err(AppError::from)?;
    let ctx = RunContext::new(
        run_id,
        job,
        trigger,
        dry_run,
        job_config.tunables.time_budget(job),
    );
    let recorder = Recorder::new(Supabase::shared(&job_config.supabase), &ctx, config);
    // The run's first request opens its record and, when the job has nothing pending, is
    // the whole run (see `record`). Dry runs always run: they answer counts.
    let idle = (!dry_run).then(|| (entry.idle)(&job_config));
    let begun = recorder.begin(idle.as_ref()).await;
    if let (Ok(Begun::Idle), Some(idle)) = (&begun, idle) {
        return Ok(idle.summary);
    }
    let result = (entry.run)(&ctx, &job_config).await;
    *record_error = match (begun, recorder.finish(&result).await) {
        (_, Err(finish)) => Some(finish),
        (Err(begin), Ok(())) => Some(format!("{begin} (the end was recorded)")),
        (Ok(_), Ok(())) => None,
    };
    result
}

/// The answer's error for a refused credential check.
pub(crate) fn refusal(error: AuthError) -> AppError {
    match error {
        AuthError::NotConfigured(missing) => AppError::Config(missing),
        AuthError::Unauthorized => AppError::Unauthorized,
    }
}

/// Who started a request's run: Vercel Cron by its user agent; another scheduler (an
/// external cron service on Hobby) says so with `?scheduled=1`; anyone else is `manual`.
/// Only authorised runs are recorded, so the flag cannot be used to forge history.
fn request_trigger(request: &FunctionRequest) -> Trigger {
    let user_agent = request
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    match Trigger::from_user_agent(user_agent) {
        Trigger::Manual if query_flag(request.uri.query(), &["scheduled"]) => Trigger::Scheduler,
        trigger => trigger,
    }
}

/// `?dry_run=1` (also `true`, `yes`, or a bare `dry_run`; `dry-run` works too).
fn is_dry_run(query: Option<&str>) -> bool {
    query_flag(query, &["dry_run", "dry-run"])
}

/// Whether the first of `names` present in `query` is on: `1`, `true`, `yes` or bare.
fn query_flag(query: Option<&str>, names: &[&str]) -> bool {
    let value = names.iter().find_map(|name| auth::query_param(query, name));
    matches!(
        value.map(|v| v.to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes" | "")
    )
}

fn success(
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

/// The answer to a failed run: the error, and the counts of what it did before failing.
fn failure_answer(job: Job, run_id: Uuid, failure: &RunFailure) -> FunctionResponse {
    let error = &failure.error;
    let mut body = match error {
        // The same body for every cause of a refusal.
        AppError::Unauthorized => json!({ "error": "unauthorized" }),
        _ => json!({
            "error": error.code(),
            "message": error.public_message(),
            "job": job.name(),
            "run_id": run_id,
        }),
    };
    if !failure.counts.is_empty() {
        body["counts"] = Value::Object(failure.counts.clone());
    }
    error_response(error, run_id, &body)
}

/// An error answer with `body`: the error's status, and `Allow` on 405.
pub(crate) fn error_response(error: &AppError, run_id: Uuid, body: &Value) -> FunctionResponse {
    let mut response = respond(error.status(), run_id, body);
    if matches!(error, AppError::MethodNotAllowed) {
        response
            .headers
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    }
    response
}

pub(crate) fn respond(status: StatusCode, run_id: Uuid, body: &Value) -> FunctionResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(id) = HeaderValue::from_str(&run_id.to_string()) {
        headers.insert("x-supacron-run-id", id);
    }
    FunctionResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The cause chain of a failure, for the log (answers carry only the public message).
fn cause_chain(error: &AppError) -> String {
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    if let AppError::Supabase(crate::supabase::SupabaseError::Api {
        details: Some(details),
        ..
    }) = error
    {
        chain.push_str(&format!(" (details: {details})"));
    }
    chain
}

/// The one line logged per invocation: request (query redacted), status, timing, the
/// answer, for failures the cause chain, and why the run could not be recorded in
/// `cron_runs` (if so). Level: info, warn for 4xx, error for 5xx.
pub(crate) fn log_invocation(
    request: &FunctionRequest,
    trigger: Trigger,
    response: &FunctionResponse,
    duration_ms: u64,
    error: Option<&AppError>,
    record_error: Option<&str>,
) {
    let query = request
        .uri
        .query()
        .map(auth::redact_query)
        .unwrap_or_default();
    let status = response.status.as_u16();
    // A refusal logs no cause: the log would otherwise tell which credential was wrong.
    let cause = match error {
        Some(AppError::Unauthorized) | None => String::new(),
        Some(error) => cause_chain(error),
    };
    macro_rules! line {
        ($level:ident, $message:literal) => {
            tracing::$level!(
                method = %request.method,
                path = request.uri.path(),
                query = %query,
                trigger = trigger.as_str(),
                http_status = status,
                duration_ms,
                answer = %response.body,
                cause = %cause,
                record_error = record_error.unwrap_or_default(),
                $message
            )
        };
    }
    match status {
        500..=599 => line!(error, "run failed"),
        400..=499 => line!(warn, "request refused"),
        _ => line!(info, "run finished"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_is_read_from_the_query() {
        assert!(is_dry_run(Some("dry_run=1")));
        assert!(is_dry_run(Some("a=b&dry_run=true")));
        assert!(is_dry_run(Some("dry_run")));
        assert!(!is_dry_run(Some("dry_run=0")));
        assert!(!is_dry_run(None));
    }
}
