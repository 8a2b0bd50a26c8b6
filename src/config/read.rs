//! Reading the environment by the declarations ([`super::vars`]): each set variable is
//! checked by its [`Kind`] once, in the table's order; [`Values`] then hands out typed
//! values, falling back to the declared default.

use super::error::{Invalid, Problem};
use super::vars::{self, Default, Kind, Var};
use crate::jobs::catalog::Job;
use crate::secret::Secret;

/// One variable's value, checked.
enum Value {
    Text(String),
    Secret(Secret),
    Whole(u64),
    Fraction(f64),
}

/// Every declared variable's value, and the problems of those that are set but unusable.
pub(super) struct Values {
    values: Vec<(&'static str, Value)>,
    /// The unusable ones, in the table's order.
    pub(super) invalid: Vec<Invalid>,
    /// The unset (or empty) ones.
    pub(super) unset: Vec<&'static str>,
}

impl Values {
    /// Reads and checks every declared variable through `lookup` (an empty value is unset).
    pub(super) fn read(lookup: impl Fn(&str) -> Option<String>) -> Values {
        let mut values = Vec::new();
        let mut invalid = Vec::new();
        let mut unset = Vec::new();
        for var in vars::ALL {
            let Some(raw) = lookup(var.name).filter(|v| !v.is_empty()) else {
                unset.push(var.name);
                continue;
            };
            match check(var, raw) {
                Ok(value) => values.push((var.name, value)),
                Err(problem) => {
                    invalid.push(Invalid {
                        variable: var.name,
                        problem,
                    });
                    if let Some(value) = fallback(var) {
                        values.push((var.name, value));
                    }
                }
            }
        }
        Values {
            values,
            invalid,
            unset,
        }
    }

    fn get(&self, var: &Var) -> Option<&Value> {
        self.values
            .iter()
            .find(|(name, _)| *name == var.name)
            .map(|(_, value)| value)
    }

    /// A secret's value; `None` when unset or unusable.
    pub(super) fn secret(&self, var: &Var) -> Option<Secret> {
        match self.get(var) {
            Some(Value::Secret(secret)) => Some(secret.clone()),
            _ => None,
        }
    }

    /// A text's (or a choice's) value, else its declared default text.
    pub(super) fn text(&self, var: &Var) -> Option<String> {
        match (self.get(var), &var.default) {
            (Some(Value::Text(text)), _) => Some(text.clone()),
            (_, Default::Text(text)) => Some(text.to_string()),
            _ => None,
        }
    }

    /// A whole number's value, else its declared default; `None` when it has neither.
    pub(super) fn whole(&self, var: &Var) -> Option<u64> {
        match (self.get(var), &var.default) {
            (Some(Value::Whole(n)), _) => Some(*n),
            (_, Default::Whole(n)) => Some(*n),
            _ => None,
        }
    }

    /// A fraction's value, else its declared default.
    pub(super) fn fraction(&self, var: &Var) -> f64 {
        match (self.get(var), &var.default) {
            (Some(Value::Fraction(x)), _) => *x,
            (_, Default::Fraction(x)) => *x,
            _ => unreachable!("{} is declared without a default", var.name),
        }
    }
}

/// What an unusable value counts as meanwhile (the run that reads it is refused anyway):
/// the default, or else the smallest number / the first choice; secrets and URLs count as
/// unset.
fn fallback(var: &Var) -> Option<Value> {
    match (&var.kind, &var.default) {
        (Kind::Whole { .. }, Default::Whole(n)) => Some(Value::Whole(*n)),
        (Kind::Whole { .. }, _) => Some(Value::Whole(1)),
        (Kind::Fraction, Default::Fraction(x)) => Some(Value::Fraction(*x)),
        (Kind::Choice { .. }, Default::Text(text)) => Some(Value::Text(text.to_string())),
        (Kind::Choice { choices, .. }, _) => Some(Value::Text(choices[0].to_string())),
        _ => None,
    }
}

/// Checks one set value by its variable's kind.
fn check(var: &Var, raw: String) -> Result<Value, Problem> {
    match &var.kind {
        Kind::Secret { min_chars } => {
            let secret = secret(raw)?;
            if secret.expose().chars().count() < *min_chars {
                return Err(Problem::TooShort {
                    min_chars: *min_chars,
                });
            }
            Ok(Value::Secret(secret))
        }
        Kind::ServiceKey => {
            let secret = secret(raw)?;
            if secret.expose().starts_with("sb_publishable_") {
                return Err(Problem::PublishableKey);
            }
            Ok(Value::Secret(secret))
        }
        Kind::SupabaseUrl => rest_url(&raw).map(Value::Text).ok_or(Problem::NotHttpUrl),
        Kind::Text => Ok(Value::Text(raw)),
        Kind::Choice {
            choices,
            ignore_case,
        } => {
            let raw = if *ignore_case {
                raw.to_ascii_lowercase()
            } else {
                raw
            };
            choices
                .iter()
                .find(|choice| **choice == raw)
                .map(|choice| Value::Text(choice.to_string()))
                .ok_or(Problem::NotOneOf(choices))
        }
        Kind::Whole { cap } => match raw.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Value::Whole(cap.map_or(n, |cap| n.min(cap)))),
            _ => Err(Problem::NotPositiveWhole),
        },
        Kind::Fraction => match raw.trim().parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Ok(Value::Fraction(x)),
            _ => Err(Problem::NotFraction),
        },
        Kind::SecretUrl => {
            let secret = secret(raw)?;
            let url = secret.expose();
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Problem::NotHttpUrl);
            }
            // A heartbeat template's parts around its placeholders are what reaches a log
            // line (as part of an error), so each is redacted like the whole.
            for part in url.split(|c| c == '{' || c == '}') {
                crate::redact::register(
                    part.trim_start_matches("https://")
                        .trim_start_matches("http://"),
                );
            }
            Ok(Value::Secret(secret))
        }
        Kind::Jobs => {
            let mut names: Vec<&str> = Vec::new();
            for name in raw.split([',', ' ']).filter(|n| !n.trim().is_empty()) {
                let job = Job::from_name(name).ok_or(Problem::NotJobs)?;
                if !names.contains(&job.name()) {
                    names.push(job.name());
                }
            }
            Ok(Value::Text(names.join(",")))
        }
    }
}

/// A secret as given: one an HTTP header can carry unchanged. (It is held, and so redacted
/// from logs, from here on, even if a later check refuses it.)
fn secret(raw: String) -> Result<Secret, Problem> {
    if raw.trim() != raw {
        return Err(Problem::Whitespace);
    }
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Problem::NotHeaderSafe);
    }
    Ok(Secret::new(raw))
}

/// `https://abc.supabase.co` → `https://abc.supabase.co/rest/v1`; a URL that already
/// names the REST root (`.../rest/v1`, or any other path) is kept as given.
fn rest_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    if rest.is_empty() {
        return None;
    }
    Some(if rest.contains('/') {
        url.to_string()
    } else {
        format!("{url}/rest/v1")
    })
}
