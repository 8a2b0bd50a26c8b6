//! `supacron check` (and the status function's `?check=1`): is this Supabase project ready for
//! supacron, before anything is deployed? With only `SUPABASE_URL` and the service-role key:
//!
//! 1. every table, column, view and RPC function each job needs ([`contract`]), read from
//!    PostgREST's OpenAPI description at `GET /rest/v1/` ([`openapi`]), with the app columns'
//!    types;
//! 2. the schema version the binary expects ([`contract::SCHEMA_VERSION`]) against the one
//!    installed (`supacron_schema_version()`);
//! 3. that `anon` / `authenticated` can neither read supacron's tables and views (and the
//!    patch queue) nor call its functions (`supacron_exposure()`: the service role cannot look
//!    as them);
//! 4. that each job's configuration variables that are set here are valid (those not set
//!    here are notes: they are set in Vercel);
//! 5. that the jobs named in `SUPACRON_PRIVATE_FUNCTIONS` and the functions `vercel.json`
//!    gives the `schedule/v1beta` trigger are the same ([`private`]).
//!
//! One [`Finding`] per problem, each saying what to do. A job cannot run when any finding is
//! an [`Severity::Error`]: exit [`EXIT_NOT_READY`].

pub mod contract;
pub mod openapi;
mod private;

pub use private::VercelJson;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

use crate::Job;
use crate::config::{Config, ConfigError};
use crate::supabase::{Supabase, SupabaseError};
use contract::{APP_COLUMNS, PRIVATE_RELATIONS, SCHEMA_VERSION};
use openapi::{Described, format_of, type_name};

/// Exit code: every job can run.
pub const EXIT_READY: u8 = 0;
/// Exit code: at least one job cannot run (or supacron's data is open to the client roles).
pub const EXIT_NOT_READY: u8 = 1;
/// Exit code: `SUPABASE_URL` or the service-role key missing or invalid.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: Supabase could not be asked (unreachable, key refused, no OpenAPI description).
pub const EXIT_UNREACHABLE: u8 = 3;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A job cannot run (or supacron's data is exposed) until this is fixed.
    Error,
    /// Worth knowing; nothing stops.
    Note,
}

/// One line of the report: what was found, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or note.
    pub severity: Severity,
    /// `patch_jobs.lease_owner missing: apply …`.
    pub finding: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Note => "note",
        };
        write!(f, "{label}: {}", self.finding)
    }
}

/// The findings, errors first.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every finding.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when no finding is an error.
    pub fn ready(&self) -> bool {
        self.findings.iter().all(|f| f.severity != Severity::Error)
    }

    /// [`EXIT_READY`] or [`EXIT_NOT_READY`].
    pub fn exit_code(&self) -> u8 {
        if self.ready() {
            EXIT_READY
        } else {
            EXIT_NOT_READY
        }
    }

    /// `{"ready": bool, "schema_version_expected": "...", "findings": [{severity, finding}]}`.
    pub fn to_json(&self) -> Value {
        json!({
            "ready": self.ready(),
            "schema_version_expected": SCHEMA_VERSION,
            "findings": self.findings,
        })
    }

    fn error(&mut self, finding: String) {
        self.findings.push(Finding {
            severity: Severity::Error,
            finding,
        });
    }

    fn note(&mut self, finding: String) {
        self.findings.push(Finding {
            severity: Severity::Note,
            finding,
        });
    }
}

/// Why the check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `SUPABASE_URL` or the key is missing or invalid.
    #[error("{0}")]
    Config(ConfigError),
    /// Supabase could not be asked.
    #[error("{0}")]
    Supabase(SupabaseError),
    /// `GET /rest/v1/` did not answer an OpenAPI description.
    #[error(
        "GET /rest/v1/ did not answer PostgREST's OpenAPI description; check SUPABASE_URL (the project URL or its /rest/v1) and that the key is the service-role key"
    )]
    NoDescription,
}

impl CheckError {
    /// [`EXIT_USAGE`] or [`EXIT_UNREACHABLE`].
    pub fn exit_code(&self) -> u8 {
        match self {
            CheckError::Config(_) => EXIT_USAGE,
            _ => EXIT_UNREACHABLE,
        }
    }
}

