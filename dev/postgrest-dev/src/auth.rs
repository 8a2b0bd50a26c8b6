//! Authentication: HS256 JWT verification with PostgREST v13's error codes (reference §8.2), the
//! Supabase gateway's `apikey` handling (§8.5), role selection (§8.3) and [`mint_jwt`].

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{ApiError, ApiResult};

/// Clock skew PostgREST tolerates on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: f64 = 30.0;

/// Who a request runs as.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// The PostgreSQL role switched to inside the transaction.
    pub role: String,
    /// Claims exposed as `request.jwt.claims` (with `role` set to the effective role).
    pub claims: Map<String, Value>,
    /// True when the role differs from the anonymous role (decides 401 vs 403 for 42501).
    pub authenticated: bool,
}

/// What authentication needs from the configuration.
pub(crate) struct AuthConfig {
    pub jwt_secret: String,
    pub anon_role: String,
    pub secret_api_keys: Vec<String>,
}

/// Mints an HS256 token with claims `{role, iss: "supabase", iat, exp?}` (Supabase's legacy keys
/// have exactly this shape); `ttl` sets `exp = iat + ttl`.
pub fn mint_jwt(secret: &str, role: &str, ttl: Option<Duration>) -> String {
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut claims = json!({"role": role, "iss": "supabase", "iat": iat});
    if let Some(ttl) = ttl {
        claims["exp"] = json!(iat + ttl.as_secs());
    }
    sign_claims(secret, &claims)
}

/// Signs arbitrary claims with HS256 (also used by tests to forge expired or odd tokens).
pub(crate) fn sign_claims(secret: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac accepts any key");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Decides the request's identity from `Authorization` and `apikey`, like Supabase's gateway
/// followed by PostgREST.
pub(crate) fn authenticate(headers: &HeaderMap, cfg: &AuthConfig) -> ApiResult<Identity> {
    let apikey = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let mut bearer = bearer_token(headers)?;
    // The gateway replaces an opaque `sb_…` Authorization with one derived from the apikey.
    if bearer.as_deref().is_some_and(|t| t.starts_with("sb_")) {
        bearer = None;
    }
    if let Some(key) = apikey.filter(|k| k.starts_with("sb_")) {
        let known = cfg.secret_api_keys.iter().any(|s| s == key);
        if !known && !key.starts_with("sb_publishable_") {
            return Err(invalid_api_key());
        }
        if bearer.is_none() {
            if !known {
                return anonymous(cfg);
            }
            return Ok(identity("service_role", Map::new(), cfg));
        }
    }
    let token = match (bearer, apikey) {
        (Some(t), _) => t,
        (None, Some(k)) if !k.starts_with("sb_") => {
            if k.split('.').count() != 3 {
                return Err(invalid_api_key());
            }
            k.to_string()
        }
        _ => return anonymous(cfg),
    };
    let claims = verify(&token, &cfg.jwt_secret)?;
    let role = match claims.get("role") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None if cfg.anon_role.is_empty() => return Err(anonymous_disabled()),
        Some(Value::Null) | None => cfg.anon_role.clone(),
        Some(other) => other.to_string(),
    };
    Ok(identity(&role, claims, cfg))
}

/// The anonymous role, or PGRST302 when `db-anon-role` is empty (anonymous access disabled).
fn anonymous(cfg: &AuthConfig) -> ApiResult<Identity> {
    if cfg.anon_role.is_empty() {
        return Err(anonymous_disabled());
    }
    Ok(identity(&cfg.anon_role, Map::new(), cfg))
}

fn anonymous_disabled() -> ApiError {
    ApiError::new(401, "PGRST302", "Anonymous access is disabled")
        .header("WWW-Authenticate", "Bearer")
}

fn identity(role: &str, mut claims: Map<String, Value>, cfg: &AuthConfig) -> Identity {
    claims.insert("role".into(), Value::String(role.to_string()));
    Identity {
        role: role.to_string(),
        claims,
        authenticated: role != cfg.anon_role,
    }
}

fn invalid_api_key() -> ApiError {
    let mut e = ApiError::new(401, "401", "Invalid API key");
    e.raw_body = Some(json!({
        "message": "Invalid API key",
        "hint": "Double check your Supabase `anon` or `service_role` API key."
    }));
    e
}

/// The token of `Authorization: Bearer <t>`; other schemes count as no token.
fn bearer_token(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let value = value.trim_start();
    let Some((scheme, rest)) = value.split_once(' ').or(Some((value, ""))) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim();
    if token.is_empty() {
        return Err(jwt_error(
            "PGRST301",
            "Empty JWT is sent in Authorization header",
            None,
        ));
    }
    Ok(Some(token.to_string()))
}

