//! A stub HTTP server whose every request waits for the test to answer it: the test receives
//! each request (method, path, headers) in arrival order and decides when and how it is
//! answered. "Slow" is a request not answered yet, so nothing sleeps.

use std::convert::Infallible;
use std::time::Duration;

use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// One request the stub received, waiting for its answer.
pub struct Received {
    /// The method.
    pub method: Method,
    /// Path and query, e.g. `/api/cron/patch?scheduled=1`.
    pub path_and_query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    answer: oneshot::Sender<(StatusCode, String)>,
}

impl Received {
    /// A header's value as text (empty when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Answers with `status` and the JSON `body`.
    pub fn answer(self, status: u16, body: serde_json::Value) {
        let _ = self
            .answer
            .send((StatusCode::from_u16(status).unwrap(), body.to_string()));
    }

    /// Leaves the request unanswered for good (the connection stays open until the
    /// client gives up).
    pub fn hang(self) {
        std::mem::forget(self.answer);
    }
}

/// The stub: its base URL and the requests it receives.
pub struct StubHttp {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl StubHttp {
    /// Starts the stub on a free port.
    pub async fn start() -> StubHttp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, requests) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let tx = tx.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let (answer, answered) = oneshot::channel();
                            let _ = tx.send(Received {
                                method: parts.method,
                                path_and_query: parts
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.to_string())
                                    .unwrap_or_default(),
                                headers: parts.headers,
                                body,
                                answer,
                            });
                            let (status, body) = answered
                                .await
                                .unwrap_or((StatusCode::INTERNAL_SERVER_ERROR, "{}".into()));
                            let mut response = Response::new(Full::new(Bytes::from(body)));
                            *response.status_mut() = status;
                            response.headers_mut().insert(
                                http::header::CONTENT_TYPE,
                                http::HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        StubHttp { url, requests }
    }

    /// The next request (fails the test after 20 s without one).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(20), self.requests.recv())
            .await
            .expect("a request within 20 s")
            .expect("the stub is running")
    }

    /// A request that has already arrived, if any.
    pub fn try_next(&mut self) -> Option<Received> {
        self.requests.try_recv().ok()
    }
}
