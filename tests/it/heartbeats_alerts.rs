//! Heartbeats and alerts (issue #17) against wiremock stand-ins of Healthchecks.io, Cronitor
//! and a Slack incoming webhook, over a real database: a scheduled run pings success or
//! failure in each service's convention (manual and dry runs do not; a scheduled call the
//! job's configuration refuses pings failure, a refused stranger nothing); a job that turns red is
//! posted once however many runs overlap, and its recovery once; an alert the webhook refused
//! is posted again by a later run, once; a hanging endpoint delays the
//! answer by at most the notification timeout and changes nothing; the URLs' secrets never
//! reach a log line, also when a request to them fails.

use std::time::{Duration, Instant};

use chrono::Utc;
use http::Method;
use serde_json::Value;
use supacron::Job;
use supacron::function::{FunctionRequest, handle};
use supacron::invocation::Trigger;
use testkit::TestEnv;
use testkit::factory::{self, NewCronRun};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::front_door::{SECRET, config, request};
use crate::support::function_process::{FUNCTIONS, FunctionProcess, send};

const PING_KEY: &str = "hc-ping-key-5c1f0e27d9a4";
const HOOK_TOKEN: &str = "T000/B000/slack-token-8d2e4f6a";

fn scheduled(job: Job) -> FunctionRequest {
    FunctionRequest::in_process(job, false, Trigger::Scheduler)
}

async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

/// Schedules registered long ago (ticks count), every job's last tick on time, but memory's
/// last run failed.
async fn memory_turned_red(db: &tokio_postgres::Client) {
    db.batch_execute("update cron_schedules set created_at = now() - interval '2 days'")
        .await
        .unwrap();
    for job in ["patch", "memory", "schedule", "outcomes", "rewards"] {
        factory::cron_run(
            db,
            NewCronRun {
                job: job.into(),
                trigger: "vercel_cron".into(),
                status: if job == "memory" { "error" } else { "ok" }.into(),
                started_at: Some(Utc::now()),
                finished_at: Some(Utc::now()),
                error: (job == "memory").then(|| "llm_error: MiniMax answered 500".into()),
                ..Default::default()
            },
        )
        .await;
    }
}

async fn texts(server: &MockServer) -> Vec<String> {
    received(server)
        .await
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["text"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn scheduled_runs_ping_success_and_failure_in_each_services_convention() {
    let env = TestEnv::start().await;
    let hc = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hc)
        .await;
    let template = format!("{}/{PING_KEY}/supacron-{{job}}/{{status}}", hc.uri());
    let ok = config(&env, &[("SUPACRON_HEARTBEAT_URL", template.as_str())]);
    // A scheduled run (idle: nothing pending) and a Vercel Cron run ping success.
    handle(Job::Patch, scheduled(Job::Patch), &ok).await;
    handle(
        Job::Rewards,
        request(
            Method::GET,
            "/api/training/calculate-pending",
            Some(SECRET),
            true,
        ),
        &ok,
    )
    .await;
    // A manual run and a dry run do not ping.
    handle(
        Job::Patch,
        request(Method::POST, "/api/cron/patch", Some(SECRET), false),
        &ok,
    )
    .await;
    handle(
        Job::Patch,
        FunctionRequest::in_process(Job::Patch, true, Trigger::Scheduler),
        &ok,
    )
    .await;
    // A scheduled run that fails (Supabase unreachable) pings failure.
    let down = supacron::config::Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some("http://127.0.0.1:9".into()),
        "SUPABASE_SERVICE_ROLE_KEY" => Some(env.service_key.clone()),
        "SUPABASE_TIMEOUT_SECS" => Some("2".into()),
        "SUPACRON_HEARTBEAT_URL" => Some(template.clone()),
        _ => None,
    });
    let failed = handle(Job::Patch, scheduled(Job::Patch), &down).await;
    assert_eq!(failed.status.as_u16(), 503, "{}", failed.body);
    let paths: Vec<String> = received(&hc)
        .await
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(
        paths,
        vec![
            format!("/{PING_KEY}/supacron-patch"),
            format!("/{PING_KEY}/supacron-rewards"),
            format!("/{PING_KEY}/supacron-patch/fail"),
        ]
    );

    // Cronitor's telemetry: ?state=complete|fail.
    let cronitor = MockServer::start().await;
    for state in ["complete", "fail"] {
        Mock::given(method("GET"))
            .and(path(format!("/p/{PING_KEY}/supacron-patch")))
            .and(query_param("state", state))
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&cronitor)
            .await;
    }
    let template = format!(
        "{}/p/{PING_KEY}/supacron-{{job}}?state={{status}}",
        cronitor.uri()
    );
    let ok = config(&env, &[("SUPACRON_HEARTBEAT_URL", template.as_str())]);
    handle(Job::Patch, scheduled(Job::Patch), &ok).await;
    let down = supacron::config::Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some("http://127.0.0.1:9".into()),
        "SUPABASE_SERVICE_ROLE_KEY" => Some(env.service_key.clone()),
        "SUPABASE_TIMEOUT_SECS" => Some("2".into()),
        "SUPACRON_HEARTBEAT_URL" => Some(template.clone()),
        _ => None,
    });
    handle(Job::Patch, scheduled(Job::Patch), &down).await;
    cronitor.verify().await;
}

