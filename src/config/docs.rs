//! The variables table of docs/configuration.md, written from the declarations
//! ([`super::vars`]): one row per variable.

use super::vars::{self, Default, Kind, Need, ReadBy, Var};
use crate::jobs::catalog::Job;

/// The table's header (two lines).
pub const HEADER: &str =
    "| variable | type | default | needed | read by | meaning |\n|---|---|---|---|---|---|";

/// The Markdown table of every variable: [`HEADER`], then one [`row`] each.
pub fn markdown_table() -> String {
    let mut table = String::from(HEADER);
    for var in vars::ALL {
        table.push('\n');
        table.push_str(&row(var));
    }
    table.push('\n');
    table
}

/// One variable's row.
pub fn row(var: &Var) -> String {
    format!(
        "| `{}` | {} | {} | {} | {} | {} |",
        var.name,
        kind(var),
        default(&var.default),
        need(&var.need),
        read_by(&var.read_by),
        var.doc
    )
}

fn kind(var: &Var) -> String {
    match &var.kind {
        Kind::Secret { min_chars: 0 } => "secret".into(),
        Kind::Secret { min_chars } => format!("secret, at least {min_chars} characters"),
        Kind::ServiceKey => "secret, not a publishable key".into(),
        Kind::SupabaseUrl => "`http(s)://` URL".into(),
        Kind::Text => "text".into(),
        Kind::Choice { choices, .. } => choices
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", "),
        Kind::Whole { cap: None } => "whole number ≥ 1".into(),
        Kind::Whole { cap: Some(cap) } => format!("whole number ≥ 1 (above {cap}: {cap})"),
        Kind::Fraction => "number in [0, 1]".into(),
        Kind::Jobs => "job names, comma-separated".into(),
        Kind::SecretUrl => "`http(s)://` URL (secret)".into(),
    }
}

fn default(default: &Default) -> String {
    match default {
        Default::None => "—".into(),
        Default::Text(text) => format!("`{text}`"),
        Default::Whole(n) => n.to_string(),
        Default::Fraction(x) => x.to_string(),
        Default::Described(words) => words.to_string(),
    }
}

fn need(need: &Need) -> &'static str {
    match need {
        Need::Optional => "no",
        Need::Required => "yes",
        Need::RequiredWithMinimax => "unless `SUPACRON_LLM_PROVIDER=offline`",
    }
}

fn read_by(read_by: &ReadBy) -> String {
    match read_by {
        ReadBy::CredentialCheck => "every function (credential check)".into(),
        ReadBy::EveryFunction => "every function".into(),
        ReadBy::LlmJobs => names(Job::ALL.into_iter().filter(|job| job.calls_llm())),
        ReadBy::Jobs(jobs) if jobs.len() == Job::ALL.len() => "every job".into(),
        ReadBy::Jobs(jobs) => names(jobs.iter().copied()),
        ReadBy::Scheduler => "`supacron scheduler`".into(),
    }
}

fn names(jobs: impl Iterator<Item = Job>) -> String {
    jobs.map(Job::name).collect::<Vec<_>>().join(", ")
}
