//! What a function reads from a request: [`FunctionRequest`] (method, URI, headers, body,
//! and whether it came over HTTP or from inside this process), who started the run
//! ([`FunctionRequest::trigger`]), whether it is a Vercel Schedules function-target
//! dispatch ([`FunctionRequest::is_schedule_dispatch`]), what the clock said about it
//! ([`ClockFacts`]), `?dry_run=1`, and whether a browser is asking.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, Uri, header};

use crate::auth;
use crate::invocation::Trigger;
use crate::jobs::catalog::Job;
use crate::schedules::Clock;

/// The parts of an HTTP request a function looks at.
#[derive(Clone, Debug)]
pub struct FunctionRequest {
    /// HTTP method.
    pub method: Method,
    /// Request URI (path and query).
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// The body: read by the status console's form posts; the jobs take no input from it.
    pub body: Vec<u8>,
    /// Who started the run when the caller knows better than the headers (the scheduler);
    /// `None`: from the user agent and `?scheduled=1` ([`FunctionRequest::trigger`]).
    pub trigger: Option<Trigger>,
    /// Shortens a job run's time budget (the console's run-now, which must end within the
    /// status function's own `maxDuration`).
    pub time_budget: Option<Duration>,
    /// The tick this run is for, when the caller knows it (the in-process scheduler).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The schedule this run is for, when it is not the one built into the binary (the
    /// in-process scheduler reading `--vercel-json FILE`); `None`: the built-in one.
    pub schedule: Option<Clock>,
    /// Made inside this process ([`FunctionRequest::in_process`]): credentials are not
    /// checked. Private, so an HTTP request can never claim it.
    in_process: bool,
}

/// The CloudEvent type of a Vercel Schedules dispatch to a function target.
pub const SCHEDULE_EVENT_TYPE: &str = "com.vercel.schedule.v1beta";

/// Longest schedule name or execution id recorded (characters); longer ones are not kept.
const MAX_CLOCK_TEXT: usize = 256;

/// What the clock said about a run, recorded in `cron_runs` where present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClockFacts {
    /// The Vercel schedule's name (`ce-vssschedulename`, or the job's `schedules` entry for
    /// a path target).
    pub schedule_name: Option<String>,
    /// The schedule execution id (`ce-id`): the same for every delivery of one occurrence,
    /// so a second delivery is recognised and not run again.
    pub execution_id: Option<String>,
    /// When the run was meant to start (`ce-vssscheduledat`; `supacron scheduler`'s tick).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The schedule the run records (`cron_schedules`), when it is not the job's built-in
    /// one ([`FunctionRequest::schedule`]).
    pub schedule: Option<Clock>,
}

impl FunctionRequest {
    /// A request that came over HTTP (Vercel, `supacron serve`), without a body.
    pub fn new(method: Method, uri: Uri, headers: HeaderMap) -> FunctionRequest {
        FunctionRequest {
            method,
            uri,
            headers,
            body: Vec::new(),
            trigger: None,
            time_budget: None,
            scheduled_at: None,
            schedule: None,
            in_process: false,
        }
    }

    /// The same request with `body`.
    pub fn with_body(mut self, body: Vec<u8>) -> FunctionRequest {
        self.body = body;
        self
    }

    /// The request a run inside this process (`supacron run`, the scheduler) stands for:
    /// `GET <job's path>[?dry_run=1]`, no headers, started by `trigger`. Its credentials are
    /// not checked: whoever can start the process already holds its environment, the
    /// service-role key included, so a secret would prove nothing (`CRON_SECRET` is not
    /// needed to run jobs in-process).
    pub fn in_process(job: Job, dry_run: bool, trigger: Trigger) -> FunctionRequest {
        let uri = if dry_run {
            format!("{}?dry_run=1", job.path())
        } else {
            job.path().to_string()
        };
        FunctionRequest {
            in_process: true,
            trigger: Some(trigger),
            ..FunctionRequest::new(
                Method::GET,
                uri.parse().expect("job paths are valid URIs"),
                HeaderMap::new(),
            )
        }
    }

    /// Whether the request was made inside this process (no credentials to check).
    pub fn is_in_process(&self) -> bool {
        self.in_process
    }

