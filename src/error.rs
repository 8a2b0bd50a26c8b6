//! `AppError`: every way a function invocation can fail, and the one place that maps
//! each to an HTTP status and a safe answer.
//!
//! Bodies say what happened and what to do, with the run id; they never carry secrets,
//! internal error chains or row data. The full cause chain goes to the log instead.

use http::StatusCode;

use crate::config::ConfigError;
use crate::supabase::SupabaseError;

/// A failed invocation.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing or invalid configuration: 500 naming the variables.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No credential matched: 401, the same body for every cause.
    #[error("unauthorized")]
    Unauthorized,
    /// A method other than GET or POST: 405 with `Allow`.
    #[error("method not allowed; use GET or POST")]
    MethodNotAllowed,
    /// A malformed request: 400.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Authenticated, but not allowed to do this (a console action without its session's
    /// CSRF token, or without a session): 403, saying what to do.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many failed sign-ins from this address: 429 with `Retry-After`.
    #[error("too many failed sign-ins; retry in {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until a sign-in is accepted again.
        retry_after_secs: u64,
    },
    /// Supabase failed: 503 when unreachable or timing out (the answer says what the run
    /// had committed before: [`crate::invocation::RunFailure::public_message`]),
    /// 502 when it answered with an error.
    #[error(transparent)]
    Supabase(#[from] SupabaseError),
    /// A bug: 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Config(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Supabase(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Supabase(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// A stable, machine-readable error code for the `error` field of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Config(_) => "configuration",
            AppError::Unauthorized => "unauthorized",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::BadRequest(_) => "bad_request",
            AppError::Forbidden(_) => "forbidden",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Supabase(e) if e.is_unavailable() => "supabase_unavailable",
            AppError::Supabase(_) => "supabase_error",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message for the answer's body: specific, safe, and saying what to do next.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Config(e) => e.to_string(),
            AppError::Unauthorized => "unauthorized".into(),
            AppError::MethodNotAllowed => self.to_string(),
            AppError::BadRequest(m) | AppError::Forbidden(m) => m.clone(),
            AppError::TooManyRequests { retry_after_secs } => format!(
                "too many failed sign-ins from this address; try again in {retry_after_secs} s"
            ),
            AppError::Supabase(e) => e.public_message(),
            AppError::Internal(_) => "internal error; see the function log for this run id".into(),
        }
    }
}

/// Characters of an error text stored on a row (`last_error`, `memory_last_error`, ...) or
/// logged for one item; a longer text is cut with a note of how much was left out (a 1 MB
/// value inside an error must not become a 1 MB row and log line).
pub const MAX_ERROR_CHARS: usize = 1000;

/// `text` without any secret's value ([`crate::redact`]), cut to [`MAX_ERROR_CHARS`]
/// characters, saying how many were left out.
pub fn cap_error(text: &str) -> String {
    cap_chars(&crate::redact::redact(text), MAX_ERROR_CHARS)
}

/// `text` cut to `max` characters (on a character boundary), saying how many were left out.
pub fn cap_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => {
            let left_out = text[end..].chars().count();
            format!("{}… ({left_out} more characters)", &text[..end])
        }
    }
}

/// Result alias for invocation-level code.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_error_texts_are_cut_on_a_character_boundary() {
        assert_eq!(cap_chars("short", 10), "short");
        assert_eq!(cap_chars("ééééé", 2), "éé… (3 more characters)");
        let capped = cap_error(&"x".repeat(1_000_000));
        assert!(capped.len() < 1100 && capped.ends_with("(999000 more characters)"));
    }
}