#[tokio::test]
async fn a_scheduled_call_refused_for_missing_configuration_pings_failure_but_a_stranger_does_not()
{
    let hc = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hc)
        .await;
    let template = format!("{}/{PING_KEY}/supacron-{{job}}/{{status}}", hc.uri());
    // CRON_SECRET and the heartbeat set, SUPABASE_URL forgotten.
    let unconfigured = supacron::config::Config::from_lookup(|name| match name {
        "CRON_SECRET" => Some(SECRET.into()),
        "SUPACRON_HEARTBEAT_URL" => Some(template.clone()),
        _ => None,
    });
    let stranger = handle(
        Job::Patch,
        request(
            Method::GET,
            "/api/cron/patch",
            Some("not-the-secret-at-all"),
            true,
        ),
        &unconfigured,
    )
    .await;
    assert_eq!(stranger.status.as_u16(), 401);
    assert!(received(&hc).await.is_empty(), "a refused stranger pinged");
    let answer = handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &unconfigured,
    )
    .await;
    assert_eq!(answer.status.as_u16(), 500, "{}", answer.body);
    assert!(answer.body.contains("SUPABASE_URL"), "{}", answer.body);
    let paths: Vec<String> = received(&hc)
        .await
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(paths, vec![format!("/{PING_KEY}/supacron-patch/fail")]);
}

#[tokio::test]
async fn a_red_job_is_posted_once_under_overlapping_runs_and_its_recovery_once() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/services/{HOOK_TOKEN}")))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&slack)
        .await;
    let hook = format!("{}/services/{HOOK_TOKEN}", slack.uri());
    let cfg = config(&env, &[("SUPACRON_ALERT_WEBHOOK_URL", hook.as_str())]);
    memory_turned_red(db).await;
    // Eight runs of the patch job at once: each sweeps, one posts.
    let runs = (0..8).map(|_| handle(Job::Patch, scheduled(Job::Patch), &cfg));
    let answers = futures_util::future::join_all(runs).await;
    assert!(answers.iter().all(|a| a.status.as_u16() == 200));
    let posted = texts(&slack).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(
        posted[0].contains("job `memory` is red: last run failed")
            && posted[0].contains("MiniMax answered 500"),
        "{}",
        posted[0]
    );
    // Still red: nothing more.
    handle(Job::Patch, scheduled(Job::Patch), &cfg).await;
    assert_eq!(texts(&slack).await.len(), 1);
    let open: i64 = db
        .query_one(
            "select count(*) from cron_incidents where job = 'memory' and closed_at is null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, 1);
    // Memory runs fine (recorded by its own run, in process): recovery, posted once.
    let recovered = futures_util::future::join_all(
        (0..4).map(|_| handle(Job::Memory, scheduled(Job::Memory), &cfg)),
    )
    .await;
    assert!(recovered.iter().all(|a| a.status.as_u16() == 200));
    let posted = texts(&slack).await;
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert!(
        posted[1].contains("job `memory` recovered"),
        "{}",
        posted[1]
    );
    // A missed tick, seen by a run of another job, is an incident too.
    db.batch_execute(
        "delete from cron_runs where job = 'outcomes';
         update cron_schedules set schedule = '* * * * *', tick_grace = '0 minutes' where job = 'outcomes';",
    )
    .await
    .unwrap();
    handle(Job::Patch, scheduled(Job::Patch), &cfg).await;
    let posted = texts(&slack).await;
    assert_eq!(posted.len(), 3, "{posted:?}");
    assert!(
        posted[2].contains("job `outcomes` is red: no scheduled run for the"),
        "{}",
        posted[2]
    );
}

