//! The clocks of `vercel.json` for `supacron scheduler`: `crons` and `schedules` (path and
//! function targets, with `timezone`), read by [`crate::schedules`] (the single definition
//! Vercel reads too) and checked here the way Vercel checks them: each expression is one
//! Vercel accepts ([`super::cron`]), each time zone an IANA name. A copy of the repository's
//! `vercel.json` is built into the binary, for machines that run `supacron` outside a checkout.

use std::path::{Path, PathBuf};

use super::cron::{CronError, CronSchedule};
use crate::jobs::catalog::Job;
use crate::schedules::{self, Clock};

/// The repository's `vercel.json` at build time.
pub const BUILT_IN: &str = schedules::BUILT_IN;

/// One scheduled job: a `crons` or `schedules` entry of `vercel.json`.
#[derive(Clone, Debug)]
pub struct CronEntry {
    /// The job its `path` (or `function`) names.
    pub job: Job,
    /// Its `schedule`, read in its `timezone`.
    pub schedule: CronSchedule,
    /// The entry as written (target, name, time zone, jitter).
    pub clock: Clock,
}

/// Where the schedules were read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file on disk.
    File(PathBuf),
    /// The copy built into the binary.
    BuiltIn,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::BuiltIn => f.write_str("the vercel.json built into this binary"),
        }
    }
}

/// Why `vercel.json` cannot drive the scheduler. Each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum VercelJsonError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not JSON, or `crons` / `schedules` not in the shape Vercel reads.
    #[error("{0}: {1}")]
    Format(Source, String),
    /// No crons or schedules at all: the scheduler would never run anything.
    #[error(
        "{0} has no crons and no schedules; add them to `crons` or `schedules` (see docs/deploy.md)"
    )]
    Empty(Source),
    /// A `timezone` that is not an IANA name.
    #[error("{file}: schedule of `{path}`: {error}")]
    Zone {
        /// The file.
        file: Source,
        /// The job's path.
        path: String,
        /// Why.
        error: String,
    },
    /// A `jitter` longer than the shortest gap between the schedule's firings (Vercel's
    /// build refuses it).
    #[error(
        "{file}: schedule of `{path}`: jitter {jitter} min is longer than the shortest gap between its firings ({gap} min), which Vercel refuses; use a jitter of at most {gap}"
    )]
    Jitter {
        /// The file.
        file: Source,
        /// The job's path.
        path: String,
        /// The jitter, minutes.
        jitter: u32,
        /// The shortest gap, minutes.
        gap: i64,
    },
    /// A schedule Vercel would refuse.
    #[error("{file}: schedule of `{path}`: {error}")]
    Schedule {
        /// The file.
        file: Source,
        /// The cron's path.
        path: String,
        /// Why.
        error: CronError,
    },
}

/// Reads `path`, or — without one — `./vercel.json` when it exists, else the built-in copy.
pub fn load(path: Option<&Path>) -> Result<(Vec<CronEntry>, Source), VercelJsonError> {
    let (text, source) = read(path)?;
    Ok((parse(&text, &source)?, source))
}

/// The text of `path`, or — without one — of `./vercel.json` when it exists, else of the
/// built-in copy; and where it came from.
pub fn read(path: Option<&Path>) -> Result<(String, Source), VercelJsonError> {
    let path = match path {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from("vercel.json")).filter(|p| p.is_file()),
    };
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| VercelJsonError::Read {
                path: path.clone(),
                source,
            })?;
            Ok((text, Source::File(path)))
        }
        None => Ok((BUILT_IN.to_string(), Source::BuiltIn)),
    }
}

