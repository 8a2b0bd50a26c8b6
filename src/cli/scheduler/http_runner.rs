//! `supacron scheduler --target URL` (or `API_BASE_URL`, seed 002's name): each tick is an
//! HTTP request to the deployed function instead of a run in this process.
//!
//! - **The request**: `POST <URL><job's path>?scheduled=1` with an empty body,
//!   `Authorization: Bearer <CRON_SECRET>` — or, for the training jobs when no secret is
//!   set, `x-internal-api-key: <INTERNAL_API_KEY>` (seed 002's credential) — and
//!   `x-supacron-scheduled-at: <the tick's time>`. `?scheduled=1` makes the run count as a
//!   scheduled one (trigger `scheduler`) for the missing-tick check. Redirects are not
//!   followed (Vercel Cron does not follow them either): a 3xx is reported, not obeyed.
//! - **Waiting**: for the answer, up to the job's `maxDuration` plus [`ANSWER_MARGIN`]; the
//!   scheduler does not start the job again while its request is in flight (no overlap).
//! - **Retries**: a 5xx answer, a timeout or a connection failure is retried after a
//!   backoff ([`RetryPolicy`]: 10 s, 30 s, 90 s by default), only while the retry can start
//!   before the job's next tick ("inside the slot") and the scheduler is not stopping. Other
//!   answers (2xx, 4xx, 3xx) are final. Jobs are safe to run twice (leases, idempotent
//!   writes), and a timed-out request's run has been cut off by Vercel at `maxDuration`.
//! - **Logs**: one line per answer (HTTP status, run id, the run's status and counts, or the
//!   error), and one more when a tick is given up on. The target is logged without
//!   credentials (`scheme://host[:port]`), and credentials never leave their headers.
//!
//! Backoffs wait on the scheduler's [`Clock`] ([`Clock::pause_until`]), so tests move time
//! instead of waiting; the request timeout is real time.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Url;
use serde_json::{Map, Value};

use super::clock::Clock;
use super::runner::{Runner, Tick};
use crate::cli::shutdown::Shutdown;
use crate::config::Config;
use crate::jobs::catalog::Job;
use crate::secret::Secret;

/// How much longer than the job's `maxDuration` the scheduler waits for an answer.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(30);

/// The user agent of the scheduler's requests.
pub const USER_AGENT: &str = concat!("supacron-scheduler/", env!("CARGO_PKG_VERSION"));

/// How long to wait for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerTimeout {
    /// The job's `maxDuration` plus this margin (the default: [`ANSWER_MARGIN`]).
    MaxDurationPlus(Duration),
    /// The same for every job (tests).
    Fixed(Duration),
}

/// When a failed request is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests per tick at most (the first one included).
    pub attempts: u32,
    /// The wait after the first failure; each later wait is `factor` times the one before.
    pub first_backoff: Duration,
    /// How much each backoff grows.
    pub factor: u32,
    /// How long to wait for an answer.
    pub answer_timeout: AnswerTimeout,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_secs(10),
            factor: 3,
            answer_timeout: AnswerTimeout::MaxDurationPlus(ANSWER_MARGIN),
        }
    }
}

impl RetryPolicy {
    /// The wait after `failed` attempts (1 after the first failure).
    pub fn backoff(&self, failed: u32) -> Duration {
        self.first_backoff * self.factor.saturating_pow(failed.saturating_sub(1))
    }

    fn timeout(&self, job: Job) -> Duration {
        match self.answer_timeout {
            AnswerTimeout::MaxDurationPlus(margin) => {
                Duration::from_secs(job.max_duration_secs()) + margin
            }
            AnswerTimeout::Fixed(timeout) => timeout,
        }
    }
}

/// Why the scheduler cannot send ticks to a target. Each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not an `http(s)://host` URL.
    #[error(
        "--target / API_BASE_URL `{0}` is not a base URL such as https://my-app.vercel.app \
         (http or https, a host, no query string)"
    )]
    InvalidUrl(String),
    /// A scheduled job the deployed function would refuse: no credential for it.
    #[error(
        "no credential to call {jobs} on the target: set CRON_SECRET (the same value as in the \
         deployment){training}"
    )]
    NoCredential {
        /// The jobs, comma-separated.
        jobs: String,
        /// A hint for the training jobs.
        training: &'static str,
    },
    /// The HTTP client cannot be built (TLS set-up).
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// Whether `config` holds a credential the deployed function of `job` accepts:
/// `CRON_SECRET`, or `INTERNAL_API_KEY` for the training jobs.
pub fn can_call(config: &Config, job: Job) -> bool {
    config.cron_secret().is_ok()
        || (job.accepts_internal_api_key() && config.internal_api_key().is_some())
}

#[derive(Clone, Debug)]
enum Credential {
    CronSecret(Secret),
    InternalApiKey(Secret),
}

/// Sends each tick to the deployed function at a base URL.
pub struct HttpRunner<C: Clock> {
    base: String,
    shown: String,
    client: reqwest::Client,
    cron_secret: Option<Secret>,
    internal_api_key: Option<Secret>,
    clock: Arc<C>,
    shutdown: Shutdown,
    policy: RetryPolicy,
}

