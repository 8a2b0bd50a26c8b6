//! Redaction by value: the secrets this process holds never reach a log line or a stored
//! error, wherever they appear and whatever they are called.
//!
//! Every [`crate::secret::Secret`] of at least [`MIN_REDACTED_LEN`] characters registers its
//! value here when it is made (`CRON_SECRET`, `INTERNAL_API_KEY`, the service key, the
//! MiniMax key). [`redact`] replaces each occurrence of a registered value — as is, JSON-escaped,
//! or percent-encoded in either case — by `[redacted]`; [`redact_url_part`] also looks through
//! percent-encoding (up to three layers, `+` as space) so `/api/cron/patch/<secret>`,
//! `?dry_run=1?secret=…`, `;secret=…`, `?pw=…` and `secret%3D…` are all caught. The log
//! writer ([`RedactingWriter`], installed by [`crate::logging`]) passes every line through
//! [`redact`], and every error text stored on a row or in `cron_runs` goes through
//! [`crate::error::cap_error`], which redacts too. Parameter names play no part.

use std::io;
use std::sync::RwLock;

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// Values shorter than this are not registered (a configuration error for `CRON_SECRET` and
/// `INTERNAL_API_KEY` anyway; redacting them would mangle ordinary text).
pub const MIN_REDACTED_LEN: usize = 8;

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// The registered values with every form they are searched in.
static SECRETS: RwLock<Vec<Vec<String>>> = RwLock::new(Vec::new());

/// Registers `value` (no-op when short or already known).
pub fn register(value: &str) {
    if value.chars().count() < MIN_REDACTED_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if secrets.iter().any(|forms| forms[0] == value) {
        return;
    }
    let encoded = utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
    let mut forms = vec![value.to_string()];
    let json = serde_json::to_string(value).unwrap_or_default();
    forms.push(json[1..json.len().saturating_sub(1)].to_string());
    forms.push(encoded.clone());
    forms.push(lowercase_escapes(&encoded));
    forms.dedup();
    secrets.push(forms);
}

/// `text` with every registered secret replaced by `[redacted]`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_string();
    for forms in secrets.iter() {
        for form in forms {
            if !form.is_empty() && out.contains(form.as_str()) {
                out = out.replace(form.as_str(), REDACTED);
            }
        }
    }
    out
}

/// Whether `text` holds a registered secret in any form [`redact`] knows.
pub fn contains_secret(text: &str) -> bool {
    redact(text) != text
}

/// A URL path or query for a log line: as sent, unless a secret hides in it behind
/// percent-encoding (or `+`), in which case the decoded text with the secret replaced.
pub fn redact_url_part(part: &str) -> String {
    let direct = redact(part);
    if direct != part {
        return direct;
    }
    let mut decoded = part.to_string();
    for _ in 0..3 {
        let next = percent_decode_str(&decoded.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned();
        if contains_secret(&next) {
            return redact(&next);
        }
        if next == decoded {
            break;
        }
        decoded = next;
    }
    part.to_string()
}

fn lowercase_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

/// A log writer that redacts every line it is given (see [`redact`]).
pub struct RedactingWriter<W>(pub W);

impl<W: io::Write> io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let clean = redact(&text);
        self.0.write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "unit-Test/secret+value=42";

    #[test]
    fn every_form_of_a_registered_value_is_redacted() {
        register(VALUE);
        let encoded = utf8_percent_encode(VALUE, NON_ALPHANUMERIC).to_string();
        for text in [
            format!("path /api/cron/patch/{VALUE}"),
            format!("q=dry_run=1?secret={encoded}"),
            format!("q={}", lowercase_escapes(&encoded)),
            format!("{{\"a\":{}}}", serde_json::to_string(VALUE).unwrap()),
        ] {
            let clean = redact(&text);
            assert!(clean.contains(REDACTED), "{text} -> {clean}");
            assert!(
                !clean.contains("value=42") && !clean.contains("value%3D42"),
                "{clean}"
            );
        }
        assert_eq!(redact("nothing here"), "nothing here");
    }

    #[test]
    fn url_parts_are_searched_through_encoding_layers() {
        register(VALUE);
        let twice = utf8_percent_encode(
            &utf8_percent_encode(VALUE, NON_ALPHANUMERIC).to_string(),
            NON_ALPHANUMERIC,
        )
        .to_string();
        let logged = redact_url_part(&format!("pw={twice}&dry_run=1"));
        assert!(
            logged.contains(REDACTED) && !logged.contains("42"),
            "{logged}"
        );
        assert_eq!(redact_url_part("dry_run=1&x=%41"), "dry_run=1&x=%41");
    }

    #[test]
    fn short_values_are_not_registered() {
        register("abc");
        assert_eq!(redact("abcabc"), "abcabc");
    }
}