/// Parses the `crons` and `schedules` of a `vercel.json` text; `source` only names it in
/// errors.
pub fn parse(text: &str, source: &Source) -> Result<Vec<CronEntry>, VercelJsonError> {
    let clocks = schedules::parse(text)
        .map_err(|e| VercelJsonError::Format(source.clone(), e.to_string()))?;
    if clocks.entries.is_empty() {
        return Err(VercelJsonError::Empty(source.clone()));
    }
    clocks
        .entries
        .into_iter()
        .map(|clock| {
            let path = clock.job.path().to_string();
            let zone =
                crate::jobs::schedule::slots::parse_zone(&clock.timezone).map_err(|error| {
                    VercelJsonError::Zone {
                        file: source.clone(),
                        path: path.clone(),
                        error,
                    }
                })?;
            let schedule = CronSchedule::parse(&clock.expression)
                .map_err(|error| VercelJsonError::Schedule {
                    file: source.clone(),
                    path: path.clone(),
                    error,
                })?
                .in_zone(zone);
            if let Some(gap) = gap_shorter_than(&schedule, clock.jitter_minutes) {
                return Err(VercelJsonError::Jitter {
                    file: source.clone(),
                    path,
                    jitter: clock.jitter_minutes,
                    gap,
                });
            }
            Ok(CronEntry {
                job: clock.job,
                schedule,
                clock,
            })
        })
        .collect()
}

/// The first gap (minutes) between consecutive firings of `schedule` shorter than
/// `jitter` minutes, over its first 1,000 firings from 2026-01-01: a schedule's minutes and
/// hours repeat every day, so that covers every gap of a schedule firing up to 125 times a
/// day for a week, and one firing more often has gaps under 2 minutes at once. (A
/// daylight-saving night can shorten a local schedule's gap once a year; not checked.)
fn gap_shorter_than(schedule: &CronSchedule, jitter: u32) -> Option<i64> {
    if jitter <= 1 {
        return None; // every gap is at least a minute
    }
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("a fixed date")
        .to_utc();
    let mut previous = schedule.next_after(start)?;
    for _ in 0..1_000 {
        let next = schedule.next_after(previous)?;
        let gap = (next - previous).num_minutes();
        if gap < i64::from(jitter) {
            return Some(gap);
        }
        previous = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_copy_schedules_every_job_as_the_code_says() {
        let entries = parse(BUILT_IN, &Source::BuiltIn).unwrap();
        assert_eq!(entries.len(), Job::ALL.len());
        for job in Job::ALL {
            let entry = entries.iter().find(|e| e.job == job).unwrap();
            assert_eq!(entry.schedule.as_str(), job.clock().unwrap().expression);
        }
    }

    #[test]
    fn a_jitter_up_to_the_shortest_gap_is_accepted() {
        let source = Source::File("x/vercel.json".into());
        for (schedule, jitter) in [("*/2 * * * *", 2), ("15 * * * *", 15), ("0 9 * * *", 15)] {
            let text = format!(
                r#"{{"schedules": [{{"path": "/api/cron/patch", "schedule": "{schedule}", "jitter": {jitter}, "timezone": "Europe/Berlin"}}]}}"#
            );
            let entries = parse(&text, &source).unwrap_or_else(|e| panic!("{schedule}: {e}"));
            assert_eq!(entries[0].clock.jitter_minutes, jitter);
        }
    }

    #[test]
    fn errors_name_what_to_fix() {
        let source = Source::File("x/vercel.json".into());
        let cases = [
            ("{", "not a vercel.json"),
            ("{\"crons\": []}", "has no crons and no schedules"),
            (
                r#"{"schedules": [{"path": "/api/cron/patch", "schedule": "0 9 * * *", "timezone": "Mars/Olympus"}]}"#,
                "unknown time zone `Mars/Olympus`",
            ),
            (
                r#"{"crons": [{"path": "/api/cron/nope", "schedule": "* * * * *"}]}"#,
                "`/api/cron/nope` is not a supacron function; known paths: /api/cron/patch",
            ),
            (
                r#"{"crons": [{"path": "/api/cron/patch", "schedule": "0 5 * * MON"}]}"#,
                "schedule of `/api/cron/patch`",
            ),
            (
                r#"{"schedules": [{"path": "/api/cron/patch", "schedule": "*/2 * * * *", "jitter": 3}]}"#,
                "schedule of `/api/cron/patch`: jitter 3 min is longer than the shortest gap between its firings (2 min), which Vercel refuses; use a jitter of at most 2",
            ),
            (
                r#"{"schedules": [{"path": "/api/cron/patch", "schedule": "0,5 9 * * *", "jitter": 6}]}"#,
                "jitter 6 min is longer than the shortest gap between its firings (5 min)",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text, &source).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.starts_with("x/vercel.json"), "{err}");
        }
    }
}
