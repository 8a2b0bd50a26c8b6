//! The adapter between `vercel_runtime` and [`super::handle`].
//!
//! A function file under `api/` is `run(service_fn(|req| vercel::respond(jobs::X, req)))`
//! after [`crate::logging::init_from_config`]; naming its own [`JobEntry`] links only its
//! job's code into the binary. The status function uses [`respond_status`] instead.
//! [`respond`] never returns `Err`: `vercel_runtime` would answer 500 with the raw error
//! text and log nothing.

use http_body_util::BodyExt;
use vercel_runtime::{Error, Request, Response, ResponseBody};

use super::status::handle_status;
use super::{FunctionRequest, FunctionResponse, handle_entry};
use crate::config::Config;
use crate::jobs::JobEntry;

/// Answers one Vercel invocation of `job`'s function.
pub async fn respond(job: JobEntry, request: Request) -> Result<Response<ResponseBody>, Error> {
    let request = read(request).await;
    Ok(write(
        handle_entry(job, request, Config::global(), None).await,
    ))
}

/// Answers one Vercel invocation of the status function.
pub async fn respond_status(request: Request) -> Result<Response<ResponseBody>, Error> {
    let request = read(request).await;
    Ok(write(handle_status(request, Config::global()).await))
}

async fn read(request: Request) -> FunctionRequest {
    let (parts, body) = request.into_parts();
    // The jobs take no input from the body; read it so keep-alive connections stay clean.
    let _ = body.collect().await;
    FunctionRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
    }
}

fn write(answer: FunctionResponse) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::from(answer.body));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}
