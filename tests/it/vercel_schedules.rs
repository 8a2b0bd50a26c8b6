//! Vercel Schedules beside `crons` (issue #17), against the real function binaries over a real
//! database: path targets are recognised like a cron (GET or POST), function targets (a
//! CloudEvent POST with `ce-*` headers and no secret) run only for a function declared
//! private, every run records what the clock said, and a second delivery of one execution
//! id never runs the job again — also when the deliveries arrive together. Then the
//! missing-tick check and `supacron scheduler` for a schedule in `Europe/Berlin` across both
//! daylight-saving changes of 2026, on a manual clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use reqwest::Client;
use supacron::Job;
use supacron::cli::scheduler::{InProcessRunner, ManualClock, Runner, Scheduler, Tick};
use supacron::cli::shutdown;
use supacron::cli::vercel_json::{self, Source};
use testkit::TestEnv;

use crate::support::function_process::{FUNCTIONS, FunctionProcess, send};

const SECRET: &str = "schedules-secret-0123456789";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn binary(path: &str) -> &'static str {
    FUNCTIONS.iter().find(|(p, _)| *p == path).unwrap().1
}

fn start_patch(env: &TestEnv, private: Option<&str>) -> FunctionProcess {
    let url = env.rest_url();
    let mut vars = vec![
        ("CRON_SECRET", SECRET),
        ("SUPABASE_URL", url.as_str()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
    ];
    if let Some(private) = private {
        vars.push(("SUPACRON_PRIVATE_FUNCTIONS", private));
    }
    FunctionProcess::start(binary("/api/cron/patch"), "/api/cron/patch", &vars)
}

/// A function-target dispatch as Vercel's schedule infrastructure sends it.
fn dispatch(client: &Client, url: &str, execution_id: &str) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("ce-specversion", "1.0")
        .header("ce-type", "com.vercel.schedule.v1beta")
        .header("ce-source", "/schedule/default/patch-queue")
        .header("ce-id", execution_id)
        .header("ce-vssscheduleid", "sch_patch")
        .header("ce-vssscheduledat", "2026-12-03T10:02:00.000Z")
        .header("ce-vssschedulename", "patch-queue")
        .header("ce-vssnamespace", "default")
        .header("ce-vssschedulesource", "static")
}

#[derive(Debug, PartialEq)]
struct Row {
    run_id: String,
    trigger: String,
    status: String,
    schedule_name: Option<String>,
    execution_id: Option<String>,
    scheduled_at: Option<DateTime<Utc>>,
}

async fn rows(env: &TestEnv) -> Vec<Row> {
    env.db
        .client
        .query(
            "select run_id::text, trigger, status, schedule_name, execution_id, scheduled_at
             from cron_runs where job = 'patch' order by id",
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| Row {
            run_id: r.get(0),
            trigger: r.get(1),
            status: r.get(2),
            schedule_name: r.get(3),
            execution_id: r.get(4),
            scheduled_at: r.get(5),
        })
        .collect()
}

#[tokio::test]
async fn path_targets_are_recognised_like_a_cron_with_get_and_post() {
    let env = TestEnv::start().await;
    let function = start_patch(&env, None);
    let client = Client::new();
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let answer = send(
            client
                .request(method.clone(), &function.url)
                .header("user-agent", "vercel-cron/1.0")
                .header("x-vercel-cron-schedule", "*/2 * * * *")
                .header("authorization", format!("Bearer {SECRET}")),
        )
        .await;
        assert_eq!(answer.status, 200, "{method}: {}", answer.text);
        assert_eq!(answer.body["status"], "ok", "{}", answer.text);
    }
    // The same request without the secret is refused like any other.
    let refused = send(
        client
            .post(&function.url)
            .header("user-agent", "vercel-cron/1.0")
            .header("x-vercel-cron-schedule", "*/2 * * * *"),
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.text, r#"{"error":"unauthorized"}"#);
    let rows = rows(&env).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.trigger == "vercel_cron"), "{rows:?}");
}

