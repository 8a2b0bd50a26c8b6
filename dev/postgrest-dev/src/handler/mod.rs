//! Request handling: strips the Supabase `/rest/v1` prefix, serves `/_dev/*`, authenticates,
//! parses, and dispatches to reads, writes or RPC; adds the configured latency to every answer.

mod overload;
mod payload;
mod read;
mod root;
mod rpc;
mod write;

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, Response, StatusCode, header};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::auth::{Identity, authenticate};
use crate::db::TxSettings;
use crate::error::{ApiError, ApiResult};
use crate::request::{ApiRequest, Resource};
use crate::server::AppState;
use crate::sql::ident;

/// Largest request body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Entry point for every HTTP request. Runs in its own task so a client hanging up never
/// interrupts a transaction half-way.
pub(crate) async fn handle(state: Arc<AppState>, req: Request<Body>) -> Response<Body> {
    let task = tokio::spawn(async move {
        let full = req.uri().path().to_string();
        let path = match full.strip_prefix("/rest/v1") {
            Some("") => "/".to_string(),
            Some(p) if p.starts_with('/') => p.to_string(),
            _ => full.clone(),
        };
        if let Some(dev) = path.strip_prefix("/_dev/") {
            return dev_endpoint(&state, dev);
        }
        state.requests.fetch_add(1, Ordering::Relaxed);
        let resp = match api(&state, req, &path).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        };
        let latency = state.latency_nanos.load(Ordering::Relaxed);
        if latency > 0 {
            tokio::time::sleep(Duration::from_nanos(latency)).await;
        }
        resp
    });
    task.await.unwrap_or_else(|e| {
        ApiError::new(500, "PGRSTX00", "Internal error")
            .details(e.to_string())
            .into_response()
    })
}

fn dev_endpoint(state: &AppState, name: &str) -> Response<Body> {
    let body = match name {
        "stats" => format!(
            "{{\"requests\":{}}}",
            state.requests.load(Ordering::Relaxed)
        ),
        "health" => "{\"status\":\"ok\"}".to_string(),
        _ => {
            return ApiError::new(404, "PGRST125", "Invalid path specified in request URL")
                .into_response();
        }
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/json; charset=utf-8".parse().expect("static"),
    );
    resp
}

async fn api(state: &AppState, req: Request<Body>, path: &str) -> ApiResult<Response<Body>> {
    let identity = authenticate(req.headers(), &state.auth)?;
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_BODY).await.map_err(|e| {
        ApiError::new(400, "PGRST102", "Empty or invalid json").details(e.to_string())
    })?;
    let api = ApiRequest::parse(
        parts.method,
        path,
        parts.uri.query().unwrap_or(""),
        parts.headers,
        body,
        &state.schemas,
        state.tx_end.allows_override(),
    )?;
    api.prefs.check_strict()?;
    let ctx = Ctx {
        state,
        api: &api,
        identity: &identity,
    };
    match &api.resource {
        Resource::Root => root::describe_root(&ctx).await,
        Resource::Rpc(name) => rpc::call(&ctx, name).await,
        Resource::Relation(name) => match api.method {
            Method::GET | Method::HEAD => read::read(&ctx, name).await,
            Method::POST => write::insert(&ctx, name).await,
            Method::PATCH => write::update(&ctx, name).await,
            Method::DELETE => write::delete(&ctx, name).await,
            _ => Err(ApiError::new(400, "PGRST127", "Feature not implemented")
                .details(format!("{} is not supported by postgrest-dev", api.method))),
        },
    }
}

/// What every handler needs.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub api: &'a ApiRequest,
    pub identity: &'a Identity,
}

impl Ctx<'_> {
    /// Transaction settings for this request.
    pub fn tx(&self, read_only: bool) -> TxSettings<'_> {
        let mut search_path = ident(&self.api.schema);
        if self.api.schema != "public" {
            search_path.push_str(", \"public\"");
        }
        TxSettings {
            read_only,
            rollback: self
                .api
                .prefs
                .tx_rollback
                .unwrap_or(self.state.tx_end.rolls_back()),
            pre_request: self.state.pre_request.as_deref(),
            identity: self.identity,
            search_path,
            method: self.api.method.as_str(),
            path: &self.api.path,
            headers_json: self.api.headers_json(),
            cookies_json: self.api.cookies_json(),
            timezone: self.api.prefs.timezone.as_deref(),
            role_settings: self
                .state
                .schema
                .snapshot()
                .1
                .role_settings
                .get(&self.identity.role)
                .cloned()
                .unwrap_or_else(|| "{}".into()),
        }
    }

    /// The effective `(offset, limit)` from `limit`/`offset`, the `Range` header and `db-max-rows`.
    pub fn window(&self) -> (i64, Option<i64>) {
        let q = &self.api.query;
        let mut lo = q.offset.unwrap_or(0);
        let mut hi = q.limit.map(|l| lo + l - 1);
        if let Some((a, b)) = self.api.range {
            lo = lo.max(a);
            hi = match (hi, b) {
                (Some(h), Some(b)) => Some(h.min(b)),
                (h, b) => h.or(b),
            };
        }
        let mut limit = hi.map(|h| (h - lo + 1).max(0));
        if let Some(max) = self.state.max_rows {
            let max = i64::try_from(max).unwrap_or(i64::MAX);
            limit = Some(limit.map_or(max, |l| l.min(max)));
        }
        (lo, limit)
    }
}
