//! The console's session: a cookie holding `<session id>.<expiry>.<signature>`, signed with
//! HMAC-SHA256 under a key derived from `CRON_SECRET` (so rotating the secret signs
//! everyone out), verified in constant time; and the CSRF token bound to the session.
//!
//! The cookie holds no secret: the session id is random (a v4 UUID) and the signature is a
//! MAC, from which neither the key nor `CRON_SECRET` can be recovered. It is `HttpOnly`,
//! `SameSite=Strict`, `Path=/api/cron/status`, lives [`LIFETIME_SECS`] and is `Secure`
//! except on localhost (where a browser talks plain HTTP to `supacron serve`).

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::{COOKIE, HOST};
use sha2::Sha256;
use uuid::Uuid;

use crate::function::status::PATH;
use crate::secret::{Secret, constant_time_eq};

/// The cookie's name.
pub const COOKIE_NAME: &str = "supacron_session";

/// How long a session lasts: 12 hours.
pub const LIFETIME_SECS: i64 = 12 * 60 * 60;

type HmacSha256 = Hmac<Sha256>;

/// A signed-in console session (its cookie verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Random; names the session in the audit log (`console_actions.session_id`).
    pub id: String,
    /// When the cookie stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// What the request's cookie says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CookieState {
    /// No session cookie.
    Absent,
    /// A valid session.
    Valid(Session),
    /// A cookie that is forged, expired, malformed or signed under another `CRON_SECRET`.
    Refused,
}

/// The signing key of sessions and CSRF tokens: HMAC-SHA256 of a fixed label under
/// `CRON_SECRET`. A new secret gives a new key, and every cookie signed under the old one is
/// refused.
fn key(secret: &Secret) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"supacron console session key v1");
    mac.finalize().into_bytes().into()
}

fn sign(secret: &Secret, label: &str, parts: &[&str]) -> String {
    let mut mac = HmacSha256::new_from_slice(&key(secret)).expect("HMAC takes keys of any length");
    mac.update(label.as_bytes());
    for part in parts {
        mac.update(b"\0");
        mac.update(part.as_bytes());
    }
    hex(&mac.finalize().into_bytes())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Session {
    /// A new session of [`LIFETIME_SECS`] from `now` (to the second, as the cookie holds it).
    pub fn start(now: DateTime<Utc>) -> Session {
        let expires = now.timestamp() + LIFETIME_SECS;
        Session {
            id: Uuid::new_v4().simple().to_string(),
            expires_at: Utc.timestamp_opt(expires, 0).single().unwrap_or(now),
        }
    }

    /// The cookie value of this session, signed under `secret`.
    pub fn cookie_value(&self, secret: &Secret) -> String {
        let expires = self.expires_at.timestamp().to_string();
        let signature = sign(secret, "session", &[&self.id, &expires]);
        format!("{}.{expires}.{signature}", self.id)
    }

    /// Verifies a cookie value at `now`: well-formed, signed under `secret` (compared in
    /// constant time) and not expired.
    pub fn verify(value: &str, secret: &Secret, now: DateTime<Utc>) -> Option<Session> {
        let mut parts = value.split('.');
        let (id, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some()
            || id.len() != 32
            || !id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return None;
        }
        let expected = sign(secret, "session", &[id, expires]);
        if !constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
            return None;
        }
        let expires_at = Utc.timestamp_opt(expires.parse().ok()?, 0).single()?;
        // Expired, or further out than a session lasts (never issued by this code).
        if expires_at <= now || expires_at > now + chrono::Duration::seconds(LIFETIME_SECS) {
            return None;
        }
        Some(Session {
            id: id.to_string(),
            expires_at,
        })
    }

    /// The CSRF token of this session: every form of the page carries it, and an action is
    /// refused unless it matches (constant time; see [`Session::csrf_matches`]).
    pub fn csrf_token(&self, secret: &Secret) -> String {
        sign(secret, "csrf", &[&self.id])
    }

    /// Whether `token` is this session's CSRF token.
    pub fn csrf_matches(&self, secret: &Secret, token: &str) -> bool {
        constant_time_eq(self.csrf_token(secret).as_bytes(), token.as_bytes())
    }
}