#[tokio::test]
async fn a_public_function_refuses_a_dispatch_without_credentials() {
    let env = TestEnv::start().await;
    let client = Client::new();
    // Not declared at all, and declared for another job only.
    for private in [None, Some("memory")] {
        let function = start_patch(&env, private);
        let answer = send(dispatch(&client, &function.url, "schx_public")).await;
        assert_eq!(answer.status, 401, "{private:?}: {}", answer.text);
        assert_eq!(answer.text, r#"{"error":"unauthorized"}"#);
        let log = function.finish();
        assert!(log.contains("401"), "{log}");
    }
    assert!(rows(&env).await.is_empty(), "a refusal is not a run");
}

#[tokio::test]
async fn a_private_function_runs_a_dispatch_once_and_answers_repeats_as_duplicates() {
    let env = TestEnv::start().await;
    let function = start_patch(&env, Some("patch,schedule"));
    let client = Client::new();
    let first = send(dispatch(&client, &function.url, "schx_A1")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["status"], "ok", "{}", first.text);
    let first_id = first.body["run_id"].as_str().unwrap().to_string();
    let again = send(dispatch(&client, &function.url, "schx_A1")).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["status"], "duplicate", "{}", again.text);
    assert_eq!(again.body["run_id"], first_id.as_str(), "{}", again.text);
    assert_eq!(again.body["first_status"], "ok", "{}", again.text);
    assert_eq!(again.body["execution_id"], "schx_A1");
    // Not a dispatch (a GET, or a body): the credential check applies.
    let get = send(
        client
            .get(&function.url)
            .header("ce-specversion", "1.0")
            .header("ce-type", "com.vercel.schedule.v1beta")
            .header("ce-id", "schx_A2"),
    )
    .await;
    assert_eq!(get.status, 401, "{}", get.text);
    let with_body = send(dispatch(&client, &function.url, "schx_A3").body("{}")).await;
    assert_eq!(with_body.status, 401, "{}", with_body.text);

    let rows = rows(&env).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].run_id, first_id);
    assert_eq!(rows[0].status, "ok");
    assert_eq!(rows[1].status, "duplicate");
    for row in &rows {
        assert_eq!(row.trigger, "vercel_schedule");
        assert_eq!(row.schedule_name.as_deref(), Some("patch-queue"));
        assert_eq!(row.execution_id.as_deref(), Some("schx_A1"));
        assert_eq!(row.scheduled_at, Some(at("2026-12-03T10:02:00Z")));
    }
}

