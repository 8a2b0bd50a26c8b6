//! The front door of every function: one request to one function, from HTTP request to
//! HTTP answer, written once for the five jobs and the status function alike.
//!
//! [`handle`] is the one entry: the Vercel functions (through [`vercel`]), `supacron
//! serve`, and — with a [`FunctionRequest::in_process`] request — `supacron run` and the
//! scheduler, so every entry point has the same methods, auth, answers and logs:
//!
//! 1. GET and POST are served (Vercel Cron sends GET); other methods get 405 + `Allow`.
//! 2. Credentials are checked ([`crate::auth`]) unless the request was made in-process, or
//!    is a Vercel Schedules dispatch (`ce-*` headers, no secret) to a job whose function
//!    the operator declared private (`SUPACRON_PRIVATE_FUNCTIONS`; a public function
//!    refuses it like any request without credentials); an unset `CRON_SECRET` refuses all
//!    (500). The status function also accepts its console's
//!    session cookie, and lets a browser without credentials through to its sign-in
//!    ([`Access`]).
//! 3. The function's configuration is loaded; anything missing is a 500 naming the
//!    variables.
//! 4. The function's body runs: a job's run, opened and recorded in `cron_runs`
//!    ([`job_run`], [`record`]), or the status report ([`status`]). Refusals (steps 1-3)
//!    are not runs and are not recorded.
//! 5. The answer ([`answer`]): JSON with `Cache-Control: no-store` (or the status page);
//!    every error becomes one error body, never an `Err` for `vercel_runtime`. One line is
//!    logged per request ([`log`]).
//! 6. After a job's run is answered and logged: its heartbeat ping and alert sweep (a
//!    scheduled call refused for the job's configuration pings failure too)
//!    ([`crate::notify`]), bounded by a short timeout and never changing the answer.

pub mod answer;
mod job_run;
mod log;
pub mod record;
pub mod request;
pub mod status;
pub mod vercel;

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use tracing::Instrument;
use uuid::Uuid;

use crate::auth::{self, AuthError};
use crate::config::{Config, ConfigError, JobConfig};
use crate::console::Session;
use crate::error::AppError;
use crate::invocation::{RunFailure, RunStatus, RunSummary};
use crate::jobs::catalog::Job;
use crate::jobs::{self, JobEntry};
use crate::notify::{Finished, Outcome};

pub use self::answer::FunctionResponse;
pub use self::request::FunctionRequest;

/// What a body other than a job's answers: a boxed future, so it fits a function pointer
/// (and a binary links only the bodies it names).
pub type AnswerFuture<'a> =
    Pin<Box<dyn Future<Output = Result<FunctionResponse, AppError>> + Send + 'a>>;

/// The status function's body, given an admitted request.
pub type StatusBody = for<'a> fn(&'a Admitted<'a>) -> AnswerFuture<'a>;

/// The status function's credential check: what access a request has, or why it is refused.
pub type StatusAuthorize = fn(&Config, &FunctionRequest) -> Result<Access, AuthError>;

/// The status function: its credential check and its body ([`status::FUNCTION`]).
#[derive(Clone, Copy)]
pub struct StatusEntry {
    /// Who may look, and how they proved it.
    pub authorize: StatusAuthorize,
    /// What it answers.
    pub answer: StatusBody,
}

/// What answers at a function's path. Each variant holds only function pointers, so a
/// function binary that names one links only that one's code (see [`JobEntry`]): the job
/// binaries carry neither the status page nor its console.
#[derive(Clone, Copy)]
pub enum Function {
    /// A job's function (`/api/cron/patch`, …).
    Job(JobEntry),
    /// The status function (`/api/cron/status`): [`status::FUNCTION`].
    Status(StatusEntry),
}

/// How an admitted request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Made inside this process (`supacron run`, the scheduler, the console's run-now).
    InProcess,
    /// A credential of [`crate::auth`]: `CRON_SECRET` (header, Bearer or `?secret=`), or
    /// `INTERNAL_API_KEY` for the training functions.
    Credential,
    /// A Vercel Schedules dispatch to a function declared private: only Vercel's schedule
    /// infrastructure can reach a function with a `schedule/v1beta` trigger.
    ScheduleDispatch,
    /// A signed-in console session (the status function only).
    Session(Session),
    /// Nothing (the status function only, for a browser or a form post): it answers its
    /// sign-in and refuses the rest.
    Anonymous {
        /// A session cookie was sent and refused (forged, expired, signed out, or signed
        /// under another `CRON_SECRET`).
        refused_cookie: bool,
    },
}

impl From<JobEntry> for Function {
    fn from(entry: JobEntry) -> Function {
        Function::Job(entry)
    }
}

/// Any job's function (links every job's code: for `supacron` and tests).
impl From<Job> for Function {
    fn from(job: Job) -> Function {
        Function::Job(jobs::entry(job))
    }
}

impl Function {
    /// The job, for a job's function.
    pub fn job(self) -> Option<Job> {
        match self {
            Function::Job(entry) => Some(entry.job),
            Function::Status(_) => None,
        }
    }

    /// Checks the request's credentials for this function.
    fn authorize(self, config: &Config, request: &FunctionRequest) -> Result<Access, AuthError> {
        if request.is_in_process() {
            return Ok(Access::InProcess);
        }
        let (headers, query) = (&request.headers, request.uri.query());
        match self {
            Function::Job(entry) => {
                if request.is_schedule_dispatch() && config.is_private(entry.job) {
                    return Ok(Access::ScheduleDispatch);
                }
                auth::authorize(config, entry.job, headers, query).map(|()| Access::Credential)
            }
            Function::Status(entry) => (entry.authorize)(config, request),
        }
    }

