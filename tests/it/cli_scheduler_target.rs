//! `supacron scheduler --target URL`: each tick is a request to the deployed function. Against
//! a stub HTTP server that answers when the test says so, on a manual clock: the right paths,
//! times and headers, `?scheduled=1`, no overlap while a request is slow, 503 and timeouts
//! retried with backoff inside the slot, a graceful stop; then the real binary (API_BASE_URL)
//! against the stub and against `supacron serve` over a real database.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Timelike, Utc};
use serde_json::json;
use supacron::Job;
use supacron::cli::scheduler::{
    AnswerTimeout, Event, HttpRunner, ManualClock, Report, RetryPolicy, Scheduler, TargetError,
};
use supacron::cli::shutdown::{self, Stop};
use supacron::cli::vercel_json::{self, CronEntry, Source};
use supacron::config::Config;
use testkit::TestEnv;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;

use crate::support::stub_http::{Received, StubHttp};
use crate::support::supacron::{Supacron, borrowed};

const SECRET: &str = "target-test-cron-secret-0123456789";
const KEY: &str = "target-test-internal-api-key-0123456789";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn repo_vercel_json() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vercel.json")
}

fn repo_entries() -> Vec<CronEntry> {
    vercel_json::load(Some(&repo_vercel_json())).unwrap().0
}

fn config(vars: &[(&str, &str)]) -> Config {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

/// A fast policy for the timeout test; the default one otherwise.
fn policy(timeout: Option<Duration>) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    if let Some(timeout) = timeout {
        policy.answer_timeout = AnswerTimeout::Fixed(timeout);
    }
    policy
}

/// A `--target` scheduler on a manual clock, aimed at a stub, running in a task.
struct Harness {
    clock: ManualClock,
    stub: StubHttp,
    events: UnboundedReceiver<Event>,
    stop: Stop,
    task: JoinHandle<Report>,
}

impl Harness {
    async fn start(
        start: DateTime<Utc>,
        entries: Vec<CronEntry>,
        vars: &[(&str, &str)],
        policy: RetryPolicy,
    ) -> Harness {
        let stub = StubHttp::start().await;
        let clock = ManualClock::new(start);
        let (stop, shutdown) = shutdown::channel();
        let jobs: Vec<Job> = entries.iter().map(|e| e.job).collect();
        let runner = HttpRunner::new(
            &stub.url,
            &jobs,
            &config(vars),
            Arc::new(clock.clone()),
            shutdown.clone(),
        )
        .unwrap()
        .policy(policy);
        let (tx, events) = unbounded_channel();
        let scheduler = Scheduler::new(entries, Arc::new(clock.clone()), Arc::new(runner))
            .grace(Duration::from_secs(60))
            .events(tx);
        let task = tokio::spawn(scheduler.run(shutdown));
        clock.wait_until_asleep().await;
        Harness {
            clock,
            stub,
            events,
            stop,
            task,
        }
    }

    /// Moves the clock to `to`; returns the events of that moment (no `Finished`).
    async fn tick(&mut self, to: DateTime<Utc>) -> Vec<Event> {
        self.clock.advance_to(to).await;
        std::iter::from_fn(|| self.events.try_recv().ok())
            .filter(|e| !matches!(e, Event::Finished { .. }))
            .collect()
    }

    async fn finished(&mut self, job: Job) {
        loop {
            match tokio::time::timeout(Duration::from_secs(20), self.events.recv()).await {
                Ok(Some(Event::Finished { job: j, .. })) if j == job => return,
                Ok(Some(_)) => {}
                other => panic!("{job} did not finish: {other:?}"),
            }
        }
    }
}