#[tokio::test]
async fn deliveries_of_one_execution_arriving_together_run_it_once() {
    let env = TestEnv::start().await;
    // Pending work, so the first delivery is a real run (begin, job, finish), not idle.
    testkit::factory::patch_job(&env.db.client, testkit::factory::NewPatchJob::default()).await;
    let function = start_patch(&env, Some("patch"));
    let client = Client::new();
    let answers = futures_util::future::join_all(
        (0..6).map(|_| send(dispatch(&client, &function.url, "schx_race"))),
    )
    .await;
    let statuses: Vec<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 200, "{}", a.text);
            a.body["status"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| *s != "duplicate").count(),
        1,
        "{statuses:?}"
    );
    let ids: std::collections::BTreeSet<_> = answers
        .iter()
        .map(|a| a.body["run_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every answer names the one run: {ids:?}");
    let rows = rows(&env).await;
    assert_eq!(rows.len(), 6);
    assert_eq!(rows.iter().filter(|r| r.status != "duplicate").count(), 1);
    let done: i64 = env
        .db
        .client
        .query_one("select count(*) from patch_jobs where status = 'done'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(done, 1, "the one run applied the patch");
}

async fn summary(env: &TestEnv, now: &str) -> (Option<DateTime<Utc>>, bool, String) {
    let row = env
        .db
        .client
        .query_one(
            "select last_expected_tick, last_tick_missing, s.timezone
             from cron_run_summary_at($1::text::timestamptz) r
             join cron_schedules s using (job) where job = 'outcomes'",
            &[&now],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// The missing-tick check on `0 9 * * *` in Europe/Berlin: 08:00 UTC in winter, 07:00 UTC
/// in summer; a run at the local tick (also one recorded by a function target) is on time.
#[tokio::test]
async fn the_missing_tick_check_follows_a_berlin_schedule_across_daylight_saving() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    db.batch_execute(
        "update cron_schedules set schedule = '0 9 * * *', timezone = 'Europe/Berlin',
                tick_grace = '5 minutes', created_at = '2026-01-01Z' where job = 'outcomes';",
    )
    .await
    .unwrap();
    // Saturday 28 March (CET): the tick is 08:00 UTC; nothing ran.
    let (tick, missing, zone) = summary(&env, "2026-03-28T08:30:00Z").await;
    assert_eq!(
        (tick, missing, zone.as_str()),
        (Some(at("2026-03-28T08:00:00Z")), true, "Europe/Berlin")
    );
    // Monday 30 March (CEST): the tick is 07:00 UTC; at 07:03 it is still within the grace.
    assert_eq!(
        summary(&env, "2026-03-30T07:03:00Z").await.0,
        Some(at("2026-03-29T07:00:00Z"))
    );
    db.execute(
        "insert into cron_runs (run_id, job, trigger, status, started_at, finished_at, execution_id, scheduled_at)
         values (gen_random_uuid(), 'outcomes', 'vercel_schedule', 'ok', '2026-03-30T07:00:20Z',
                 '2026-03-30T07:00:21Z', 'schx_b', '2026-03-30T07:00:00Z')",
        &[],
    )
    .await
    .unwrap();
    let (tick, missing, _) = summary(&env, "2026-03-30T07:30:00Z").await;
    assert_eq!((tick, missing), (Some(at("2026-03-30T07:00:00Z")), false));
    // Back to CET on 25 October: Monday 26 October's tick is 08:00 UTC, and missing.
    let (tick, missing, _) = summary(&env, "2026-10-26T08:10:00Z").await;
    assert_eq!((tick, missing), (Some(at("2026-10-26T08:00:00Z")), true));
}

/// `supacron scheduler` reads a `schedules` array with a `timezone` and fires at the local time.
#[tokio::test]
async fn the_scheduler_fires_a_berlin_schedule_at_nine_local_across_daylight_saving() {
    let text = r#"{
      "crons": [{"path": "/api/cron/patch", "schedule": "0 0 1 1 *"}],
      "schedules": [{"name": "outcomes-berlin", "schedule": "0 9 * * *",
                     "timezone": "Europe/Berlin", "path": "/api/training/outcomes",
                     "requestMethod": "GET"}]
    }"#;
    let entries = vercel_json::parse(text, &Source::BuiltIn).unwrap();
    struct Recording(Arc<Mutex<Vec<Tick>>>);
    impl Runner for Recording {
        async fn run(&self, tick: Tick) {
            self.0.lock().unwrap().push(tick);
        }
    }
    let ticks = Arc::new(Mutex::new(Vec::new()));
    let clock = ManualClock::new(at("2026-03-27T12:00:00Z"));
    let (stop, shutdown) = shutdown::channel();
    let scheduler = Scheduler::new(
        entries,
        Arc::new(clock.clone()),
        Arc::new(Recording(ticks.clone())),
    );
    let task = tokio::spawn(scheduler.run(shutdown));
    clock.wait_until_asleep().await;
    for to in [
        "2026-03-28T08:00:00Z",
        "2026-03-29T07:00:00Z",
        "2026-03-30T07:00:00Z",
        "2026-10-24T07:00:00Z",
        "2026-10-25T08:00:00Z",
    ] {
        clock.advance_to(at(to)).await;
    }
    stop.stop();
    task.await.unwrap();
    let fired: Vec<(Job, DateTime<Utc>)> = ticks
        .lock()
        .unwrap()
        .iter()
        .map(|t| (t.job, t.slot))
        .collect();
    // Each slot is the local 09:00; the jump from March to October fires once, late.
    assert_eq!(
        fired,
        vec![
            (Job::Outcomes, at("2026-03-28T08:00:00Z")),
            (Job::Outcomes, at("2026-03-29T07:00:00Z")),
            (Job::Outcomes, at("2026-03-30T07:00:00Z")),
            (Job::Outcomes, at("2026-03-31T07:00:00Z")),
            (Job::Outcomes, at("2026-10-25T08:00:00Z")),
        ]
    );
}

/// `supacron scheduler --vercel-json FILE` runs the jobs in-process at the file's times; the
/// runs record the file's schedule (expression, time zone, name), not the copy built into
/// the binary, so the missing-tick check and the status page follow the clock that runs.
#[tokio::test]
async fn the_in_process_scheduler_records_the_schedule_of_its_own_file() {
    let env = TestEnv::start().await;
    let text = r#"{"schedules": [{"name": "outcomes-berlin", "schedule": "0 9 * * *",
                     "timezone": "Europe/Berlin", "path": "/api/training/outcomes"}]}"#;
    let entry = vercel_json::parse(text, &Source::BuiltIn)
        .unwrap()
        .remove(0);
    let slot = at("2026-12-03T08:00:00Z");
    let runner = InProcessRunner::new(Arc::new(crate::support::front_door::config(&env, &[])));
    runner
        .run(Tick {
            job: Job::Outcomes,
            slot,
            next_slot: None,
            schedule: entry.clock,
        })
        .await;
    let db = &env.db.client;
    let schedule = db
        .query_one(
            "select schedule, timezone, schedule_name from cron_schedules where job = 'outcomes'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            schedule.get::<_, String>(0),
            schedule.get::<_, String>(1),
            schedule.get::<_, Option<String>>(2)
        ),
        (
            "0 9 * * *".to_string(),
            "Europe/Berlin".to_string(),
            Some("outcomes-berlin".to_string())
        )
    );
    let run = db
        .query_one(
            "select trigger, status, schedule_name, scheduled_at from cron_runs where job = 'outcomes'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            run.get::<_, String>(0),
            run.get::<_, String>(1),
            run.get::<_, Option<String>>(2),
            run.get::<_, Option<DateTime<Utc>>>(3)
        ),
        (
            "scheduler".to_string(),
            "ok".to_string(),
            Some("outcomes-berlin".to_string()),
            Some(slot)
        )
    );
    // A manual run (curl, `supacron run`, the console) leaves the clock's schedule alone.
    let manual = supacron::function::FunctionRequest::in_process(
        Job::Outcomes,
        false,
        supacron::invocation::Trigger::Manual,
    );
    let config = crate::support::front_door::config(&env, &[]);
    assert_eq!(
        supacron::function::handle(Job::Outcomes, manual, &config)
            .await
            .status
            .as_u16(),
        200
    );
    let after: String = db
        .query_one(
            "select schedule || ' ' || timezone from cron_schedules where job = 'outcomes'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, "0 9 * * * Europe/Berlin");
    // The status report shows its ticks in the zone the runs recorded (the built-in copy
    // says UTC for outcomes); a job whose runs recorded nothing new keeps UTC.
    let report = supacron::status::Report::fetch(&crate::support::patch::supabase(&env), false, 5)
        .await
        .unwrap();
    let zone = |job: &str| {
        report
            .cron_run_summary
            .iter()
            .find(|s| s.job == job)
            .and_then(|s| s.timezone.clone())
    };
    assert_eq!(zone("outcomes").as_deref(), Some("Europe/Berlin"));
    assert_eq!(zone("patch").as_deref(), Some("UTC"));
}