#[tokio::test]
async fn an_alert_the_webhook_refused_is_posted_again_by_a_later_run_once() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let slack = MockServer::start().await;
    // The webhook is down for the first post, then accepts.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&slack)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .with_priority(2)
        .mount(&slack)
        .await;
    let hook = format!("{}/services/{HOOK_TOKEN}", slack.uri());
    let cfg = config(&env, &[("SUPACRON_ALERT_WEBHOOK_URL", hook.as_str())]);
    memory_turned_red(db).await;
    let posted_at = || async {
        db.query_one(
            "select alert_posted_at is not null from cron_incidents where job = 'memory'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, bool>(0)
    };
    // The first post is refused: the incident is open, its alert not posted.
    handle(Job::Patch, scheduled(Job::Patch), &cfg).await;
    assert_eq!(texts(&slack).await.len(), 1);
    assert!(!posted_at().await);
    // A run while that post's claim lasts does not post it (overlapping runs post once).
    handle(Job::Patch, scheduled(Job::Patch), &cfg).await;
    assert_eq!(texts(&slack).await.len(), 1);
    // 30 s later (the claim expired): the next run posts it again, and it is accepted.
    db.batch_execute("update cron_incidents set post_claimed_until = now() - interval '1 second'")
        .await
        .unwrap();
    handle(Job::Rewards, scheduled(Job::Rewards), &cfg).await;
    let posted = texts(&slack).await;
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert_eq!(posted[0], posted[1]);
    assert!(
        posted[1].contains("job `memory` is red: last run failed"),
        "{}",
        posted[1]
    );
    assert!(posted_at().await);
    // Posted: never again.
    db.batch_execute("update cron_incidents set post_claimed_until = null")
        .await
        .unwrap();
    handle(Job::Patch, scheduled(Job::Patch), &cfg).await;
    assert_eq!(texts(&slack).await.len(), 2);
}

#[tokio::test]
async fn a_hanging_endpoint_delays_the_answer_by_at_most_the_timeout_and_no_secret_is_logged() {
    let env = TestEnv::start().await;
    let hang = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&hang)
        .await;
    let heartbeat = format!("{}/{PING_KEY}/supacron-{{job}}/{{status}}", hang.uri());
    // Nothing listens there: the post fails at once, and its error is logged.
    let hook = format!("http://127.0.0.1:9/services/{HOOK_TOKEN}");
    // memory's last run failed, so the sweep has an alert to post.
    factory::cron_run(
        &env.db.client,
        NewCronRun {
            job: "memory".into(),
            trigger: "vercel_cron".into(),
            status: "error".into(),
            error: Some("boom".into()),
            ..Default::default()
        },
    )
    .await;
    let url = env.rest_url();
    let vars = [
        ("CRON_SECRET", SECRET),
        ("SUPABASE_URL", url.as_str()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
        ("SUPACRON_HEARTBEAT_URL", heartbeat.as_str()),
        ("SUPACRON_ALERT_WEBHOOK_URL", hook.as_str()),
    ];
    let binary = FUNCTIONS
        .iter()
        .find(|(p, _)| *p == "/api/cron/patch")
        .unwrap()
        .1;
    let function = FunctionProcess::start(binary, "/api/cron/patch", &vars);
    let started = Instant::now();
    let answer = send(
        reqwest::Client::new()
            .get(&function.url)
            .header("user-agent", "vercel-cron/1.0")
            .header("authorization", format!("Bearer {SECRET}")),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], "ok");
    assert!(
        took < supacron::notify::NOTIFY_TIMEOUT + Duration::from_secs(3),
        "the answer took {took:?}"
    );
    assert!(
        !received(&hang).await.is_empty(),
        "the endpoints were called"
    );
    let log = function.finish();
    assert!(log.contains("did not answer within 3 s"), "{log}");
    assert!(log.contains("alert webhook post failed"), "{log}");
    for secret in [PING_KEY, HOOK_TOKEN, "slack-token", SECRET] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}
