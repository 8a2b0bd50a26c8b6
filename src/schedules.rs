//! The job ↔ clock table: when each job runs and who wakes it, read from `vercel.json` —
//! the single definition. Vercel reads the same file in production; `supacron scheduler`
//! reads it everywhere else; every run records what it says (`cron_schedules`), so the
//! status page's missing-tick check follows the schedule actually deployed.
//!
//! A job is woken by exactly one of:
//! - a `crons` entry (Vercel Cron: GET, `user-agent: vercel-cron/1.0`, Bearer `CRON_SECRET`;
//!   always UTC);
//! - a `schedules` entry with a `path` (a Schedules *path target*: the same request as a
//!   cron, `requestMethod` GET or POST, default POST), with an optional IANA `timezone` and
//!   `jitter` (minutes);
//! - a `schedules` entry with a `function` (a *function target*: a CloudEvent POST with
//!   `ce-*` headers and no secret), which requires `functions["<file>"].experimentalTriggers:
//!   [{"type": "schedule/v1beta"}]` — the trigger that makes the function private.
//!
//! `schedules` is read in the array form the building CLI (64.0.2) accepts; the object form
//! of Vercel's docs is refused with a message saying so. A copy of the repository's
//! `vercel.json` is built into every binary ([`built_in`]). Expressions and time zones are
//! checked where they are used (`supacron scheduler`, [`crate::cli::vercel_json`]); this
//! module only reads the shape, so the function binaries link nothing more than serde.

use once_cell::sync::Lazy;
use serde::Deserialize;
use serde_json::Value;

use crate::jobs::catalog::Job;

/// The repository's `vercel.json` at build time.
pub const BUILT_IN: &str = include_str!("../vercel.json");

/// The trigger type that makes a function a private Schedules target.
pub const SCHEDULE_TRIGGER: &str = "schedule/v1beta";

/// Who wakes a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A `crons` entry: GET.
    Cron,
    /// A `schedules` path target, with its request method.
    Path {
        /// `requestMethod` (Vercel's default is POST).
        post: bool,
    },
    /// A `schedules` function target (private function, CloudEvent dispatch).
    Function,
}

impl Target {
    /// `cron`, `schedule path (GET)`, `schedule path (POST)`, `schedule function`.
    pub fn describe(self) -> &'static str {
        match self {
            Target::Cron => "cron",
            Target::Path { post: false } => "schedule path (GET)",
            Target::Path { post: true } => "schedule path (POST)",
            Target::Function => "schedule function (private)",
        }
    }
}

/// One job's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The job it wakes.
    pub job: Job,
    /// The 5-field cron expression.
    pub expression: String,
    /// IANA time zone (`UTC` for crons and schedules without one).
    pub timezone: String,
    /// `jitter` in minutes (0 for crons).
    pub jitter_minutes: u32,
    /// The schedule's `name` (none for crons, or a schedule without one).
    pub name: Option<String>,
    /// Who wakes it.
    pub target: Target,
}

/// Every job's clock, and which functions declare the private schedule trigger.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clocks {
    /// One per scheduled job, crons first, in file order.
    pub entries: Vec<Clock>,
    /// Jobs whose function declares `experimentalTriggers: [{"type": "schedule/v1beta"}]`.
    pub private_triggers: Vec<Job>,
}

/// Why a `vercel.json` cannot say when the jobs run. The text says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClockError(pub String);

