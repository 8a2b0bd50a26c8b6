//! The HTTP request as PostgREST reads it (reference §1, §2, §4.3, §11): resource path, schema
//! (profile headers), method check, query string, `Range`, `Accept` negotiation, and the
//! request context GUC values (`request.headers`, `request.cookies`).

use axum::http::{HeaderMap, Method};
use bytes::Bytes;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::prefer::Prefs;
use crate::query::{Mode, QueryParams, decode_query};

/// What the path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// `/`: the OpenAPI description.
    Root,
    Relation(String),
    Rpc(String),
}

/// The negotiated response media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    Json,
    Object {
        strip_nulls: bool,
    },
    /// `text/csv`.
    Csv,
}

/// A parsed API request.
pub(crate) struct ApiRequest {
    pub method: Method,
    /// Path without the `/rest/v1` prefix, as received (for `request.path`).
    pub path: String,
    pub resource: Resource,
    pub schema: String,
    /// True when `Content-Profile` must be sent back (several schemas or a profile header).
    pub profile_response: bool,
    pub pairs: Vec<(String, String)>,
    pub query: QueryParams,
    pub prefs: Prefs,
    pub media: Media,
    /// `Range: a-b` (GET only): first row and optional last row.
    pub range: Option<(i64, Option<i64>)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ApiRequest {
    /// Parses in PostgREST's order: path → profile → method → query string → range.
    pub fn parse(
        method: Method,
        path: &str,
        raw_query: &str,
        headers: HeaderMap,
        body: Bytes,
        schemas: &[String],
        allow_tx: bool,
    ) -> ApiResult<ApiRequest> {
        let resource = resource(path)?;
        let (schema, profile_response) = schema(&method, &headers, schemas)?;
        check_method(&method, &resource)?;
        if let Some(too_long) = crate::query::query_too_long(raw_query) {
            return Err(too_long);
        }
        let pairs = decode_query(raw_query);
        let is_read = matches!(method, Method::GET | Method::HEAD);
        let mode = if is_read && matches!(resource, Resource::Rpc(_)) {
            Mode::RpcGet
        } else {
            Mode::Filters
        };
        let query = QueryParams::parse(&pairs, mode)?;
        let range = if method == Method::GET {
            range(&headers)?
        } else {
            None
        };
        let prefs = Prefs::parse(&headers, allow_tx);
        let media = negotiate(&headers, resource == Resource::Root)?;
        Ok(ApiRequest {
            method,
            path: path.to_string(),
            resource,
            schema,
            profile_response,
            pairs,
            query,
            prefs,
            media,
            range,
            headers,
            body,
        })
    }

    /// `request.headers`: every header but `Cookie`, lower-cased names, later duplicates win.
    pub fn headers_json(&self) -> String {
        let mut m = Map::new();
        for (name, value) in &self.headers {
            if name.as_str() == "cookie" {
                continue;
            }
            m.insert(
                name.as_str().to_string(),
                Value::String(String::from_utf8_lossy(value.as_bytes()).into()),
            );
        }
        Value::Object(m).to_string()
    }

    /// `request.cookies`: cookie name → value.
    pub fn cookies_json(&self) -> String {
        let mut m = Map::new();
        for value in self.headers.get_all("cookie") {
            for pair in String::from_utf8_lossy(value.as_bytes()).split(';') {
                if let Some((k, v)) = pair.trim().split_once('=') {
                    m.insert(k.to_string(), Value::String(v.to_string()));
                }
            }
        }
        Value::Object(m).to_string()
    }

    /// The request's `Content-Type` essence (lower-cased, parameters dropped).
    pub fn content_type(&self) -> String {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "application/json".to_string())
    }
}

fn resource(path: &str) -> ApiResult<Resource> {
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let invalid = || ApiError::new(404, "PGRST125", "Invalid path specified in request URL");
    match segments.as_slice() {
        [name] if name.is_empty() => Ok(Resource::Root),
        [name] => Ok(Resource::Relation(name.clone())),
        [rpc, name] if rpc == "rpc" && !name.is_empty() => Ok(Resource::Rpc(name.clone())),
        _ => Err(invalid()),
    }
}

fn schema(method: &Method, headers: &HeaderMap, schemas: &[String]) -> ApiResult<(String, bool)> {
    let header = if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        "accept-profile"
    } else {
        "content-profile"
    };
    let requested = headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match requested {
        None => Ok((schemas[0].clone(), schemas.len() > 1)),
        Some(s) if schemas.iter().any(|x| x == s) => Ok((s.to_string(), true)),
        Some(s) => Err(
            ApiError::new(406, "PGRST106", format!("Invalid schema: {s}")).hint(format!(
                "Only the following schemas are exposed: {}",
                schemas.join(", ")
            )),
        ),
    }
}

