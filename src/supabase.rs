//! The Supabase client: PostgREST over HTTPS with the service-role key.
//!
//! Built once per process ([`Supabase::shared`]) on the `postgrest` crate, so connections
//! are reused across invocations of a warm function. Every request has a timeout. Key
//! handling follows Supabase's rules: a secret key (`sb_secret_...`) goes in `apikey`
//! only; a legacy service-role JWT goes in both `apikey` and `Authorization: Bearer`.
//! PostgREST's error bodies (`code`, `message`, `details`, `hint`) become a typed
//! [`SupabaseError`].
//!
//! State transitions are SQL functions called through [`Supabase::rpc`]; plain reads may
//! use table endpoints through [`Supabase::from`] and [`Supabase::fetch`].

use std::time::Duration;

use std::collections::HashMap;
use std::sync::Mutex;

use once_cell::sync::Lazy;
use postgrest::Postgrest;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::SupabaseConfig;

/// A PostgREST client for one Supabase project.
#[derive(Clone)]
pub struct Supabase {
    client: Postgrest,
    timeout: Duration,
}

/// A failed Supabase request.
#[derive(Debug, thiserror::Error)]
pub enum SupabaseError {
    /// No answer: connection refused, DNS, TLS, or the timeout passed.
    #[error("Supabase is unreachable ({context}): {source}")]
    Unreachable {
        /// Which call.
        context: String,
        /// The transport error (without URL).
        source: reqwest::Error,
    },
    /// PostgREST answered with an error.
    #[error("Supabase answered {status} to {context}: {code} {message}")]
    Api {
        /// Which call.
        context: String,
        /// HTTP status.
        status: u16,
        /// PostgREST or SQLSTATE code (`PGRST202`, `23505`, ...), empty when absent.
        code: String,
        /// PostgREST's message.
        message: String,
        /// PostgREST's details (may contain row data: logged, never answered).
        details: Option<String>,
        /// PostgREST's hint.
        hint: Option<String>,
    },
    /// A successful answer whose body did not have the expected shape.
    #[error("unexpected answer from Supabase to {context}: {reason}")]
    Decode {
        /// Which call.
        context: String,
        /// What was wrong.
        reason: String,
    },
}

impl SupabaseError {
    /// True when Supabase could not be reached or was unavailable (no answer: the request may or may not have been applied):
    /// transport errors and timeouts, and gateway statuses 502, 503, 504.
    pub fn is_unavailable(&self) -> bool {
        match self {
            SupabaseError::Unreachable { .. } => true,
            SupabaseError::Api { status, .. } => matches!(status, 502..=504),
            SupabaseError::Decode { .. } => false,
        }
    }

    /// The PostgREST/SQLSTATE code, if Supabase answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            SupabaseError::Api { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }

    /// Text for an answer body: what failed and what to do, without row data.
    pub fn public_message(&self) -> String {
        match self {
            SupabaseError::Unreachable { context, .. } => format!(
                "Supabase is unreachable or timed out ({context}); the next run retries. \
                 Check SUPABASE_URL and the project's status"
            ),
            SupabaseError::Api {
                context,
                status,
                code,
                message,
                hint,
                ..
            } => {
                let mut text = format!("Supabase answered {status} to {context}: {code} {message}");
                if let Some(hint) = hint {
                    text.push_str(&format!(" (hint: {hint})"));
                }
                if code == "PGRST202" || code == "PGRST205" || code == "42883" {
                    text.push_str(". Apply the migrations in supabase/migrations to this project");
                } else if code == "42501" {
                    text.push_str(". The key lacks privileges: use the service-role or a secret key, and apply the grants migration");
                }
                text
            }
            SupabaseError::Decode { .. } => self.to_string(),
        }
    }
}

/// Result alias for Supabase calls.
pub type Result<T, E = SupabaseError> = std::result::Result<T, E>;

/// One client per project (URL and key) in this process.
static SHARED: Lazy<Mutex<HashMap<(String, String), &'static Supabase>>> =
    Lazy::new(|| Mutex::new(HashMap::new()));

impl Supabase {
    /// A client for `config`.
    pub fn new(config: &SupabaseConfig) -> Supabase {
        let key = config.key.expose();
        let mut client = Postgrest::new(config.rest_url.clone()).insert_header("apikey", key);
        if !key.starts_with("sb_") {
            client = client.insert_header("Authorization", format!("Bearer {key}"));
        }
        Supabase {
            client,
            timeout: config.timeout,
        }
    }

    /// The process-wide client for `config`'s project, built on first use (a warm function
    /// reuses it). Keyed by URL and key, so a process serving several configurations (tests,
    /// `supacron serve`) never sends one project's requests to another.
    pub fn shared(config: &SupabaseConfig) -> &'static Supabase {
        let key = (config.rest_url.clone(), config.key.expose().to_string());
        let mut clients = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(key)
            .or_insert_with(|| Box::leak(Box::new(Supabase::new(config))))
    }

    /// Calls the SQL function `function` with named arguments; decodes its JSON result.
    pub async fn rpc<T: DeserializeOwned>(
        &self,
        function: &str,
        args: &impl Serialize,
    ) -> Result<T> {
        let context = format!("rpc {function}");
        let body = serde_json::to_string(args).map_err(|e| SupabaseError::Decode {
            context: context.clone(),
            reason: e.to_string(),
        })?;
        self.fetch(self.client.rpc(function, body), &context).await
    }

    /// A table or view request builder (for reads).
    pub fn from(&self, table: &str) -> postgrest::Builder {
        self.client.from(table)
    }

    /// Sends a request built with [`Supabase::from`] and decodes its JSON answer.
    pub async fn fetch<T: DeserializeOwned>(
        &self,
        builder: postgrest::Builder,
        context: &str,
    ) -> Result<T> {
        let response = builder
            .build()
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| SupabaseError::Unreachable {
                context: context.into(),
                source: e.without_url(),
            })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SupabaseError::Unreachable {
                context: context.into(),
                source: e.without_url(),
            })?;
        if !(200..300).contains(&status) {
            return Err(api_error(context, status, &bytes));
        }
        let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| SupabaseError::Decode {
            context: context.into(),
            reason: e.to_string(),
        })
    }
}

fn api_error(context: &str, status: u16, body: &[u8]) -> SupabaseError {
    #[derive(serde::Deserialize, Default)]
    struct Body {
        code: Option<String>,
        message: Option<String>,
        details: Option<String>,
        hint: Option<String>,
    }
    let parsed: Body = serde_json::from_slice(body).unwrap_or_default();
    SupabaseError::Api {
        context: context.into(),
        status,
        code: parsed.code.unwrap_or_default(),
        message: parsed
            .message
            .unwrap_or_else(|| format!("HTTP {status} without a PostgREST error body")),
        details: parsed.details,
        hint: parsed.hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgrest_error_bodies_become_typed_errors() {
        let body = br#"{"code":"PGRST202","message":"Could not find the function public.x","details":null,"hint":"Perhaps y"}"#;
        let err = api_error("rpc x", 404, body);
        assert_eq!(err.code(), Some("PGRST202"));
        assert!(!err.is_unavailable());
        let text = err.public_message();
        assert!(
            text.contains("PGRST202")
                && text.contains("Apply the migrations")
                && text.contains("Perhaps y")
        );
    }

    #[test]
    fn gateway_statuses_count_as_unavailable() {
        assert!(api_error("rpc x", 503, b"").is_unavailable());
        assert!(api_error("rpc x", 504, b"<html>").is_unavailable());
        assert!(!api_error("rpc x", 409, b"{}").is_unavailable());
    }
}
