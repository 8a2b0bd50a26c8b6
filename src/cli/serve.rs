//! `supacron serve`: every function path on one port, like `vercel dev`. Each request goes
//! through [`crate::function::handle`] — the code the Vercel functions run — so methods,
//! credentials, answers and log lines are the same. An unknown path is a JSON 404 listing
//! the paths that exist.
//!
//! On shutdown the server stops accepting, lets requests in progress finish (each is one
//! job run, bounded by its time budget) for up to a grace period, then returns.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;

use super::shutdown::Shutdown;
use crate::config::Config;
use crate::function::status;
use crate::function::{FunctionRequest, FunctionResponse, handle};
use crate::jobs::catalog::Job;

/// Request bodies are read up to this size (the status console's forms; the jobs take no
/// input); a longer body is dropped and the request is served without it.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a path is served by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A job's function (`/api/cron/patch`, …).
    Function(Job),
    /// The status function (`/api/cron/status`): run history and queues, JSON or a page.
    Status,
}

/// The endpoint at `path` (a trailing slash is ignored), if any.
pub fn route(path: &str) -> Option<Endpoint> {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    if path == status::PATH {
        return Some(Endpoint::Status);
    }
    Job::ALL
        .into_iter()
        .find(|job| job.path() == path)
        .map(Endpoint::Function)
}

/// Every path served, for the 404 answer and the start-up line.
pub fn paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = Job::ALL.into_iter().map(Job::path).collect();
    paths.push(status::PATH);
    paths
}

/// Why the server cannot start. Says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not ours.
    #[error(
        "cannot listen on {addr}: {source}; pick another port with --port (0 picks a free one)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Binds the listening socket (port 0 picks a free port; see `local_addr`).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Serves every function on `listener` until `shutdown`, then waits up to `grace` for
/// requests in progress. Logs one `listening on <url>` line when ready.
pub async fn serve(
    listener: TcpListener,
    config: Arc<Config>,
    shutdown: Shutdown,
    grace: Duration,
) {
    let url = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(_) => "(unknown address)".into(),
    };
    tracing::info!(
        url = %url,
        paths = %paths().join(" "),
        "listening on {url}"
    );
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let config = config.clone();
                    let service = service_fn(move |request| answer(request, config.clone()));
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%error, "connection closed with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.clone().wait() => break,
        }
    }
    drop(listener);
    let open = graceful.count();
    if open > 0 {
        tracing::info!(
            connections = open,
            "server stopping: waiting up to {} s for requests in progress",
            grace.as_secs()
        );
    }
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("server stopped with requests still in progress (grace period over)");
    }
}

async fn answer(
    request: Request<Incoming>,
    config: Arc<Config>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .unwrap_or_default();
    let endpoint = route(parts.uri.path());
    let request = FunctionRequest::new(parts.method, parts.uri, parts.headers).with_body(body);
    let answer = match endpoint {
        Some(Endpoint::Function(job)) => handle(job, request, &config).await,
        Some(Endpoint::Status) => handle(status::FUNCTION, request, &config).await,
        None => not_found(request.uri.path()),
    };
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    Ok(response)
}

fn not_found(path: &str) -> FunctionResponse {
    // Neither the log nor the answer repeats a secret someone put in the path.
    let path = crate::redact::redact_url_part(path);
    tracing::warn!(path = %path, http_status = 404, "no function at this path");
    let body = json!({
        "error": "not_found",
        "message": format!("no supacron function at {path}; the functions are {}", paths().join(", ")),
    });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    FunctionResponse {
        status: StatusCode::NOT_FOUND,
        headers,
        body: body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_path_routes_to_its_job_and_nothing_else_does() {
        for job in Job::ALL {
            assert_eq!(route(job.path()), Some(Endpoint::Function(job)));
            assert_eq!(
                route(&format!("{}/", job.path())),
                Some(Endpoint::Function(job))
            );
        }
        assert_eq!(route("/api/cron/status"), Some(Endpoint::Status));
        assert!(paths().contains(&"/api/cron/status"));
        for path in ["/", "", "/api", "/api/cron", "/patch", "/api/cron/patch/x"] {
            assert_eq!(route(path), None, "{path}");
        }
    }
}