fn jwt_error(code: &str, message: &str, details: Option<&str>) -> ApiError {
    let mut e = ApiError::new(401, code, message).header(
        "WWW-Authenticate",
        format!("Bearer error=\"invalid_token\", error_description=\"{message}\""),
    );
    e.details = details.map(str::to_string);
    e
}

/// Verifies an HS256 token and returns its claims, with PostgREST v13's checks in order.
pub(crate) fn verify(token: &str, secret: &str) -> ApiResult<Map<String, Value>> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        let msg = format!("Expected 3 parts in JWT; got {}", parts.len());
        return Err(jwt_error("PGRST301", &msg, None));
    }
    let crypto_failed = || jwt_error("PGRST301", "JWT cryptographic operation failed", None);
    let header: Value = URL_SAFE_NO_PAD
        .decode(parts[0])
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(crypto_failed)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg == "none" {
        return Err(jwt_error(
            "PGRST301",
            "Wrong or unsupported encoding algorithm",
            Some("JWT is unsecured but expected 'alg' was not 'none'"),
        ));
    }
    let no_key = || {
        jwt_error(
            "PGRST301",
            "No suitable key or wrong key type",
            Some("None of the keys was able to decode the JWT"),
        )
    };
    if alg != "HS256" {
        return Err(no_key());
    }
    let sig = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| crypto_failed())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac accepts any key");
    mac.update(parts[0].as_bytes());
    mac.update(b".");
    mac.update(parts[1].as_bytes());
    mac.verify_slice(&sig).map_err(|_| no_key())?;
    let payload = URL_SAFE_NO_PAD
        .decode(parts[1])
        .map_err(|_| crypto_failed())?;
    let claims = match serde_json::from_slice::<Value>(&payload) {
        Ok(Value::Object(m)) => m,
        _ => return Err(jwt_error("PGRST303", "Parsing claims failed", None)),
    };
    check_time_claims(&claims)?;
    Ok(claims)
}

fn check_time_claims(claims: &Map<String, Value>) -> ApiResult<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let number = |name: &str| -> ApiResult<Option<f64>> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => {
                let msg = format!("The JWT '{name}' claim must be a number");
                Err(jwt_error("PGRST303", &msg, None))
            }
        }
    };
    if let Some(exp) = number("exp")? {
        if now > exp + LEEWAY_SECS {
            return Err(jwt_error("PGRST303", "JWT expired", None));
        }
    }
    if let Some(nbf) = number("nbf")? {
        if now < nbf - LEEWAY_SECS {
            return Err(jwt_error("PGRST303", "JWT not yet valid", None));
        }
    }
    if let Some(iat) = number("iat")? {
        if now < iat - LEEWAY_SECS {
            return Err(jwt_error("PGRST303", "JWT issued at future", None));
        }
    }
    match claims.get("aud") {
        None | Some(Value::Null | Value::String(_)) => Ok(()),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(jwt_error(
            "PGRST303",
            "The JWT 'aud' claim must be a string or an array of strings",
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";

    #[test]
    fn minted_tokens_verify_and_carry_the_role() {
        let token = mint_jwt(SECRET, "service_role", Some(Duration::from_secs(60)));
        let claims = verify(&token, SECRET).unwrap();
        assert_eq!(claims["role"], "service_role");
        assert_eq!(claims["iss"], "supabase");
        assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());
    }

    #[test]
    fn rejects_bad_tokens_with_v13_codes() {
        let e = verify("a.b", SECRET).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("PGRST301", "Expected 3 parts in JWT; got 2")
        );
        let other = mint_jwt("another-secret-another-secret-another", "anon", None);
        assert_eq!(
            verify(&other, SECRET).unwrap_err().message,
            "No suitable key or wrong key type"
        );
        let expired = sign_claims(SECRET, &json!({"role": "anon", "exp": 1000}));
        let e = verify(&expired, SECRET).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("PGRST303", "JWT expired")
        );
        let bad_exp = sign_claims(SECRET, &json!({"exp": "soon"}));
        assert_eq!(
            verify(&bad_exp, SECRET).unwrap_err().message,
            "The JWT 'exp' claim must be a number"
        );
        assert_eq!(
            verify("!!.??.##", SECRET).unwrap_err().message,
            "JWT cryptographic operation failed"
        );
    }
}
