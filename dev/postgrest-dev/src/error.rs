//! Errors: the crate's startup [`Error`] and the request-level [`ApiError`], which is the one place
//! where PostgREST error bodies (`{code,details,hint,message}`), their headers and the
//! SQLSTATE → HTTP status mapping of PostgREST's `Error.hs` (reference §10) live.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

/// Failure to start the server (bad configuration, database unreachable, port in use).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unusable (bad database URL, no schema, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// PostgreSQL could not be reached or the schema cache could not be loaded. Displayed with
    /// the SQLSTATE, PostgreSQL's message, detail and hint, and what to do about it.
    #[error("database error: {}", describe_pg(.0))]
    Database(#[from] tokio_postgres::Error),
    /// No connection could be taken from the pool.
    #[error("connection pool error: {0}")]
    Pool(String),
    /// Binding or serving the HTTP socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// A driver error as an operator needs it: `SQLSTATE <code>: <message>` with PostgreSQL's detail
/// and hint, or the connection failure and its cause, followed by what to do. Never a bare
/// "db error".
pub(crate) fn describe_pg(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let shown = s.to_string();
            if !text.contains(&shown) {
                text.push_str(": ");
                text.push_str(&shown);
            }
            source = s.source();
        }
        let advice = if e.is_closed() {
            "the connection was closed; check that PostgreSQL is still running"
        } else {
            "check that PostgreSQL is running and reachable at the host and port of --db-uri / \
             PGRST_DB_URI (locally: scripts/ensure-postgres.sh starts it)"
        };
        return format!("{text}. What to do: {advice}");
    };
    let code = db.code().code();
    let mut text = format!("SQLSTATE {code}: {}", db.message());
    if let Some(d) = db.detail() {
        text.push_str(&format!(" (detail: {d})"));
    }
    if let Some(h) = db.hint() {
        text.push_str(&format!(" (hint: {h})"));
    }
    let advice = match code {
        "28P01" => {
            "the password in --db-uri / PGRST_DB_URI is wrong for that role; fix the URL or \
             ALTER ROLE … PASSWORD (locally, dev/sql/bootstrap.sql gives `authenticator` its \
             development password)"
        }
        "28000" if db.message().contains("not permitted to log in") => {
            "connect as a role with LOGIN: PostgREST's `authenticator` (LOGIN NOINHERIT, granted \
             anon, authenticated and service_role; dev/sql/bootstrap.sql creates it), or ALTER \
             ROLE … LOGIN"
        }
        "28000" => "allow this role, database and address in pg_hba.conf, or connect differently",
        "3D000" => "create the database or fix the database name in --db-uri / PGRST_DB_URI",
        "42501" => {
            "grant the connecting role what the message names (the schema cache needs no \
             privileges on the served schemas; requests need grants to anon, authenticated, \
             service_role)"
        }
        "53300" => "lower --pool-size / PGRST_DB_POOL or raise PostgreSQL's max_connections",
        "57P03" => "PostgreSQL is starting or shutting down; start the server again once it is up",
        c if c.starts_with("08") => "check that PostgreSQL is running and reachable",
        _ => "see PostgreSQL's message above",
    };
    format!("{text}. What to do: {advice}")
}

/// An error answered to the client in PostgREST's format.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub details: Option<String>,
    pub hint: Option<String>,
    /// Extra response headers (`WWW-Authenticate`, `Content-Range`, custom `PGRST` raises).
    pub headers: Vec<(String, String)>,
    /// A body that replaces the standard one (gateway errors, `RAISE SQLSTATE 'PGRST'`).
    pub raw_body: Option<Value>,
    /// A custom HTTP reason phrase (`status_text` of `RAISE SQLSTATE 'PGRST'`).
    pub reason: Option<String>,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: None,
            hint: None,
            headers: Vec::new(),
            raw_body: None,
            reason: None,
        }
    }

    pub fn details(mut self, details: impl Into<String>) -> ApiError {
        self.details = Some(details.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> ApiError {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// PGRST100: a query-string parse failure, worded like PostgREST's parsec errors.
    pub fn parse(what: &str, input: &str, column: usize, details: impl Into<String>) -> ApiError {
        ApiError::new(
            400,
            "PGRST100",
            format!("\"failed to parse {what} ({input})\" (line 1, column {column})"),
        )
        .details(details)
    }

    /// PGRST102 with the given message (`Empty or invalid json`, `All object keys must match`, …).
    pub fn bad_body(message: &str) -> ApiError {
        ApiError::new(400, "PGRST102", message)
    }

    /// Maps a driver error the way PostgREST maps a PostgreSQL error (§10.4).
    /// `authenticated` is true when the effective role differs from the anonymous role.
    pub fn from_pg(err: &tokio_postgres::Error, authenticated: bool) -> ApiError {
        let Some(db) = err.as_db_error() else {
            if err.is_closed() {
                return ApiError::new(
                    503,
                    "PGRST001",
                    "Database client error. Retrying the connection.",
                )
                .details(describe_pg(err))
                .header("Retry-After", "0");
            }
            return ApiError::new(500, "PGRSTX00", "Internal error").details(describe_pg(err));
        };
        let code = db.code().code();
        let message = db.message();
        if code == "PGRST" {
            return custom_raise(message, db.detail());
        }
        let status = sqlstate_status(code, message, authenticated);
        let mut e = ApiError::new(status, code, message);
        e.details = db.detail().map(str::to_string);
        e.hint = db.hint().map(str::to_string);
        if status == 401 {
            e = e.header("WWW-Authenticate", "Bearer");
        }
        e
    }

    /// The HTTP response: body with keys in alphabetical order, `Proxy-Status`, extra headers.
    pub fn into_response(self) -> Response<Body> {
        let body = match &self.raw_body {
            Some(v) => v.to_string(),
            None => json!({
                "code": self.code,
                "details": self.details,
                "hint": self.hint,
                "message": self.message,
            })
            .to_string(),
        };
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = Response::new(Body::from(body.clone()));
        *resp.status_mut() = status;
        if let Some(reason) = &self.reason {
            if let Ok(r) = hyper::ext::ReasonPhrase::try_from(reason.clone().into_bytes()) {
                resp.extensions_mut().insert(r);
            }
        }
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        if let Ok(v) = HeaderValue::from_str(&format!("PostgREST; error={}", self.code)) {
            h.insert(HeaderName::from_static("proxy-status"), v);
        }
        for (name, value) in &self.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::from_str(value),
            ) {
                h.append(n, v);
            }
        }
        resp
    }
}

