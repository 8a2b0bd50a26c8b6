//! The `crons` of `vercel.json`, the single source of truth for when each job runs: Vercel
//! Cron reads them in production and `supacron scheduler` reads them everywhere else.
//!
//! Each cron's `path` must be one of supacron's function paths and its `schedule` a cron
//! expression Vercel accepts ([`super::cron`]). A copy of the repository's `vercel.json` is
//! built into the binary, for machines that run `supacron` outside a checkout.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cron::{CronError, CronSchedule};
use crate::jobs::catalog::Job;

/// The repository's `vercel.json` at build time.
pub const BUILT_IN: &str = include_str!("../../vercel.json");

/// One scheduled job: a `crons` entry of `vercel.json`.
#[derive(Clone, Debug)]
pub struct CronEntry {
    /// The job its `path` names.
    pub job: Job,
    /// Its `schedule`.
    pub schedule: CronSchedule,
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
    /// Not JSON, or `crons` is not a list of `{path, schedule}`.
    #[error("{0}: not a vercel.json with a `crons` list of {{\"path\", \"schedule\"}} ({1})")]
    Format(Source, String),
    /// No crons at all: the scheduler would never run anything.
    #[error("{0} has no crons; add them to `crons` (see the README's function table)")]
    Empty(Source),
    /// A path that is not a supacron function.
    #[error("{file}: cron path `{path}` is not a supacron function; known paths: {known}")]
    UnknownPath {
        /// The file.
        file: Source,
        /// The path.
        path: String,
        /// The paths supacron serves.
        known: String,
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

#[derive(Deserialize)]
struct VercelJson {
    #[serde(default)]
    crons: Vec<RawCron>,
}

#[derive(Deserialize)]
struct RawCron {
    path: String,
    schedule: String,
}

/// Reads `path`, or — without one — `./vercel.json` when it exists, else the built-in copy.
pub fn load(path: Option<&Path>) -> Result<(Vec<CronEntry>, Source), VercelJsonError> {
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
            let source = Source::File(path);
            Ok((parse(&text, &source)?, source))
        }
        None => Ok((parse(BUILT_IN, &Source::BuiltIn)?, Source::BuiltIn)),
    }
}

/// Parses the `crons` of a `vercel.json` text; `source` only names it in errors.
pub fn parse(text: &str, source: &Source) -> Result<Vec<CronEntry>, VercelJsonError> {
    let raw: VercelJson = serde_json::from_str(text)
        .map_err(|e| VercelJsonError::Format(source.clone(), e.to_string()))?;
    if raw.crons.is_empty() {
        return Err(VercelJsonError::Empty(source.clone()));
    }
    raw.crons
        .into_iter()
        .map(|cron| {
            let job = Job::ALL
                .into_iter()
                .find(|job| job.path() == cron.path)
                .ok_or_else(|| VercelJsonError::UnknownPath {
                    file: source.clone(),
                    path: cron.path.clone(),
                    known: Job::ALL.map(Job::path).join(", "),
                })?;
            let schedule =
                CronSchedule::parse(&cron.schedule).map_err(|error| VercelJsonError::Schedule {
                    file: source.clone(),
                    path: cron.path.clone(),
                    error,
                })?;
            Ok(CronEntry { job, schedule })
        })
        .collect()
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
            assert_eq!(entry.schedule.as_str(), job.schedule());
        }
    }

    #[test]
    fn errors_name_what_to_fix() {
        let source = Source::File("x/vercel.json".into());
        let cases = [
            ("{", "not a vercel.json"),
            ("{\"crons\": []}", "has no crons"),
            (
                r#"{"crons": [{"path": "/api/cron/nope", "schedule": "* * * * *"}]}"#,
                "`/api/cron/nope` is not a supacron function; known paths: /api/cron/patch",
            ),
            (
                r#"{"crons": [{"path": "/api/cron/patch", "schedule": "0 5 * * MON"}]}"#,
                "schedule of `/api/cron/patch`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text, &source).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
            assert!(err.starts_with("x/vercel.json"), "{err}");
        }
    }
}