/// What to do about a missing supacron object.
fn apply_hint() -> String {
    format!("apply the migrations up to {SCHEMA_VERSION} (supabase/migrations: `supabase db push`)")
}

/// Runs every check against the project of `config`, and `vercel_json` against
/// `SUPACRON_PRIVATE_FUNCTIONS`.
pub async fn check(config: &Config, vercel_json: VercelJson<'_>) -> Result<Report, CheckError> {
    let supabase = config.for_status().map_err(CheckError::Config)?.supabase;
    let db = Supabase::new(&supabase);
    let document: Value = db
        .fetch(db.from(""), "GET /rest/v1/ (OpenAPI)")
        .await
        .map_err(CheckError::Supabase)?;
    let described = Described::from_document(&document).ok_or(CheckError::NoDescription)?;
    let mut report = Report::default();
    schema_version(&db, &mut report).await?;
    objects(&described, &mut report);
    exposure(&db, &described, &mut report).await?;
    configuration(config, &mut report);
    private::private_functions(vercel_json, config.private_functions(), &mut report);
    report.findings.sort_by(|a, b| a.severity.cmp(&b.severity));
    Ok(report)
}

async fn schema_version(db: &Supabase, report: &mut Report) -> Result<(), CheckError> {
    match db
        .rpc::<String>("supacron_schema_version", &json!({}))
        .await
    {
        Ok(installed) if installed == SCHEMA_VERSION => {
            report.note(format!("schema version {installed}: what this binary expects"));
        }
        Ok(installed) if installed.as_str() < SCHEMA_VERSION => report.error(format!(
            "schema version {installed} installed, this binary expects {SCHEMA_VERSION}: {}",
            apply_hint()
        )),
        Ok(installed) => report.error(format!(
            "schema version {installed} installed, newer than this binary's {SCHEMA_VERSION}: deploy supacron from the commit whose migrations you applied"
        )),
        Err(error) if error.is_unavailable() => return Err(CheckError::Supabase(error)),
        Err(_) => report.error(format!(
            "schema version unknown (supacron_schema_version() missing: no supacron schema here): {}",
            apply_hint()
        )),
    }
    Ok(())
}

/// `the patch job needs it`, `the outcomes, rewards jobs need it`, `the status function needs
/// it` (`verb` is the plural form: `need`, `read`).
fn who(users: &[String], verb: &str) -> String {
    let functions: Vec<&str> = users
        .iter()
        .map(String::as_str)
        .filter(|u| *u != "status")
        .collect();
    let status = functions.len() < users.len();
    let mut parts = Vec::new();
    match functions.len() {
        0 => {}
        1 => parts.push(format!("the {} job", functions[0])),
        _ => parts.push(format!("the {} jobs", functions.join(", "))),
    }
    if status {
        parts.push("the status function".into());
    }
    let plural = functions.len() > 1 || (status && !functions.is_empty());
    let verb = if plural {
        verb.to_string()
    } else {
        format!("{verb}s")
    };
    format!("{} {verb} it", parts.join(" and "))
}