fn ok_body(job: &str, run_id: &str) -> serde_json::Value {
    json!({"job": job, "run_id": run_id, "status": "ok", "dry_run": false, "applied": 0, "duration_ms": 3})
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn each_tick_posts_the_jobs_path_with_the_secret_and_the_scheduled_flag() {
    let start = at("2026-03-02T00:00:30Z");
    let mut h = Harness::start(
        start,
        repo_entries(),
        &[("CRON_SECRET", SECRET)],
        policy(None),
    )
    .await;
    for minute in 1..=16 {
        let now = at("2026-03-02T00:00:00Z") + TimeDelta::minutes(minute);
        let events = h.tick(now).await;
        let m = now.minute();
        let mut want = BTreeSet::new();
        if m.is_multiple_of(2) {
            want.insert(Job::Patch.path());
        }
        if m.is_multiple_of(10) {
            want.insert(Job::Memory.path());
        }
        if m == 15 {
            want.insert(Job::Outcomes.path());
        }
        assert_eq!(events.len(), want.len(), "at {now}: {events:?}");
        let mut got = BTreeSet::new();
        for _ in 0..want.len() {
            let request = h.stub.next().await;
            assert_eq!(request.method, http::Method::POST);
            let (path, query) = request.path_and_query.split_once('?').unwrap();
            assert_eq!(query, "scheduled=1", "{}", request.path_and_query);
            assert_eq!(request.header("authorization"), format!("Bearer {SECRET}"));
            assert_eq!(request.header("x-internal-api-key"), "");
            assert_eq!(request.header("x-supacron-scheduled-at"), stamp(now));
            assert!(
                request
                    .header("user-agent")
                    .starts_with("supacron-scheduler/")
            );
            assert!(request.body.is_empty());
            let job = Job::from_name(path).unwrap();
            got.insert(job.path());
            request.answer(200, ok_body(job.name(), "r"));
            h.finished(job).await;
        }
        assert_eq!(got, want, "at {now}");
    }
    assert!(h.stub.try_next().is_none());
    h.stop.stop();
    let report = h.task.await.unwrap();
    assert_eq!((report.started, report.skipped), (10, 0));
}

#[tokio::test]
async fn the_training_jobs_send_the_internal_api_key_when_no_secret_is_set() {
    let text = r#"{"crons": [
        {"path": "/api/training/outcomes", "schedule": "15 * * * *"},
        {"path": "/api/training/calculate-pending", "schedule": "0 * * * *"}]}"#;
    let entries = vercel_json::parse(text, &Source::BuiltIn).unwrap();
    let vars = [("INTERNAL_API_KEY", KEY)];
    let mut h = Harness::start(at("2026-03-02T00:10:00Z"), entries, &vars, policy(None)).await;
    h.tick(at("2026-03-02T00:15:00Z")).await;
    let request = h.stub.next().await;
    assert_eq!(request.path_and_query, "/api/training/outcomes?scheduled=1");
    assert_eq!(request.header("x-internal-api-key"), KEY);
    assert_eq!(request.header("authorization"), "");
    request.answer(200, ok_body("outcomes", "r"));
    h.finished(Job::Outcomes).await;
    h.stop.stop();
    h.task.await.unwrap();

    // A job the deployment would refuse without CRON_SECRET stops the scheduler at start.
    let (_stop, shutdown) = shutdown::channel();
    let clock = Arc::new(ManualClock::new(at("2026-03-02T00:00:00Z")));
    let error = HttpRunner::new(
        "https://my-app.vercel.app",
        &[Job::Patch, Job::Outcomes],
        &config(&vars),
        clock.clone(),
        shutdown.clone(),
    )
    .unwrap_err();
    assert!(matches!(error, TargetError::NoCredential { .. }), "{error}");
    assert!(
        error.to_string().contains("patch") && error.to_string().contains("CRON_SECRET"),
        "{error}"
    );
    for bad in ["my-app.vercel.app", "ftp://x", "https://x/?secret=1"] {
        let error = HttpRunner::new(
            bad,
            &[Job::Outcomes],
            &config(&vars),
            clock.clone(),
            shutdown.clone(),
        )
        .unwrap_err();
        assert!(
            matches!(error, TargetError::InvalidUrl(_)),
            "{bad}: {error}"
        );
        assert!(
            !error.to_string().contains("secret=1") || bad.contains("secret"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_slow_request_is_never_overlapped_by_the_next_tick() {
    let mut h = Harness::start(
        at("2026-03-02T00:00:30Z"),
        repo_entries(),
        &[("CRON_SECRET", SECRET)],
        policy(None),
    )
    .await;
    let first = at("2026-03-02T00:02:00Z");
    h.tick(first).await;
    let slow = h.stub.next().await;
    // Two ticks come while the first request waits for its answer: both skipped, no request.
    for slot in ["2026-03-02T00:04:00Z", "2026-03-02T00:06:00Z"] {
        assert_eq!(
            h.tick(at(slot)).await,
            vec![Event::Skipped {
                job: Job::Patch,
                slot: at(slot),
                running_since: first
            }]
        );
    }
    assert!(h.stub.try_next().is_none(), "no second request in flight");
    slow.answer(200, ok_body("patch", "slow"));
    h.finished(Job::Patch).await;
    h.tick(at("2026-03-02T00:08:00Z")).await;
    let next = h.stub.next().await;
    assert_eq!(
        next.header("x-supacron-scheduled-at"),
        "2026-03-02T00:08:00Z"
    );
    next.answer(200, ok_body("patch", "next"));
    h.finished(Job::Patch).await;
    h.stop.stop();
    let report = h.task.await.unwrap();
    assert_eq!((report.started, report.skipped), (2, 2));
}

/// Answers `request` with 503 as the deployment does when Supabase is unreachable.
fn unavailable(request: Received) {
    request.answer(
        503,
        json!({"error": "supabase_unavailable", "message": "Supabase is unreachable; nothing changed", "job": "patch", "run_id": "r"}),
    );
}

#[tokio::test]
async fn a_503_is_retried_after_a_growing_backoff_but_only_inside_the_slot() {
    let mut h = Harness::start(
        at("2026-03-02T00:00:30Z"),
        repo_entries(),
        &[("CRON_SECRET", SECRET)],
        policy(None),
    )
    .await;
    let slot = at("2026-03-02T00:02:00Z");
    h.tick(slot).await;
    // 10 s, then 30 s; the third backoff (90 s) would end after the next tick (00:04).
    let mut attempt_times = vec![slot];
    for wait in [10, 30] {
        unavailable(h.stub.next().await);
        let retry_at = h.clock.wait_for_pause().await;
        let want = *attempt_times.last().unwrap() + TimeDelta::seconds(wait);
        assert_eq!(retry_at, want, "backoff {wait} s");
        assert!(
            h.stub.try_next().is_none(),
            "no retry before the backoff ends"
        );
        h.clock.set(retry_at);
        attempt_times.push(retry_at);
    }
    let third = h.stub.next().await;
    assert_eq!(
        third.header("x-supacron-scheduled-at"),
        "2026-03-02T00:02:00Z",
        "a retry is for the same tick"
    );
    unavailable(third);
    h.finished(Job::Patch).await;
    assert!(h.clock.pauses().is_empty(), "given up: no retry pending");
    // The next tick starts afresh and a 503 followed by a 200 ends it.
    h.tick(at("2026-03-02T00:04:00Z")).await;
    unavailable(h.stub.next().await);
    let retry_at = h.clock.wait_for_pause().await;
    h.clock.set(retry_at);
    h.stub.next().await.answer(200, ok_body("patch", "ok"));
    h.finished(Job::Patch).await;
    h.stop.stop();
    let report = h.task.await.unwrap();
    assert_eq!(report.started, 2, "retries are not new runs");
}

#[tokio::test]
async fn a_request_without_an_answer_in_time_is_retried() {
    let timeout = Duration::from_millis(300);
    let mut h = Harness::start(
        at("2026-03-02T00:00:30Z"),
        repo_entries(),
        &[("CRON_SECRET", SECRET)],
        policy(Some(timeout)),
    )
    .await;
    h.tick(at("2026-03-02T00:02:00Z")).await;
    h.stub.next().await.hang();
    let retry_at = h.clock.wait_for_pause().await;
    assert_eq!(retry_at, at("2026-03-02T00:02:10Z"));
    h.clock.set(retry_at);
    h.stub.next().await.answer(200, ok_body("patch", "second"));
    h.finished(Job::Patch).await;
    h.stop.stop();
    h.task.await.unwrap();
}

#[tokio::test]
async fn a_stop_waits_for_the_answer_in_flight_and_cancels_a_pending_retry() {
    // A request in flight when the stop comes: the scheduler waits for its answer.
    let mut h = Harness::start(
        at("2026-03-02T00:00:30Z"),
        repo_entries(),
        &[("CRON_SECRET", SECRET)],
        policy(None),
    )
    .await;
    h.tick(at("2026-03-02T00:02:00Z")).await;
    let in_flight = h.stub.next().await;
    h.stop.stop();
    match tokio::time::timeout(Duration::from_secs(10), h.events.recv()).await {
        Ok(Some(Event::Stopping { running })) => assert_eq!(running, vec![Job::Patch]),
        other => panic!("{other:?}"),
    }
    tokio::task::yield_now().await;
    assert!(!h.task.is_finished(), "the scheduler waits for the answer");
    in_flight.answer(200, ok_body("patch", "last"));
    let report = tokio::time::timeout(Duration::from_secs(10), h.task)
        .await
        .expect("the stop ends once the answer came")
        .unwrap();
    assert!(report.abandoned.is_empty());

    // A stop during a retry's backoff: no retry, and the stop is immediate.
    let mut h = Harness::start(
        at("2026-03-02T00:00:30Z"),
        repo_entries(),
        &[("CRON_SECRET", SECRET)],
        policy(None),
    )
    .await;
    h.tick(at("2026-03-02T00:02:00Z")).await;
    unavailable(h.stub.next().await);
    h.clock.wait_for_pause().await;
    h.stop.stop();
    let report = tokio::time::timeout(Duration::from_secs(10), h.task)
        .await
        .expect("a pending retry does not hold the stop")
        .unwrap();
    assert!(report.abandoned.is_empty());
    assert!(h.stub.try_next().is_none(), "no retry after the stop");
}

/// The real binary reads API_BASE_URL, logs one line per answer (status, run id, counts)
/// without the secret, and exits 0 on SIGTERM.
#[tokio::test]
async fn the_binary_sends_ticks_to_api_base_url_and_logs_each_answer() {
    let mut stub = StubHttp::start().await;
    let vercel_json = repo_vercel_json();
    let mut scheduler = Supacron::start(
        &[
            "scheduler",
            "--run-on-start",
            "--json",
            "--vercel-json",
            vercel_json.to_str().unwrap(),
        ],
        &[("API_BASE_URL", stub.url.as_str()), ("CRON_SECRET", SECRET)],
    );
    let mut paths = BTreeSet::new();
    for i in 0..Job::ALL.len() {
        let request = stub.next().await;
        let job = Job::from_name(request.path_and_query.split('?').next().unwrap()).unwrap();
        paths.insert(job.path());
        if job == Job::Patch {
            request.answer(
                200,
                json!({"job": "patch", "run_id": "run-patch", "status": "partial", "dry_run": false, "applied": 7, "failed": 1, "duration_ms": 5}),
            );
        } else {
            request.answer(200, ok_body(job.name(), &format!("run-{i}")));
        }
    }
    assert_eq!(paths.len(), Job::ALL.len());
    let line = scheduler
        .wait_for("the patch answer line", |l| {
            l["job"] == "patch" && l["http_status"] == 200
        })
        .await;
    assert_eq!(line["run_id"], "run-patch");
    assert_eq!(line["status"], "partial");
    assert_eq!(line["counts"], r#"{"applied":7,"failed":1}"#);
    assert_eq!(line["level"], "INFO");
    scheduler.terminate();
    let status = scheduler.exit().await;
    let output = scheduler.output();
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(output.contains("API_BASE_URL"), "{output}");
    assert!(
        !output.contains(SECRET),
        "the secret is never logged: {output}"
    );
}

/// Seed 002's setup: `API_BASE_URL` and `INTERNAL_API_KEY`, no `CRON_SECRET`, with the
/// shipped `vercel.json`: the training ticks go out with the key; the jobs the deployment
/// would refuse are left out at start, each with a warning naming what to set.
#[tokio::test]
async fn with_only_internal_api_key_the_training_ticks_go_out_and_the_others_are_left_out() {
    let mut stub = StubHttp::start().await;
    let vercel_json = repo_vercel_json();
    let mut scheduler = Supacron::start(
        &[
            "scheduler",
            "--run-on-start",
            "--json",
            "--vercel-json",
            vercel_json.to_str().unwrap(),
        ],
        &[
            ("API_BASE_URL", stub.url.as_str()),
            ("INTERNAL_API_KEY", KEY),
        ],
    );
    let mut paths = BTreeSet::new();
    for i in 0..2 {
        let request = stub.next().await;
        assert_eq!(request.header("x-internal-api-key"), KEY);
        assert_eq!(request.header("authorization"), "");
        let job = Job::from_name(request.path_and_query.split('?').next().unwrap()).unwrap();
        paths.insert(job.path());
        request.answer(200, ok_body(job.name(), &format!("run-{i}")));
    }
    assert_eq!(
        paths,
        BTreeSet::from(["/api/training/calculate-pending", "/api/training/outcomes"])
    );
    for job in [Job::Outcomes, Job::Rewards] {
        scheduler
            .wait_for("the training answer lines", |l| {
                l["job"] == job.name() && l["http_status"] == 200
            })
            .await;
    }
    for job in [Job::Patch, Job::Memory, Job::Schedule] {
        let line = scheduler
            .wait_for("a left-out warning", |l| {
                l["job"] == job.name() && l["level"] == "WARN"
            })
            .await;
        assert!(
            line["fields"]["message"]
                .as_str()
                .or(line["message"].as_str())
                .unwrap_or_default()
                .contains("set CRON_SECRET"),
            "{line}"
        );
    }
    assert!(stub.try_next().is_none(), "no request for a job left out");
    scheduler.terminate();
    let status = scheduler.exit().await;
    let output = scheduler.output();
    assert_eq!(status.code(), Some(0), "{output}");
    assert!(!output.contains(KEY), "the key is never logged: {output}");
}

/// Two set-ups the scheduler cannot honour stop it at start, saying why: a `CRON_SECRET`
/// that is set but unusable (too short), even beside a valid `INTERNAL_API_KEY`; and a file
/// whose every job is a private function target, which `--target` cannot call.
#[tokio::test]
async fn an_unusable_secret_or_only_private_jobs_stop_the_target_scheduler_at_start() {
    let vercel_json = repo_vercel_json();
    let mut short = Supacron::start(
        &[
            "scheduler",
            "--json",
            "--target",
            "https://my-app.vercel.app",
            "--vercel-json",
            vercel_json.to_str().unwrap(),
        ],
        &[("CRON_SECRET", "short"), ("INTERNAL_API_KEY", KEY)],
    );
    let status = short.exit().await;
    let output = short.output();
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("CRON_SECRET"), "{output}");
    assert!(!output.contains("ticks are requests"), "{output}");

    let dir = std::env::temp_dir().join(format!("supacron-private-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vercel.json");
    std::fs::write(
        &file,
        r#"{"schedules": [{"name": "cron-memory", "schedule": "*/10 * * * *", "function": "api/cron/memory"}],
            "functions": {"api/cron/memory.rs": {"maxDuration": 300, "experimentalTriggers": [{"type": "schedule/v1beta"}]}}}"#,
    )
    .unwrap();
    let mut private = Supacron::start(
        &[
            "scheduler",
            "--json",
            "--target",
            "https://my-app.vercel.app",
            "--vercel-json",
            file.to_str().unwrap(),
        ],
        &[("CRON_SECRET", SECRET)],
    );
    let status = private.exit().await;
    let output = private.output();
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(output.contains("nothing to call"), "{output}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// End to end: `supacron serve` over a real database as the "deployment", and the scheduler
/// with `--target` as its clock; the runs are recorded as the scheduler's.
#[tokio::test]
async fn ticks_through_the_target_are_recorded_as_scheduled_runs() {
    let mut test = TestEnv::start().await;
    test.db.seed().await;
    let env = [
        ("SUPABASE_URL", test.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", test.secret_key.clone()),
        ("SUPACRON_LLM_PROVIDER", "offline".into()),
        ("CRON_SECRET", SECRET.into()),
    ];
    let mut serve = Supacron::start(&["serve", "--port", "0", "--json"], &borrowed(&env));
    let url = serve.url().await;
    let vercel_json = repo_vercel_json();
    let mut scheduler = Supacron::start(
        &[
            "scheduler",
            "--run-on-start",
            "--json",
            "--target",
            &url,
            "--vercel-json",
            vercel_json.to_str().unwrap(),
        ],
        &[("CRON_SECRET", SECRET)],
    );
    for job in Job::ALL {
        let line = scheduler
            .wait_for("an answer line", |l| {
                l["job"] == job.name() && l["http_status"].is_number()
            })
            .await;
        assert_eq!(line["http_status"], 200, "{job}: {line}");
    }
    scheduler.terminate();
    assert_eq!(scheduler.exit().await.code(), Some(0));
    serve.terminate();
    assert_eq!(serve.exit().await.code(), Some(0));
    let rows = test
        .db
        .client
        .query("select job, trigger from cron_runs order by job", &[])
        .await
        .unwrap();
    let recorded: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut want: Vec<(String, String)> = Job::ALL
        .iter()
        .map(|j| (j.name().to_string(), "scheduler".to_string()))
        .collect();
    want.sort();
    assert_eq!(recorded, want);
}