#[derive(Deserialize)]
struct VercelJson {
    #[serde(default)]
    crons: Vec<RawCron>,
    #[serde(default)]
    schedules: Option<Value>,
    #[serde(default)]
    functions: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct RawCron {
    path: String,
    schedule: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSchedule {
    name: Option<String>,
    schedule: String,
    timezone: Option<String>,
    jitter: Option<u32>,
    path: Option<String>,
    function: Option<String>,
    request_method: Option<String>,
}

/// The function file of `job` as `vercel.json`'s `functions` names it (`api/cron/patch.rs`).
pub fn function_file(job: Job) -> String {
    format!("{}.rs", job.path().trim_start_matches('/'))
}

fn job_at_path(path: &str) -> Option<Job> {
    Job::ALL.into_iter().find(|job| job.path() == path)
}

/// The job a function target names: `api/cron/memory`, `api/cron/memory.rs` or with `/`.
fn job_of_function(function: &str) -> Option<Job> {
    let path = function.trim_end_matches(".rs");
    let path = format!("/{}", path.trim_start_matches('/'));
    job_at_path(&path)
}

/// Parses the clocks of a `vercel.json` text. Every job may be scheduled at most once
/// (move an entry from `crons` to `schedules`, don't copy it: Vercel would run both).
pub fn parse(text: &str) -> Result<Clocks, ClockError> {
    let raw: VercelJson = serde_json::from_str(text).map_err(|e| {
        ClockError(format!(
            "not a vercel.json with `crons` [{{\"path\", \"schedule\"}}] and/or `schedules` [...] ({e})"
        ))
    })?;
    let private_triggers: Vec<Job> = Job::ALL
        .into_iter()
        .filter(|job| declares_trigger(&raw.functions, *job))
        .collect();
    let mut entries: Vec<Clock> = Vec::new();
    let known = || Job::ALL.map(Job::path).join(", ");
    for cron in raw.crons {
        let job = job_at_path(&cron.path).ok_or_else(|| {
            ClockError(format!(
                "cron path `{}` is not a supacron function; known paths: {}",
                cron.path,
                known()
            ))
        })?;
        entries.push(Clock {
            job,
            expression: cron.schedule.trim().to_string(),
            timezone: "UTC".into(),
            jitter_minutes: 0,
            name: None,
            target: Target::Cron,
        });
    }
    let schedules: Vec<RawSchedule> = match raw.schedules {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(_)) => {
            return Err(ClockError(
                "`schedules` is an object (the form of Vercel's docs), but the building CLI \
                 (64.0.2) accepts only an array: write `\"schedules\": [{\"name\": \"...\", \
                 \"schedule\": \"...\", \"path\": \"...\"}]`"
                    .into(),
            ));
        }
        Some(list) => serde_json::from_value(list).map_err(|e| {
            ClockError(format!(
                "`schedules` must be an array of {{\"schedule\", \"path\" or \"function\", ...}} ({e})"
            ))
        })?,
    };
    for (i, s) in schedules.into_iter().enumerate() {
        let label = s
            .name
            .clone()
            .map_or_else(|| format!("schedules[{i}]"), |n| format!("schedule `{n}`"));
        let (job, target) = match (&s.path, &s.function) {
            (Some(path), None) => {
                let job = job_at_path(path).ok_or_else(|| {
                    ClockError(format!(
                        "{label}: path `{path}` is not a supacron function; known paths: {}",
                        known()
                    ))
                })?;
                let post = match s.request_method.as_deref() {
                    None | Some("POST") => true,
                    Some("GET") => false,
                    Some(other) => {
                        return Err(ClockError(format!(
                            "{label}: requestMethod `{other}` must be GET or POST"
                        )));
                    }
                };
                (job, Target::Path { post })
            }
            (None, Some(function)) => {
                let job = job_of_function(function).ok_or_else(|| {
                    ClockError(format!(
                        "{label}: function `{function}` is not a supacron function; write e.g. `api/cron/memory`"
                    ))
                })?;
                if s.request_method.is_some() {
                    return Err(ClockError(format!(
                        "{label}: requestMethod is only valid with a path target"
                    )));
                }
                if !private_triggers.contains(&job) {
                    return Err(ClockError(format!(
                        "{label}: function target `{function}` needs `\"functions\": {{\"{}\": {{\"experimentalTriggers\": [{{\"type\": \"{SCHEDULE_TRIGGER}\"}}]}}}}`",
                        function_file(job)
                    )));
                }
                (job, Target::Function)
            }
            _ => {
                return Err(ClockError(format!(
                    "{label}: give exactly one target, `path` or `function` (queue topics are not supacron jobs)"
                )));
            }
        };
        if let Some(jitter) = s.jitter
            && !(1..=15).contains(&jitter)
        {
            return Err(ClockError(format!(
                "{label}: jitter must be 1 to 15 (minutes), not {jitter}"
            )));
        }
        entries.push(Clock {
            job,
            expression: s.schedule.trim().to_string(),
            timezone: s
                .timezone
                .map(|tz| tz.trim().to_string())
                .filter(|tz| !tz.is_empty())
                .unwrap_or_else(|| "UTC".into()),
            jitter_minutes: s.jitter.unwrap_or(0),
            name: s.name,
            target,
        });
    }
    for (i, entry) in entries.iter().enumerate() {
        if entries[..i].iter().any(|e| e.job == entry.job) {
            return Err(ClockError(format!(
                "{} is scheduled twice (in `crons` and/or `schedules`): Vercel would run it twice; \
                 move the entry instead of copying it",
                entry.job.path()
            )));
        }
    }
    Ok(Clocks {
        entries,
        private_triggers,
    })
}

fn declares_trigger(functions: &serde_json::Map<String, Value>, job: Job) -> bool {
    functions
        .get(&function_file(job))
        .and_then(|f| f.get("experimentalTriggers"))
        .and_then(Value::as_array)
        .is_some_and(|triggers| {
            triggers
                .iter()
                .any(|t| t.get("type").and_then(Value::as_str) == Some(SCHEDULE_TRIGGER))
        })
}

static BUILT_IN_CLOCKS: Lazy<Clocks> = Lazy::new(|| {
    parse(BUILT_IN).unwrap_or_else(|e| {
        tracing::error!(
            error = %e,
            "the vercel.json built into this binary cannot be read ({e}); runs are recorded \
             without their schedule, so the status page cannot check their ticks: fix vercel.json \
             and redeploy"
        );
        Clocks::default()
    })
});

/// The clocks of the `vercel.json` built into this binary (what was deployed with it); empty,
/// with an error line, when that file cannot be read (a unit test keeps the shipped one valid).
pub fn built_in() -> &'static Clocks {
    &BUILT_IN_CLOCKS
}