fn objects(described: &Described, report: &mut Report) {
    // What is missing, by object, with who needs it.
    let mut missing: BTreeMap<String, (Vec<String>, String)> = BTreeMap::new();
    let mut need = |object: String, user: &str, todo: String| {
        let entry = missing.entry(object).or_insert_with(|| (Vec::new(), todo));
        if !entry.0.iter().any(|u| u == user) {
            entry.0.push(user.to_string());
        }
    };
    let units: Vec<(Option<Job>, &str)> = Job::ALL
        .iter()
        .map(|job| (Some(*job), job.name()))
        .chain(std::iter::once((None, "status")))
        .collect();
    for (job, name) in &units {
        let needs = contract::needs(*job);
        let functions = needs.functions.iter().chain(if job.is_some() {
            contract::run_history_functions().iter()
        } else {
            [].iter()
        });
        for table in needs.tables.iter().chain(needs.views) {
            if !described.relations.contains_key(*table) {
                need(format!("table or view {table} missing"), name, apply_hint());
            }
        }
        for function in functions {
            if !described.functions.contains(*function) {
                need(format!("function {function}() missing"), name, apply_hint());
            }
        }
    }
    for column in APP_COLUMNS {
        let users: Vec<&str> = column.jobs.split(' ').collect();
        let Some(columns) = described.relations.get(column.table) else {
            for user in &users {
                need(
                    format!("table {} missing", column.table),
                    user,
                    format!("{}: it creates it", apply_hint()),
                );
            }
            continue;
        };
        match columns.get(column.column) {
            None => {
                let todo = if column.added {
                    format!("{}: it adds it", apply_hint())
                } else {
                    format!(
                        "add it to your table ({}; docs/app-contract.md), then apply the migrations",
                        column.types.join(" or ")
                    )
                };
                for user in &users {
                    need(
                        format!("{}.{} missing", column.table, column.column),
                        user,
                        todo.clone(),
                    );
                }
            }
            Some(format) if !column.types.iter().any(|t| format_of(t) == format) => {
                for user in &users {
                    need(
                        format!(
                            "{}.{} is {}, needs {}",
                            column.table,
                            column.column,
                            type_name(format),
                            column.types.join(" or ")
                        ),
                        user,
                        "change the column's type (docs/app-contract.md)".into(),
                    );
                }
            }
            Some(_) => {}
        }
    }
    for (object, (users, todo)) in missing {
        report.error(format!("{object}: {todo}; {}", who(&users, "need")));
    }
}

async fn exposure(
    db: &Supabase,
    described: &Described,
    report: &mut Report,
) -> Result<(), CheckError> {
    if !described.functions.contains("supacron_exposure") {
        report.error(format!(
            "anon / authenticated access cannot be checked (supacron_exposure() missing): {}",
            apply_hint()
        ));
        return Ok(());
    }
    let mut functions: Vec<&str> = vec![
        "supacron_exposure",
        "supacron_schema_version",
        "supacron_app_contract",
    ];
    for job in Job::ALL
        .iter()
        .map(|j| Some(*j))
        .chain(std::iter::once(None))
    {
        functions.extend(contract::needs(job).functions);
    }
    functions.extend(contract::run_history_functions());
    functions.sort();
    functions.dedup();
    #[derive(serde::Deserialize)]
    struct Exposed {
        object: String,
        role: String,
        privilege: String,
    }
    let exposed: Vec<Exposed> = match db
        .rpc(
            "supacron_exposure",
            &json!({"p_relations": PRIVATE_RELATIONS, "p_functions": functions}),
        )
        .await
    {
        Ok(rows) => rows,
        Err(error) if error.is_unavailable() => return Err(CheckError::Supabase(error)),
        Err(error) => {
            report.error(format!(
                "anon / authenticated access cannot be checked: {}",
                error.public_message()
            ));
            return Ok(());
        }
    };
    let mut by_object: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in exposed {
        by_object
            .entry(e.object)
            .or_default()
            .push(format!("{} can {}", e.role, e.privilege));
    }
    for (object, grants) in by_object {
        let todo = if PRIVATE_RELATIONS.contains(&object.as_str()) {
            format!("revoke all on table public.{object} from public, anon, authenticated")
        } else {
            format!("revoke all on function public.{object} from public, anon, authenticated")
        };
        report.error(format!(
            "{object}: {} (supacron's data is for the service role only): {todo}",
            grants.join(", ")
        ));
    }
    Ok(())
}

fn configuration(config: &Config, report: &mut Report) {
    let mut missing: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut invalid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for job in Job::ALL {
        if let Err(error) = config.for_job(job) {
            for variable in error.missing {
                missing.entry(variable).or_default().push(job.name().into());
            }
            for problem in error.invalid {
                invalid
                    .entry(problem.to_string())
                    .or_default()
                    .push(job.name().into());
            }
        }
    }
    for (problem, jobs) in invalid {
        report.error(format!(
            "{problem}: fix it where it is set; {}",
            who(&jobs, "read")
        ));
    }
    for (variable, jobs) in missing {
        report.note(format!(
            "{variable} is not set here: set it in Vercel (Production) before deploying; {}",
            who(&jobs, "need")
        ));
    }
}