/// PostgREST's `pgErrorStatus`, checked in the documented order.
fn sqlstate_status(code: &str, message: &str, authenticated: bool) -> u16 {
    let class = &code[..code.len().min(2)];
    match code {
        "23503" | "23505" => return 409,
        "25006" => return 405,
        "21000" => {
            return if message.ends_with("requires a WHERE clause") {
                400
            } else {
                500
            };
        }
        "22023" => {
            return if message.starts_with("role") && message.ends_with("does not exist") {
                401
            } else {
                400
            };
        }
        "53400" => return 500,
        "57P01" => return 503,
        "P0001" => return 400,
        "42883" => {
            return if message.starts_with("function xmlagg(") {
                406
            } else {
                404
            };
        }
        "42P01" => return 404,
        "42P17" => return 500,
        "42501" => return if authenticated { 403 } else { 401 },
        _ => {}
    }
    if let Some(n) = code.strip_prefix("PT") {
        return n
            .parse::<u16>()
            .ok()
            .filter(|s| (100..=999).contains(s))
            .unwrap_or(500);
    }
    match class {
        "08" | "53" => 503,
        "0L" | "0P" | "28" => 403,
        "09" | "25" | "2D" | "38" | "39" | "3B" | "40" | "54" | "55" | "57" | "58" | "F0"
        | "HV" | "P0" | "XX" => 500,
        _ => 400,
    }
}

/// `RAISE SQLSTATE 'PGRST'`: MESSAGE is the JSON body, DETAIL carries status and headers (§10.5).
fn custom_raise(message: &str, detail: Option<&str>) -> ApiError {
    const MSG_HINT: &str = "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.";
    const DETAIL_HINT: &str = "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'.";
    let invalid = |details: String, hint: &str| {
        ApiError::new(
            500,
            "PGRST121",
            "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
        )
        .details(details)
        .hint(hint)
    };
    let body = serde_json::from_str::<Value>(message).ok().and_then(|v| {
        let o = v.as_object()?;
        let code = o.get("code")?.as_str()?.to_string();
        let msg = o.get("message")?.as_str()?.to_string();
        let opt = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        Some((code, msg, opt("details"), opt("hint")))
    });
    let Some((code, msg, details, hint)) = body else {
        return invalid(
            format!("Invalid JSON value for MESSAGE: '{message}'"),
            MSG_HINT,
        );
    };
    let Some(detail) = detail else {
        return invalid(
            "DETAIL is missing in the RAISE statement".into(),
            DETAIL_HINT,
        );
    };
    let parsed = serde_json::from_str::<Value>(detail).ok().and_then(|v| {
        let o = v.as_object()?;
        let status = u16::try_from(o.get("status")?.as_u64()?).ok()?;
        let headers = o.get("headers")?.as_object()?;
        let headers: Option<Vec<(String, String)>> = headers
            .iter()
            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect();
        let reason = match o.get("status_text") {
            None => None,
            Some(v) => Some(v.as_str()?.to_string()),
        };
        Some((status, headers?, reason))
    });
    let Some((status, headers, reason)) = parsed else {
        return invalid(
            format!("Invalid JSON value for DETAIL: '{detail}'"),
            DETAIL_HINT,
        );
    };
    let mut e = ApiError::new(status, &code, msg);
    e.details = details;
    e.hint = hint;
    e.headers = headers;
    e.reason = reason;
    e
}

#[cfg(test)]
mod tests {
    use super::sqlstate_status;

    #[test]
    fn maps_sqlstates_like_postgrest() {
        assert_eq!(sqlstate_status("23505", "dup", false), 409);
        assert_eq!(sqlstate_status("23503", "fk", false), 409);
        assert_eq!(sqlstate_status("23514", "check", false), 400);
        assert_eq!(sqlstate_status("42501", "denied", false), 401);
        assert_eq!(sqlstate_status("42501", "denied", true), 403);
        assert_eq!(sqlstate_status("PT402", "pay", false), 402);
        assert_eq!(sqlstate_status("PT40A", "x", false), 500);
        assert_eq!(sqlstate_status("P0001", "raise", false), 400);
        assert_eq!(sqlstate_status("P0004", "assert", false), 500);
        assert_eq!(sqlstate_status("42P01", "no table", false), 404);
        assert_eq!(sqlstate_status("40001", "serialization", false), 500);
        assert_eq!(
            sqlstate_status("22023", "role \"x\" does not exist", true),
            401
        );
        assert_eq!(sqlstate_status("08006", "conn", false), 503);
    }
}
