//! The one line every function logs per request: the request (query redacted), status,
//! timing and, for failures, the cause chain. A job's line also carries its trigger, the
//! answer and why the run could not be recorded in `cron_runs` (if so), inside the run's
//! span (`run_id`, `job`); the status function's carries `request_id` and whether the page
//! was asked for, never the page. Level: info, warn for 4xx, error for 5xx.

use tracing::field::display;

use super::{Function, FunctionRequest, FunctionResponse};
use crate::auth;
use crate::error::AppError;
use crate::invocation::Trigger;
use crate::supabase::SupabaseError;

/// What one request did, for its line.
pub(super) struct Line<'a> {
    pub function: Function,
    pub request: &'a FunctionRequest,
    pub request_id: uuid::Uuid,
    pub trigger: Trigger,
    pub response: &'a FunctionResponse,
    pub duration_ms: u64,
    pub error: Option<&'a AppError>,
    pub record_error: Option<&'a str>,
}

/// Logs `line` (the one line of its request).
pub(super) fn log(line: Line<'_>) {
    let request = line.request;
    let query = request
        .uri
        .query()
        .map(|q| crate::redact::redact_url_part(&auth::redact_query(q)))
        .unwrap_or_default();
    let status = line.response.status.as_u16();
    // A refusal logs no cause: the log would otherwise tell which credential was wrong.
    let cause = match line.error {
        Some(AppError::Unauthorized) | None => String::new(),
        Some(error) => cause_chain(error),
    };
    let job = matches!(line.function, Function::Job(_));
    // A job's line: its trigger, the answer, record_error (the run id is in its span).
    let trigger = job.then(|| line.trigger.as_str());
    let answer = job.then(|| display(&line.response.body));
    let record_error = job.then(|| line.record_error.unwrap_or_default());
    // The status function's line: its request id and whether a page was asked for.
    let request_id = (!job).then(|| display(line.request_id));
    let html = (!job).then(|| request.wants_html());
    let message = match (job, status) {
        (true, 500..=599) => "run failed",
        (true, 400..=499) => "request refused",
        (true, _) => "run finished",
        (false, _) => "status served",
    };
    macro_rules! line {
        ($level:ident) => {
            tracing::$level!(
                request_id,
                method = %request.method,
                path = %crate::redact::redact_url_part(request.uri.path()),
                query = %query,
                trigger,
                http_status = status,
                html,
                duration_ms = line.duration_ms,
                answer,
                cause = %cause,
                record_error,
                "{message}"
            )
        };
    }
    match status {
        500..=599 => line!(error),
        400..=499 => line!(warn),
        _ => line!(info),
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
    if let AppError::Supabase(SupabaseError::Api {
        details: Some(details),
        ..
    }) = error
    {
        chain.push_str(&format!(" (details: {details})"));
    }
    chain
}