    /// Whether this is a Vercel Schedules dispatch to a function target: a POST with an
    /// empty body, `ce-specversion: 1.0`, `ce-type: com.vercel.schedule.v1beta` and a
    /// `ce-id`. It carries no credential: it is admitted only for a function the operator
    /// declared private (`SUPACRON_PRIVATE_FUNCTIONS`), see [`super::Function`].
    pub fn is_schedule_dispatch(&self) -> bool {
        self.method == Method::POST
            && self.body.is_empty()
            && self.header("ce-specversion") == Some("1.0")
            && self.header("ce-type") == Some(SCHEDULE_EVENT_TYPE)
            && self.header("ce-id").is_some_and(|id| !id.is_empty())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// What the clock said about this run, for `job`'s record: a dispatch's `ce-*` headers
    /// (also on a path target, should Vercel send them), else the schedule name of the job's
    /// `schedules` entry for a request from a clock (Vercel's or `supacron scheduler`, whose
    /// entry [`FunctionRequest::schedule`] may carry), and the scheduled time from
    /// `x-supacron-scheduled-at` (`supacron scheduler --target`) or the in-process tick. Read
    /// only for admitted requests. Unusable values (too long, not a time) are left out.
    pub fn clock_facts(&self, job: Job) -> ClockFacts {
        let text = |name: &str| {
            self.header(name)
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.chars().count() <= MAX_CLOCK_TEXT)
                .map(str::to_string)
        };
        let time = |name: &str| {
            self.header(name)
                .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        // The name of the schedule that fired the run: the in-process scheduler's entry, or
        // for Vercel's clock the built-in one (another scheduler's `?scheduled=1` may follow
        // a file of its own, so its run gets no name).
        let entry = match (&self.schedule, self.trigger()) {
            (Some(entry), _) => Some(entry),
            (None, Trigger::VercelCron | Trigger::VercelSchedule) => job.clock(),
            (None, _) => None,
        };
        ClockFacts {
            schedule_name: text("ce-vssschedulename")
                .or_else(|| entry.and_then(|c| c.name.clone())),
            schedule: self.schedule.clone(),
            execution_id: text("ce-id"),
            scheduled_at: time("ce-vssscheduledat")
                .or_else(|| time("x-supacron-scheduled-at"))
                .or(self.scheduled_at),
        }
    }

    /// Who started the run: the caller's word ([`FunctionRequest::trigger`]), else a
    /// Schedules dispatch by its `ce-type`, else Vercel Cron (and Schedules path targets,
    /// which send the same request) by its user agent; another scheduler (an external cron service on Hobby) says so
    /// with `?scheduled=1`; anyone else is `manual`. Only authorised runs are recorded, so
    /// the flag cannot be used to forge history.
    pub fn trigger(&self) -> Trigger {
        if let Some(trigger) = self.trigger {
            return trigger;
        }
        if self.is_schedule_dispatch() {
            return Trigger::VercelSchedule;
        }
        let user_agent = self
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        match Trigger::from_user_agent(user_agent) {
            Trigger::Manual if query_flag(self.uri.query(), &["scheduled"]) => Trigger::Scheduler,
            trigger => trigger,
        }
    }

    /// `?dry_run=1` (also `true`, `yes`, or a bare `dry_run`; `dry-run` works too).
    pub fn is_dry_run(&self) -> bool {
        is_dry_run(self.uri.query())
    }

    /// True when the client asks for HTML (a browser's `Accept: text/html,...`).
    pub fn wants_html(&self) -> bool {
        self.headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("text/html"))
    }
}

fn is_dry_run(query: Option<&str>) -> bool {
    query_flag(query, &["dry_run", "dry-run"])
}

/// Whether the first of `names` present in `query` is on: `1`, `true`, `yes` or bare.
fn query_flag(query: Option<&str>, names: &[&str]) -> bool {
    let value = names.iter().find_map(|name| auth::query_param(query, name));
    matches!(
        value.map(|v| v.to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes" | "")
    )
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn dry_run_is_read_from_the_query() {
        assert!(is_dry_run(Some("dry_run=1")));
        assert!(is_dry_run(Some("a=b&dry_run=true")));
        assert!(is_dry_run(Some("dry_run")));
        assert!(!is_dry_run(Some("dry_run=0")));
        assert!(!is_dry_run(None));
    }

    #[test]
    fn browsers_get_html_and_everyone_else_json() {
        let mut request =
            FunctionRequest::new(Method::GET, Uri::from_static("/"), HeaderMap::new());
        assert!(!request.wants_html());
        request
            .headers
            .insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(!request.wants_html());
        request.headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        );
        assert!(request.wants_html());
    }

    #[test]
    fn only_in_process_requests_skip_the_credential_check() {
        let http = FunctionRequest::new(Method::GET, Uri::from_static("/"), HeaderMap::new());
        assert!(!http.is_in_process());
        let local = FunctionRequest::in_process(Job::Patch, true, Trigger::Scheduler);
        assert!(local.is_in_process() && local.is_dry_run());
        assert_eq!(local.trigger(), Trigger::Scheduler);
    }
}