impl<C: Clock> std::fmt::Debug for HttpRunner<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRunner")
            .field("target", &self.shown)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// How one attempt ended.
enum Attempt {
    /// A final answer (2xx, 3xx, 4xx): no retry.
    Final,
    /// Worth another try (5xx, timeout, connection failure); the reason.
    Retry(String),
}

impl<C: Clock> HttpRunner<C> {
    /// A runner sending ticks of `jobs` to `target`, with the credentials in `config`.
    /// Refuses a target that is not a base URL, and jobs it has no credential for.
    pub fn new(
        target: &str,
        jobs: &[Job],
        config: &Config,
        clock: Arc<C>,
        shutdown: Shutdown,
    ) -> Result<HttpRunner<C>, TargetError> {
        let url = Url::parse(target.trim()).map_err(|_| TargetError::InvalidUrl(target.into()))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(TargetError::InvalidUrl(target.into()));
        }
        let shown = match url.port() {
            Some(port) => format!(
                "{}://{}:{port}",
                url.scheme(),
                url.host_str().unwrap_or_default()
            ),
            None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()),
        };
        let base = url.as_str().trim_end_matches('/').to_string();
        let cron_secret = config.cron_secret().ok().cloned();
        let internal_api_key = config.internal_api_key().cloned();
        let mut uncovered: Vec<&str> = jobs
            .iter()
            .filter(|job| !can_call(config, **job))
            .map(|job| job.name())
            .collect();
        uncovered.dedup();
        if !uncovered.is_empty() {
            let training = if uncovered
                .iter()
                .all(|name| Job::from_name(name).is_some_and(Job::accepts_internal_api_key))
            {
                ", or INTERNAL_API_KEY for the training jobs"
            } else {
                ""
            };
            return Err(TargetError::NoCredential {
                jobs: uncovered.join(", "),
                training,
            });
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| TargetError::Client(e.without_url().to_string()))?;
        Ok(HttpRunner {
            base,
            shown,
            client,
            cron_secret,
            internal_api_key,
            clock,
            shutdown,
            policy: RetryPolicy::default(),
        })
    }

    /// Uses `policy` instead of the default one.
    pub fn policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The target as logged: `scheme://host[:port]`, no credentials or path.
    pub fn target(&self) -> &str {
        &self.shown
    }

    fn credential(&self, job: Job) -> Option<Credential> {
        match (&self.cron_secret, &self.internal_api_key) {
            (Some(secret), _) => Some(Credential::CronSecret(secret.clone())),
            (None, Some(key)) if job.accepts_internal_api_key() => {
                Some(Credential::InternalApiKey(key.clone()))
            }
            _ => None,
        }
    }

    async fn tick(&self, tick: Tick) {
        let job = tick.job;
        let mut attempt = 1;
        loop {
            let reason = match self.attempt(&tick, attempt).await {
                Attempt::Final => return,
                Attempt::Retry(reason) => reason,
            };
            if attempt >= self.policy.attempts {
                tracing::error!(
                    job = job.name(),
                    slot = %rfc3339(tick.slot),
                    attempts = attempt,
                    "{job} tick given up after {attempt} attempt(s): {reason}"
                );
                return;
            }
            let retry_at = self.clock.now()
                + chrono::TimeDelta::from_std(self.policy.backoff(attempt))
                    .unwrap_or(chrono::TimeDelta::MAX);
            if tick.next_slot.is_some_and(|next| retry_at >= next) {
                tracing::error!(
                    job = job.name(),
                    slot = %rfc3339(tick.slot),
                    attempts = attempt,
                    "{job} tick given up after {attempt} attempt(s): {reason}; the next tick \
                     is due before a retry could start"
                );
                return;
            }
            if self.shutdown.is_stopping() {
                tracing::warn!(
                    job = job.name(),
                    "{job} not retried: the scheduler is stopping"
                );
                return;
            }
            tokio::select! {
                biased;
                _ = self.shutdown.clone().wait() => {
                    tracing::warn!(job = job.name(), "{job} not retried: the scheduler is stopping");
                    return;
                }
                _ = self.clock.pause_until(retry_at) => {}
            }
            attempt += 1;
        }
    }

    /// One request and its one log line.
    async fn attempt(&self, tick: &Tick, attempt: u32) -> Attempt {
        let job = tick.job;
        let path = format!("{}?scheduled=1", job.path());
        let url = format!("{}{path}", self.base);
        let shown = format!("{}{path}", self.shown);
        let mut request = self
            .client
            .post(&url)
            .timeout(self.policy.timeout(job))
            .header(reqwest::header::CONTENT_LENGTH, "0")
            .header("x-supacron-scheduled-at", rfc3339(tick.slot));
        request = match self.credential(job) {
            Some(Credential::CronSecret(secret)) => request.bearer_auth(secret.expose()),
            Some(Credential::InternalApiKey(key)) => {
                request.header("x-internal-api-key", key.expose())
            }
            None => request,
        };
        let started = Instant::now();
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let header_run_id = response
                    .headers()
                    .get("x-supacron-run-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                match response.bytes().await {
                    Ok(body) => Ok((status, header_run_id, location, body)),
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, header_run_id, location, body) = match outcome {
            Ok(answer) => answer,
            Err(error) => {
                let reason = if error.is_timeout() {
                    format!(
                        "no answer within {} s",
                        self.policy.timeout(job).as_secs_f64()
                    )
                } else {
                    format!("request failed: {}", error_chain(&error))
                };
                tracing::warn!(
                    job = job.name(),
                    url = %shown,
                    attempt,
                    duration_ms,
                    "{job}: {reason}"
                );
                return Attempt::Retry(reason);
            }
        };
        let answer = Answer::read(&body, header_run_id);
        let http_status = status.as_u16();
        macro_rules! line {
            ($level:ident, $($message:tt)+) => {
                tracing::$level!(
                    job = job.name(),
                    url = %shown,
                    attempt,
                    http_status,
                    run_id = %answer.run_id,
                    status = %answer.status,
                    counts = %answer.counts,
                    error = %answer.error,
                    duration_ms,
                    $($message)+
                )
            };
        }
        if status.is_success() {
            line!(
                info,
                "{job}: {http_status}, run {} {}",
                answer.run_id,
                answer.status
            );
            Attempt::Final
        } else if status.is_server_error() {
            line!(warn, "{job}: {http_status} {}", answer.error);
            Attempt::Retry(format!("answer {http_status} {}", answer.error))
        } else if status.is_redirection() {
            let location = location.unwrap_or_default();
            line!(
                error,
                "{job}: {http_status}, redirected to `{location}`; not followed: point --target \
                 at the final address"
            );
            Attempt::Final
        } else if http_status == 401 {
            line!(
                error,
                "{job}: 401, the deployment refused the credential: set CRON_SECRET here to the \
                 deployment's value (INTERNAL_API_KEY for the training jobs), then restart"
            );
            Attempt::Final
        } else {
            line!(error, "{job}: {http_status} {}", answer.error);
            Attempt::Final
        }
    }
}