impl Clocks {
    /// The clock of `job`, if it is scheduled.
    pub fn of(&self, job: Job) -> Option<&Clock> {
        self.entries.iter().find(|c| c.job == job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_vercel_json_schedules_every_job_once() {
        let clocks = built_in();
        for job in Job::ALL {
            assert!(clocks.of(job).is_some(), "{job} is not scheduled");
        }
        assert_eq!(clocks.entries.len(), Job::ALL.len());
    }

    #[test]
    fn both_target_kinds_are_read_with_their_time_zone() {
        let text = r#"{
          "crons": [{"path": "/api/cron/patch", "schedule": "*/2 * * * *"}],
          "schedules": [
            {"name": "outcomes-berlin", "schedule": "0 9 * * *", "timezone": "Europe/Berlin",
             "jitter": 5, "path": "/api/training/outcomes", "requestMethod": "GET"},
            {"name": "rewards", "schedule": "0 * * * *", "path": "/api/training/calculate-pending"},
            {"name": "memory", "schedule": "*/10 * * * *", "function": "api/cron/memory"}
          ],
          "functions": {"api/cron/memory.rs": {"experimentalTriggers": [{"type": "schedule/v1beta"}]}}
        }"#;
        let clocks = parse(text).unwrap();
        let outcomes = clocks.of(Job::Outcomes).unwrap();
        assert_eq!(outcomes.timezone, "Europe/Berlin");
        assert_eq!(outcomes.jitter_minutes, 5);
        assert_eq!(outcomes.target, Target::Path { post: false });
        assert_eq!(outcomes.name.as_deref(), Some("outcomes-berlin"));
        assert_eq!(
            clocks.of(Job::Rewards).unwrap().target,
            Target::Path { post: true }
        );
        assert_eq!(clocks.of(Job::Memory).unwrap().target, Target::Function);
        assert_eq!(clocks.of(Job::Patch).unwrap().timezone, "UTC");
        assert_eq!(clocks.private_triggers, vec![Job::Memory]);
    }

    #[test]
    fn errors_name_what_to_fix() {
        let cases = [
            (
                r#"{"schedules": {"a": {"schedule": "0 * * * *", "path": "/api/cron/patch"}}}"#,
                "accepts only an array",
            ),
            (
                r#"{"schedules": [{"schedule": "0 * * * *", "function": "api/cron/memory"}]}"#,
                "needs `\"functions\": {\"api/cron/memory.rs\"",
            ),
            (
                r#"{"schedules": [{"schedule": "0 * * * *", "path": "/api/cron/patch", "function": "api/cron/patch"}]}"#,
                "exactly one target",
            ),
            (
                r#"{"schedules": [{"schedule": "0 * * * *", "path": "/api/cron/nope"}]}"#,
                "`/api/cron/nope` is not a supacron function",
            ),
            (
                r#"{"schedules": [{"schedule": "0 * * * *", "path": "/api/cron/patch", "requestMethod": "PUT"}]}"#,
                "must be GET or POST",
            ),
            (
                r#"{"schedules": [{"schedule": "0 * * * *", "path": "/api/cron/patch", "jitter": 20}]}"#,
                "jitter must be 1 to 15",
            ),
            (
                r#"{"crons": [{"path": "/api/cron/patch", "schedule": "0 * * * *"}], "schedules": [{"schedule": "0 * * * *", "path": "/api/cron/patch"}]}"#,
                "scheduled twice",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
