//! The adapter between `vercel_runtime` and [`super::handle`].
//!
//! A function file under `api/` is `run(service_fn(|req| vercel::respond(jobs::X, req)))`
//! after [`init_logging`] (the status function passes
//! [`super::status::FUNCTION`]); naming its own [`super::Function`] links only its code
//! into the binary. A job's time budget is held to its function's `maxDuration` (less the
//! answering margin), whatever `SUPACRON_TIME_BUDGET_SECS` says. [`respond`] never returns `Err`: `vercel_runtime` would answer 500 with
//! the raw error text and log nothing.

use http_body_util::BodyExt;
use vercel_runtime::{Error, Request, Response, ResponseBody};

use super::{Function, FunctionRequest, FunctionResponse, handle};
use crate::config::{Config, Tunables};
use crate::logging::{self, LogFormat};

/// Installs logging as configured by `SUPACRON_LOG` and `SUPACRON_LOG_FORMAT` (JSON when
/// unset), once per process.
pub fn init_logging() {
    let config = Config::global();
    logging::init(
        config.log_format.unwrap_or(LogFormat::Json),
        config.log_level,
    );
}

/// Answers one Vercel invocation of `function`.
pub async fn respond(
    function: impl Into<Function>,
    request: Request,
) -> Result<Response<ResponseBody>, Error> {
    let function = function.into();
    let mut request = read(request).await;
    // Vercel stops the function at its maxDuration: a longer SUPACRON_TIME_BUDGET_SECS would
    // only make the run believe it has time it does not (issue #21), so it is cut here.
    if let Some(job) = function.job() {
        request.time_budget = Some(Tunables::max_duration_budget(job));
    }
    Ok(write(handle(function, request, Config::global()).await))
}

async fn read(request: Request) -> FunctionRequest {
    let (parts, body) = request.into_parts();
    // Read the whole body (the status console's forms; keep-alive connections stay clean).
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    FunctionRequest::new(parts.method, parts.uri, parts.headers).with_body(body)
}

fn write(answer: FunctionResponse) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::from(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}