impl<C: Clock> Runner for HttpRunner<C> {
    fn run(&self, tick: Tick) -> impl Future<Output = ()> + Send {
        self.tick(tick)
    }
}

/// What the log line says about an answer body.
struct Answer {
    run_id: String,
    status: String,
    counts: String,
    error: String,
}

/// Keys of a success answer that are not counts.
const NOT_COUNTS: [&str; 5] = ["job", "run_id", "status", "dry_run", "duration_ms"];

impl Answer {
    fn read(body: &[u8], header_run_id: Option<String>) -> Answer {
        let value: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let Some(body) = value else {
            let shown: String = String::from_utf8_lossy(body).chars().take(200).collect();
            return Answer {
                run_id: header_run_id.unwrap_or_default(),
                status: String::new(),
                counts: "{}".into(),
                error: if shown.is_empty() {
                    "(empty body)".into()
                } else {
                    format!("(not JSON) {shown}")
                },
            };
        };
        let run_id = text(body.get("run_id"))
            .or(header_run_id)
            .unwrap_or_default();
        let counts = match body.get("counts") {
            Some(Value::Object(counts)) => Value::Object(counts.clone()),
            _ => Value::Object(
                body.iter()
                    .filter(|(key, _)| {
                        !NOT_COUNTS.contains(&key.as_str())
                            && !matches!(key.as_str(), "error" | "message")
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        };
        let error = match (text(body.get("error")), text(body.get("message"))) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code,
            _ => String::new(),
        };
        Answer {
            run_id,
            status: text(body.get("status")).unwrap_or_default(),
            counts: counts.to_string(),
            error,
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The error and its causes, without the URL (reqwest puts it in the text).
fn error_chain(error: &reqwest::Error) -> String {
    let mut chain = String::new();
    let mut source = std::error::Error::source(error);
    let kind = if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "the answer could not be read"
    } else {
        "error"
    };
    chain.push_str(kind);
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoffs_grow_by_the_factor() {
        let policy = RetryPolicy::default();
        let waits: Vec<u64> = (1..=3).map(|n| policy.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![10, 30, 90]);
    }

    #[test]
    fn answers_are_summarised_for_the_log_line() {
        let ok = Answer::read(
            br#"{"job":"patch","run_id":"r1","status":"ok","dry_run":false,"applied":3,"duration_ms":9}"#,
            None,
        );
        assert_eq!(
            (ok.run_id.as_str(), ok.status.as_str(), ok.counts.as_str()),
            ("r1", "ok", r#"{"applied":3}"#)
        );
        let failed = Answer::read(
            br#"{"error":"supabase_unavailable","message":"try later","job":"patch","run_id":"r2","counts":{"applied":1}}"#,
            None,
        );
        assert_eq!(failed.error, "supabase_unavailable: try later");
        assert_eq!(failed.counts, r#"{"applied":1}"#);
        let html = Answer::read(b"<html>Bad gateway</html>", Some("r3".into()));
        assert_eq!(html.run_id, "r3");
        assert!(
            html.error.starts_with("(not JSON) <html>"),
            "{}",
            html.error
        );
    }
}
