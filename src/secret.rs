//! `Secret`: a string that never prints itself.
//!
//! Every credential supacron holds (`CRON_SECRET`, `INTERNAL_API_KEY`, the Supabase
//! service key, the MiniMax key) lives in a [`Secret`], whose `Debug` and `Display`
//! both print `[redacted]`, so a stray `{:?}` in a log line or an error cannot leak it.

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret value. Read it with [`Secret::expose`], only where it is sent or compared.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        // From now on no log line or stored error of this process shows it.
        crate::redact::register(&value);
        Secret(value)
    }

    /// The raw value. Call sites are few and easy to audit: the HTTP headers sent to
    /// Supabase and MiniMax, and [`Secret::matches`].
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares `candidate` with the secret in constant time (for equal lengths; a
    /// different length is refused at once, which reveals only the length).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), candidate)
    }
}

/// Constant-time byte comparison (via `subtle`); `false` when lengths differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([redacted])");
    }

    #[test]
    fn matches_only_the_exact_value() {
        let s = Secret::new("abcdef");
        assert!(s.matches(b"abcdef"));
        assert!(!s.matches(b"abcde"), "a prefix is refused");
        assert!(!s.matches(b"abcdefg"), "a longer value is refused");
        assert!(!s.matches(b"abcdeF"));
        assert!(!s.matches(b""));
    }

    #[test]
    fn constant_time_eq_handles_empty_and_unequal_lengths() {
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"a", b""));
        assert!(!constant_time_eq(b"ab", b"ba"));
    }
}
