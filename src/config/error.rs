//! Configuration errors: which variables are missing, and which are set but unusable and
//! why — as values (a variable and a [`Problem`]), never the variable's value.

use std::fmt;

/// Missing or invalid configuration. Names variables, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Variables that are unset or empty.
    pub missing: Vec<&'static str>,
    /// Variables that are set but unusable, each with the reason.
    pub invalid: Vec<Invalid>,
}

/// A variable that is set but unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub problem: Problem,
}

/// What is wrong with a value (said without the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Leading or trailing whitespace (a secret).
    Whitespace,
    /// Characters an HTTP header cannot carry (a secret).
    NotHeaderSafe,
    /// Fewer characters than a shared secret needs.
    TooShort {
        /// The fewest accepted.
        min_chars: usize,
    },
    /// A Supabase publishable key where the service-role key belongs.
    PublishableKey,
    /// Not an `http://` or `https://` URL.
    NotHttpUrl,
    /// None of the accepted values.
    NotOneOf(&'static [&'static str]),
    /// Not a whole number greater than 0.
    NotPositiveWhole,
    /// Not a number between 0 and 1.
    NotFraction,
    /// Names something that is not a job.
    NotJobs,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Whitespace => f.write_str(
                "has leading or trailing whitespace (often a newline from `echo`; set it with printf '%s')",
            ),
            Problem::NotHeaderSafe => {
                f.write_str("contains characters that cannot be sent in an HTTP header")
            }
            Problem::TooShort { min_chars } => write!(
                f,
                "is shorter than {min_chars} characters; use at least {min_chars} random characters, e.g. `openssl rand -hex 32`"
            ),
            Problem::PublishableKey => f.write_str(
                "is a publishable key; use a secret key (sb_secret_...) or the legacy service_role key",
            ),
            Problem::NotHttpUrl => f.write_str("must start with https:// or http://"),
            Problem::NotOneOf([a, b]) => write!(f, "must be `{a}` or `{b}`"),
            Problem::NotOneOf(choices) => write!(f, "must be one of {}", choices.join(", ")),
            Problem::NotPositiveWhole => f.write_str("must be a whole number greater than 0"),
            Problem::NotFraction => f.write_str("must be a number between 0 and 1"),
            Problem::NotJobs => f.write_str(
                "names something that is not a job; use job names such as `memory` (or paths such as /api/cron/memory), comma-separated",
            ),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.variable, self.problem)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "missing environment variables: {}",
                self.missing.join(", ")
            ));
        }
        if !self.invalid.is_empty() {
            let invalid: Vec<String> = self.invalid.iter().map(Invalid::to_string).collect();
            parts.push(format!("invalid: {}", invalid.join("; ")));
        }
        write!(
            f,
            "{}. Set them in Vercel (Project Settings -> Environment Variables, Production) and redeploy, \
             or in .env for local runs",
            parts.join("; ")
        )
    }
}