fn check_method(method: &Method, resource: &Resource) -> ApiResult<()> {
    let ok = match resource {
        Resource::Root => matches!(*method, Method::GET | Method::HEAD),
        Resource::Relation(_) => {
            matches!(
                *method,
                Method::GET
                    | Method::HEAD
                    | Method::POST
                    | Method::PATCH
                    | Method::DELETE
                    | Method::PUT
            )
        }
        Resource::Rpc(_) => {
            if !matches!(*method, Method::GET | Method::HEAD | Method::POST) {
                return Err(ApiError::new(
                    405,
                    "PGRST101",
                    format!("Cannot use the {method} method on RPC"),
                ));
            }
            true
        }
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            405,
            "PGRST117",
            format!("Unsupported HTTP method: {method}"),
        ))
    }
}

/// `Range: a-b` or `a-`; anything else is ignored.
fn range(headers: &HeaderMap) -> ApiResult<Option<(i64, Option<i64>)>> {
    let Some(v) = headers.get("range").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some((a, b)) = v.split_once('-') else {
        return Ok(None);
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !(b.is_empty() || digits(b)) {
        return Ok(None);
    }
    let (Ok(lo), hi) = (a.parse::<i64>(), b.parse::<i64>().ok()) else {
        return Ok(None);
    };
    if hi.is_some_and(|h| lo > h) {
        return Err(ApiError::new(416, "PGRST103", "Requested range not satisfiable").details(
            "The lower boundary must be lower than or equal to the upper boundary in the Range header.",
        ));
    }
    Ok(Some((lo, hi)))
}

/// Picks the first producible media type in descending `q` order (PGRST107 if none). The root
/// produces `application/openapi+json` (answered as [`Media::Json`]) or `application/json`.
fn negotiate(headers: &HeaderMap, root: bool) -> ApiResult<Media> {
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*")
        .trim();
    if accept.is_empty() {
        return Ok(Media::Json);
    }
    let mut entries: Vec<(f32, String, Vec<String>)> = accept
        .split(',')
        .map(|entry| {
            let mut parts = entry.split(';').map(|p| p.trim().to_ascii_lowercase());
            let mime = parts.next().unwrap_or_default();
            let params: Vec<String> = parts.collect();
            let q = params
                .iter()
                .find_map(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                .unwrap_or(1.0);
            (q, mime, params)
        })
        .collect();
    entries.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (q, mime, params) in &entries {
        if *q <= 0.0 {
            continue;
        }
        match mime.as_str() {
            "*/*"
            | "application/*"
            | "application/json"
            | "application/vnd.pgrst.array+json"
            | "application/vnd.pgrst.array" => return Ok(Media::Json),
            "application/openapi+json" if root => return Ok(Media::Json),
            "text/csv" if !root => return Ok(Media::Csv),
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" if root => {}
            "application/vnd.pgrst.object+json" | "application/vnd.pgrst.object" => {
                return Ok(Media::Object {
                    strip_nulls: params.iter().any(|p| p == "nulls=stripped"),
                });
            }
            _ => {}
        }
    }
    let list: Vec<&str> = accept.split(',').map(str::trim).collect();
    Err(ApiError::new(
        406,
        "PGRST107",
        format!(
            "None of these media types are available: {}",
            list.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn paths_and_methods() {
        assert_eq!(
            resource("/items").unwrap(),
            Resource::Relation("items".into())
        );
        assert_eq!(
            resource("/Server%20Today").unwrap(),
            Resource::Relation("Server Today".into())
        );
        assert_eq!(resource("/rpc/add").unwrap(), Resource::Rpc("add".into()));
        assert_eq!(resource("/a/b/c").unwrap_err().code, "PGRST125");
        let e = check_method(&Method::DELETE, &Resource::Rpc("f".into())).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (405, "Cannot use the DELETE method on RPC")
        );
    }

    #[test]
    fn negotiation_and_ranges() {
        let mut h = HeaderMap::new();
        h.insert(
            "accept",
            HeaderValue::from_static("application/vnd.pgrst.object+json"),
        );
        assert_eq!(
            negotiate(&h, false).unwrap(),
            Media::Object { strip_nulls: false }
        );
        h.insert("accept", HeaderValue::from_static("text/html"));
        assert_eq!(negotiate(&h, false).unwrap_err().code, "PGRST107");
        h.insert("range", HeaderValue::from_static("2-5"));
        assert_eq!(range(&h).unwrap(), Some((2, Some(5))));
        h.insert("range", HeaderValue::from_static("items=0-1"));
        assert_eq!(range(&h).unwrap(), None);
        h.insert("range", HeaderValue::from_static("5-2"));
        assert_eq!(range(&h).unwrap_err().code, "PGRST103");
    }
}
