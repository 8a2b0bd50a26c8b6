//! Who may run a job: the credential check every function does first.
//!
//! Accepted credentials (seed 000 and seed 002):
//! - `Authorization: Bearer <CRON_SECRET>` (what Vercel Cron sends; exact scheme case,
//!   one space),
//! - `x-cron-secret: <CRON_SECRET>`,
//! - `?secret=<CRON_SECRET>` (works, but puts the secret in URLs; the README says why
//!   to prefer the header),
//! - for the training functions only, `x-internal-api-key: <INTERNAL_API_KEY>`.
//!
//! Every comparison is constant-time. The outcome is only [`AuthError`]: callers answer
//! every refusal with the same 401 body, so a caller learns nothing about which part was
//! wrong.

use http::HeaderMap;

use crate::config::{Config, ConfigError};
use crate::jobs::catalog::Job;

/// Why a request may not run the job.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// `CRON_SECRET` is unset or empty: every request is refused (fail closed).
    #[error(transparent)]
    NotConfigured(#[from] ConfigError),
    /// No credential matched.
    #[error("unauthorized")]
    Unauthorized,
}

/// Checks the request's credentials for `job`.
pub fn authorize(
    config: &Config,
    job: Job,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), AuthError> {
    check(config, job.accepts_internal_api_key(), headers, query)
}

/// Checks the credentials of a request for the status function: `CRON_SECRET` only, from
/// the same three places as for a job.
pub fn authorize_status(
    config: &Config,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), AuthError> {
    check(config, false, headers, query)
}

/// Whether the request presents a `CRON_SECRET` credential at all (right or wrong): an
/// `Authorization: Bearer`, an `x-cron-secret` header or a `?secret=`. The status function
/// refuses a wrong one with the API's 401 instead of offering its sign-in.
pub fn presents_cron_secret(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers
        .get_all(http::header::AUTHORIZATION)
        .iter()
        .any(|v| v.as_bytes().starts_with(b"Bearer "))
        || headers.contains_key("x-cron-secret")
        || query_param(query, "secret").is_some()
}

fn check(
    config: &Config,
    internal_api_key: bool,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), AuthError> {
    let cron_secret = config.cron_secret()?;
    let mut accepted = false;
    // Evaluate every source (no early return) so timing does not reveal which one matched.
    for value in headers.get_all(http::header::AUTHORIZATION) {
        if let Some(token) = value.as_bytes().strip_prefix(b"Bearer ") {
            accepted |= cron_secret.matches(token);
        }
    }
    for value in headers.get_all("x-cron-secret") {
        accepted |= cron_secret.matches(value.as_bytes());
    }
    if let Some(secret) = query_param(query, "secret") {
        accepted |= cron_secret.matches(secret.as_bytes());
    }
    // Set but unusable (too short, whitespace): refused like an unset CRON_SECRET (500).
    let key = match internal_api_key {
        true => config.checked_internal_api_key()?,
        false => None,
    };
    if let Some(key) = key {
        for value in headers.get_all("x-internal-api-key") {
            accepted |= key.matches(value.as_bytes());
        }
    }
    if accepted {
        Ok(())
    } else {
        Err(AuthError::Unauthorized)
    }
}

/// The percent-decoded value of the first `name=` parameter in a query string.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key) == name).then(|| percent_decode(value))
    })
}

/// Decodes `%XX` escapes and `+` (a space in query strings). Invalid escapes stay as
/// they are; invalid UTF-8 is replaced, which can only make a secret not match.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The query string with the value of every credential-like parameter replaced by
/// `[redacted]`, for log lines. Only parameter names are kept for those.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_sensitive(&percent_decode(key)) => format!("{key}=[redacted]"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["secret", "key", "token", "password", "auth"]
        .iter()
        .any(|word| key.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_percent_decoded() {
        assert_eq!(
            query_param(Some("a=1&secret=s%2Fx%2By+z"), "secret").as_deref(),
            Some("s/x+y z")
        );
        assert_eq!(query_param(Some("dry_run=1"), "secret"), None);
        assert_eq!(query_param(None, "secret"), None);
        assert_eq!(
            query_param(Some("secret=%zz%4"), "secret").as_deref(),
            Some("%zz%4")
        );
    }

    #[test]
    fn redaction_hides_credential_values_only() {
        assert_eq!(
            redact_query("secret=abc&dry_run=1"),
            "secret=[redacted]&dry_run=1"
        );
        assert_eq!(
            redact_query("api_key=abc&x=%73ecret"),
            "api_key=[redacted]&x=%73ecret"
        );
        assert_eq!(redact_query("%73ecret=abc"), "%73ecret=[redacted]");
    }
}