    /// What the function needs configured besides `CRON_SECRET`.
    fn configuration(self, config: &Config) -> Result<JobConfig, ConfigError> {
        match self {
            Function::Job(entry) => config.for_job(entry.job),
            Function::Status(_) => config.for_status(),
        }
    }

    /// The span of a request's lines: a job's run (`run_id`, `job`); none for the status.
    fn span(self, id: Uuid) -> tracing::Span {
        match self {
            Function::Job(entry) => {
                tracing::info_span!("run", run_id = %id, job = entry.job.name())
            }
            Function::Status(_) => tracing::Span::none(),
        }
    }
}

/// A request past the front door's checks (method, credentials, configuration), as a
/// function's body sees it.
pub struct Admitted<'a> {
    /// The request.
    pub request: &'a FunctionRequest,
    /// The whole configuration.
    pub config: &'a Config,
    /// What this function needs, loaded and valid.
    pub job_config: JobConfig,
    /// How the request proved who it is.
    pub access: Access,
    /// The request's id: a job's run id; the status function's `request_id`.
    pub id: Uuid,
}

/// What a function's body did.
enum Served {
    /// A job ran: its answer is written here, with the duration the log line has too.
    Run(RunSummary),
    /// The body answered itself.
    Answered(FunctionResponse),
}

/// Serves one request to `function` and answers. Never fails: every error becomes an answer.
pub async fn handle(
    function: impl Into<Function>,
    request: FunctionRequest,
    config: &Config,
) -> FunctionResponse {
    let function = function.into();
    let id = Uuid::new_v4();
    async move {
        let started = Instant::now();
        let trigger = request.trigger();
        let dry_run = request.is_dry_run();
        let mut record_error = None;
        let mut answer_id = id;
        let mut notify = None;
        let result: Result<Served, RunFailure> = match admit(function, &request, config) {
            Err(refused) => {
                if let (true, Some(job)) = (refused.unconfigured, function.job()) {
                    notify = Some((job, Outcome::Failure, None));
                }
                Err(refused.error.into())
            }
            Ok((access, job_config)) => match function {
                Function::Job(entry) => {
                    let budget = request.time_budget;
                    let facts = request.clock_facts(entry.job);
                    let ran = job_run::run(
                        entry,
                        config,
                        &job_config,
                        id,
                        trigger,
                        dry_run,
                        budget,
                        &facts,
                    )
                    .await;
                    record_error = ran.record_error;
                    answer_id = ran.duplicate_of.unwrap_or(id);
                    let outcome = match &ran.result {
                        Ok(summary) if summary.status == RunStatus::Duplicate => Outcome::Silent,
                        Ok(summary) if summary.status == RunStatus::Error => Outcome::Failure,
                        Ok(_) => Outcome::Success,
                        Err(_) => Outcome::Failure,
                    };
                    notify = Some((entry.job, outcome, Some(job_config.clone())));
                    ran.result.map(Served::Run)
                }
                Function::Status(entry) => {
                    let admitted = Admitted {
                        request: &request,
                        config,
                        job_config,
                        access,
                        id,
                    };
                    (entry.answer)(&admitted)
                        .await
                        .map(Served::Answered)
                        .map_err(RunFailure::from)
                }
            },
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let (response, failure) = match result {
            Ok(Served::Run(summary)) => {
                let job = function.job().expect("only a job's body runs a job");
                (
                    answer::run_answer(job, answer_id, dry_run, duration_ms, &summary),
                    None,
                )
            }
            Ok(Served::Answered(response)) => (response, None),
            Err(failure) => (answer::error_answer(function, id, &failure), Some(failure)),
        };
        log::log(log::Line {
            function,
            request: &request,
            request_id: id,
            trigger,
            response: &response,
            duration_ms,
            error: failure.as_ref().map(|f| &f.error),
            record_error: record_error.as_deref(),
        });
        // After the run was recorded and logged: bounded, and never changes the answer.
        if let Some((job, outcome, job_config)) = notify {
            let finished = Finished {
                job,
                trigger,
                dry_run,
                outcome,
                job_config: job_config.as_ref(),
            };
            crate::notify::after_run(config, finished).await;
        }
        response
    }
    .instrument(function.span(id))
    .await
}

/// Why a request was not admitted.
struct Refused {
    /// What the answer says.
    error: AppError,
    /// The credentials were good, but the function's configuration is not: a scheduled
    /// call of a job that could not run (its heartbeat gets a failure ping).
    unconfigured: bool,
}

/// Steps 1-3: method, credentials, configuration. A refusal is not a run.
fn admit(
    function: Function,
    request: &FunctionRequest,
    config: &Config,
) -> Result<(Access, JobConfig), Box<Refused>> {
    let refused = |error, unconfigured| {
        Box::new(Refused {
            error,
            unconfigured,
        })
    };
    if request.method != http::Method::GET && request.method != http::Method::POST {
        return Err(refused(AppError::MethodNotAllowed, false));
    }
    let access = function
        .authorize(config, request)
        .map_err(|error| match error {
            AuthError::NotConfigured(missing) => refused(AppError::Config(missing), false),
            AuthError::Unauthorized => refused(AppError::Unauthorized, false),
        })?;
    let job_config = function
        .configuration(config)
        .map_err(|error| refused(error.into(), true))?;
    Ok((access, job_config))
}
