//! The adapter between `vercel_runtime` and [`super::handle`].
//!
//! A function file under `api/` is `run(service_fn(|req| vercel::respond(Job::X, req)))`
//! after [`crate::logging::init_from_config`].
//! [`respond`] never returns `Err`: `vercel_runtime` would answer 500 with the raw error
//! text and log nothing.

use http_body_util::BodyExt;
use vercel_runtime::{Error, Request, Response, ResponseBody};

use super::{FunctionRequest, handle};
use crate::config::Config;
use crate::job::Job;

/// Answers one Vercel invocation of `job`.
pub async fn respond(job: Job, request: Request) -> Result<Response<ResponseBody>, Error> {
    let (parts, body) = request.into_parts();
    // The jobs take no input from the body; read it so keep-alive connections stay clean.
    let _ = body.collect().await;
    let request = FunctionRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
    };
    let answer = handle(job, request, Config::global(), None).await;
    let mut response = Response::new(ResponseBody::from(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    Ok(response)
}