/// The session cookie of a request, checked at `now`.
pub fn from_headers(headers: &HeaderMap, secret: &Secret, now: DateTime<Utc>) -> CookieState {
    let mut state = CookieState::Absent;
    for header in headers.get_all(COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            let Some((name, value)) = pair.trim().split_once('=') else {
                continue;
            };
            if name != COOKIE_NAME || value.is_empty() {
                continue;
            }
            match Session::verify(value, secret, now) {
                Some(session) => return CookieState::Valid(session),
                None => state = CookieState::Refused,
            }
        }
    }
    state
}

/// Whether the request is for this machine (`localhost`, `127.0.0.1`, `[::1]`), where the
/// cookie cannot be `Secure` (plain HTTP).
pub fn is_localhost(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    let name = name.to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || name == "127.0.0.1" || name == "::1"
}

fn attributes(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("Path={PATH}; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that signs `session` in.
pub fn set_cookie(session: &Session, secret: &Secret, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={}; Max-Age={LIFETIME_SECS}; {}",
        session.cookie_value(secret),
        attributes(secure)
    )
}

/// The `Set-Cookie` value that signs out (clears the cookie).
pub fn clear_cookie(secure: bool) -> String {
    format!("{COOKIE_NAME}=; Max-Age=0; {}", attributes(secure))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn secret() -> Secret {
        Secret::new("console-test-secret-1234")
    }

    #[test]
    fn a_cookie_verifies_under_its_secret_only_until_it_expires() {
        let now = Utc::now();
        let session = Session::start(now);
        let value = session.cookie_value(&secret());
        assert_eq!(
            Session::verify(&value, &secret(), now),
            Some(session.clone())
        );
        let other = Secret::new("another-secret-123456");
        assert_eq!(Session::verify(&value, &other, now), None, "old secret");
        let later = now + chrono::Duration::seconds(LIFETIME_SECS);
        assert_eq!(Session::verify(&value, &secret(), later), None, "expired");
        assert!(!value.contains(secret().expose()));
    }

    #[test]
    fn a_tampered_cookie_is_refused() {
        let now = Utc::now();
        let session = Session::start(now);
        let value = session.cookie_value(&secret());
        let (id, rest) = value.split_at(32);
        let other_id = format!("{}{}", "0".repeat(32), rest);
        assert_eq!(Session::verify(&other_id, &secret(), now), None);
        let longer = Session {
            id: id.to_string(),
            expires_at: session.expires_at + chrono::Duration::hours(1),
        };
        let forged = format!(
            "{id}.{}.{}",
            longer.expires_at.timestamp(),
            value.rsplit('.').next().unwrap()
        );
        assert_eq!(Session::verify(&forged, &secret(), now), None);
        for junk in ["", "a.b.c", "x", &format!("{value}.extra")] {
            assert_eq!(Session::verify(junk, &secret(), now), None, "{junk}");
        }
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_session() {
        let now = Utc::now();
        let (a, b) = (Session::start(now), Session::start(now));
        assert!(a.csrf_matches(&secret(), &a.csrf_token(&secret())));
        assert!(!a.csrf_matches(&secret(), &b.csrf_token(&secret())));
        assert!(!a.csrf_matches(&secret(), ""));
    }

    #[test]
    fn the_cookie_is_secure_except_on_localhost() {
        let mut headers = HeaderMap::new();
        for (host, local) in [
            ("localhost:3000", true),
            ("127.0.0.1:8080", true),
            ("[::1]:3000", true),
            ("example.vercel.app", false),
            ("localhost.example.com", false),
        ] {
            headers.insert(HOST, HeaderValue::from_static(host));
            assert_eq!(is_localhost(&headers), local, "{host}");
        }
        let cookie = set_cookie(&Session::start(Utc::now()), &secret(), true);
        assert!(
            cookie.ends_with(
                "; Max-Age=43200; Path=/api/cron/status; HttpOnly; SameSite=Strict; Secure"
            ) || cookie.contains(
                "Max-Age=43200; Path=/api/cron/status; HttpOnly; SameSite=Strict; Secure"
            )
        );
    }
}
