//! The run history (`cron_runs`): exactly one row per invocation that gets past the
//! method, credential and configuration checks, with the right trigger, status, counts
//! and error — also when Supabase fails midway, when the run is skipped, when a run was
//! killed, and when recording itself fails (the answer never changes). Old rows are pruned.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use http::Method;
use serde_json::{Value, json};
use supacron::Job;
use supacron::config::Config;
use supacron::function::record::{Begun, Recorder};
use supacron::function::{FunctionResponse, handle};
use supacron::invocation::{RunContext, RunStatus, RunSummary, Trigger};
use supacron::jobs;
use testkit::TestEnv;
use testkit::factory::{self, NewConversation, NewCronRun, NewJobLock, NewPatchJob, NewSchedule};
use uuid::Uuid;

use crate::support::front_door::{SECRET, config, request};
use crate::support::function_process::{FUNCTIONS, FunctionProcess, send};
use crate::support::patch::supabase;

/// A run the clock said nothing about.
const NO_FACTS: supacron::function::request::ClockFacts = supacron::function::request::ClockFacts {
    schedule_name: None,
    execution_id: None,
    scheduled_at: None,
    schedule: None,
};

fn body(response: &FunctionResponse) -> Value {
    serde_json::from_str(&response.body).unwrap()
}

fn run_id(response: &FunctionResponse) -> Uuid {
    response.headers["x-supacron-run-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `cron_runs` rows as `run_id -> row` (JSON).
async fn runs(env: &TestEnv) -> HashMap<Uuid, Value> {
    env.db
        .client
        .query("select run_id, to_jsonb(r) from cron_runs r", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test]
async fn every_function_records_exactly_one_run_per_accepted_invocation_and_none_per_refusal() {
    let env = TestEnv::start().await;
    let config = config(&env, &[]);
    let mut expected: Vec<(Uuid, Job, &str, bool, FunctionResponse)> = Vec::new();
    for job in Job::ALL {
        let path = job.path();
        let cases = [
            (
                Method::GET,
                path.to_string(),
                true,
                None,
                "vercel_cron",
                false,
            ),
            (Method::POST, path.to_string(), false, None, "manual", false),
            (
                Method::GET,
                path.to_string(),
                false,
                Some(Trigger::Scheduler),
                "scheduler",
                false,
            ),
            (
                Method::GET,
                format!("{path}?dry_run=1"),
                false,
                None,
                "manual",
                true,
            ),
            // An external scheduler over HTTP (Hobby) says so.
            (
                Method::GET,
                format!("{path}?scheduled=1"),
                false,
                None,
                "scheduler",
                false,
            ),
            (
                Method::GET,
                format!("{path}?scheduled=1"),
                true,
                None,
                "vercel_cron",
                false,
            ),
        ];
        for (method, uri, cron, trigger, name, dry_run) in cases {
            let mut request = request(method, &uri, Some(SECRET), cron);
            request.trigger = trigger;
            let response = handle(job, request, &config).await;
            expected.push((run_id(&response), job, name, dry_run, response));
        }
        // Refusals are not runs: wrong secret, wrong method, no CRON_SECRET configured.
        let refused = [
            handle(
                job,
                request(Method::GET, path, Some("wrong-secret-1234567"), true),
                &config,
            )
            .await,
            handle(
                job,
                request(Method::PUT, path, Some(SECRET), false),
                &config,
            )
            .await,
            handle(
                job,
                request(Method::GET, path, Some(SECRET), true),
                &Config::from_lookup(|_| None),
            )
            .await,
        ];
        assert_eq!(
            refused
                .iter()
                .map(|r| r.status.as_u16())
                .collect::<Vec<_>>(),
            vec![401, 405, 500]
        );
    }
    let rows = runs(&env).await;
    assert_eq!(
        rows.len(),
        expected.len(),
        "one row per accepted invocation: {rows:#?}"
    );
    for (run_id, job, trigger, dry_run, response) in expected {
        let row = &rows[&run_id];
        let answer = body(&response);
        let status = if response.status.is_success() {
            answer["status"].as_str().unwrap().to_string()
        } else {
            "error".to_string()
        };
        assert_eq!(
            (
                row["job"].as_str(),
                row["trigger"].as_str(),
                row["status"].as_str(),
                row["dry_run"].as_bool()
            ),
            (
                Some(job.name()),
                Some(trigger),
                Some(status.as_str()),
                Some(dry_run)
            ),
            "{job} {trigger}: {row} / {answer}"
        );
        assert!(
            row["finished_at"].is_string() && row["duration_ms"].as_i64().unwrap() >= 0,
            "{row}"
        );
        if response.status.is_success() {
            for (key, value) in row["counts"].as_object().unwrap() {
                assert_eq!(&answer[key], value, "{job}: count {key}");
            }
            assert!(row["error"].is_null(), "{row}");
        } else {
            let error = row["error"].as_str().unwrap();
            assert!(
                error.starts_with(answer["error"].as_str().unwrap()),
                "{error}"
            );
            assert!(!error.contains(SECRET) && !error.contains(&env.service_key));
        }
    }
}

#[tokio::test]
async fn a_function_binary_records_vercel_cron_runs_with_the_deployment_id() {
    let env = TestEnv::start().await;
    factory::patch_job(&env.db.client, NewPatchJob::default()).await;
    let url = env.rest_url();
    let vars = [
        ("CRON_SECRET", SECRET),
        ("SUPABASE_URL", url.as_str()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
        ("VERCEL_DEPLOYMENT_ID", "dpl_4711abc"),
    ];
    let (path, binary) = FUNCTIONS[0];
    let function = FunctionProcess::start(binary, path, &vars);
    let answer = send(
        reqwest::Client::new()
            .get(&function.url)
            .header("Authorization", format!("Bearer {SECRET}"))
            .header("user-agent", "vercel-cron/1.0"),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let run_id: Uuid = answer.body["run_id"].as_str().unwrap().parse().unwrap();
    let rows = runs(&env).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[&run_id];
    assert_eq!(
        (
            &row["job"],
            &row["trigger"],
            &row["status"],
            &row["deployment_id"]
        ),
        (
            &json!("patch"),
            &json!("vercel_cron"),
            &json!("ok"),
            &json!("dpl_4711abc")
        )
    );
    assert_eq!(row["counts"]["ok_count"], 1);
    function.finish();
}

/// Two patch jobs of one conversation, then one whose patch is marked `poison` (claimed in
/// a second batch of 2, where a trigger makes the database fail).
async fn two_jobs_then_a_poisoned_one(db: &tokio_postgres::Client) {
    let first = factory::conversation(db, NewConversation::default()).await;
    for _ in 0..2 {
        factory::patch_job(
            db,
            NewPatchJob {
                conversation_id: Some(first),
                ..Default::default()
            },
        )
        .await;
    }
    factory::patch_job(
        db,
        NewPatchJob {
            patch: json!({"poison": true}),
            ..Default::default()
        },
    )
    .await;
}

#[tokio::test]
async fn a_run_that_supabase_fails_midway_is_recorded_as_error_with_its_counts_so_far() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    two_jobs_then_a_poisoned_one(db).await;
    // The second batch's claim fails inside the database, as an outage mid-run would.
    db.batch_execute(
        "create function fail_poisoned_claims() returns trigger language plpgsql as $$
         begin
             if new.status = 'processing' and new.patch ? 'poison' then
                 raise exception 'simulated outage in the middle of a run';
             end if;
             return new;
         end $$;
         create trigger fail_poisoned_claims before update on patch_jobs
             for each row execute function fail_poisoned_claims();",
    )
    .await
    .unwrap();
    let config = config(&env, &[("PATCH_BATCH_SIZE", "2")]);
    let response = handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &config,
    )
    .await;
    let answer = body(&response);
    assert_eq!(response.status.as_u16(), 502, "{answer}");
    assert_eq!(answer["error"], "supabase_error");
    assert_eq!(
        (&answer["counts"]["ok_count"], &answer["counts"]["batches"]),
        (&json!(2), &json!(1)),
        "the answer says how far the run got: {answer}"
    );
    let rows = runs(&env).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[&run_id(&response)];
    assert_eq!(
        (&row["status"], &row["trigger"]),
        (&json!("error"), &json!("vercel_cron"))
    );
    assert_eq!(row["counts"]["ok_count"], 2, "{row}");
    assert_eq!(row["counts"]["processed"], 2, "{row}");
    let error = row["error"].as_str().unwrap();
    assert!(
        error.starts_with("supabase_error: ") && error.contains("simulated outage"),
        "{error}"
    );
}

/// Issue #22: the 503 after partial work said "nothing was changed" although hundreds of
/// jobs had been committed. It now says what the run had committed before Supabase went away.
#[tokio::test]
async fn a_503_after_committed_work_says_what_was_committed() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    two_jobs_then_a_poisoned_one(db).await;
    // The second batch's claim meets an unavailable database (SQLSTATE class 53: 503).
    db.batch_execute(
        "create function unavailable_on_poison() returns trigger language plpgsql as $$
         begin
             if new.status = 'processing' and new.patch ? 'poison' then
                 raise exception 'too many connections' using errcode = '53300';
             end if;
             return new;
         end $$;
         create trigger unavailable_on_poison before update on patch_jobs
             for each row execute function unavailable_on_poison();",
    )
    .await
    .unwrap();
    let config = config(&env, &[("PATCH_BATCH_SIZE", "2")]);
    let response = handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &config,
    )
    .await;
    let answer = body(&response);
    assert_eq!(response.status.as_u16(), 503, "{answer}");
    let message = answer["message"].as_str().unwrap();
    assert!(!message.contains("nothing was changed"), "{message}");
    assert!(
        message.contains("Committed by this run before it (kept): ok_count=2"),
        "{message}"
    );
    assert_eq!(answer["counts"]["ok_count"], 2);
    let rows = runs(&env).await;
    let error = rows[&run_id(&response)]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("ok_count=2"),
        "the run history says the same: {error}"
    );
}

#[tokio::test]
async fn an_overlapping_run_kept_out_by_the_job_lease_is_recorded_as_skipped() {
    let env = TestEnv::start().await;
    let config = config(&env, &[]);
    // Work for the memory job (which answers without the lease when nothing is due): a
    // conversation at the default threshold of new messages.
    let conversation = factory::conversation(&env.db.client, NewConversation::default()).await;
    factory::messages(&env.db.client, conversation, 10).await;
    // And for the schedule job (which does too): a schedule whose next time is not computed.
    factory::schedule(&env.db.client, NewSchedule::default()).await;
    for job in [Job::Memory, Job::Schedule] {
        // Another run holds the job's lease for the next five minutes.
        let lock = NewJobLock {
            job: job.name().into(),
            lease_owner: Some(format!("{job}:{}", Uuid::new_v4())),
            lease_until: Some(Utc::now() + chrono::Duration::minutes(5)),
            acquired_at: Some(Utc::now()),
        };
        factory::job_lock(&env.db.client, lock).await;
        let response = handle(
            job,
            request(Method::GET, job.path(), Some(SECRET), true),
            &config,
        )
        .await;
        let answer = body(&response);
        assert_eq!(
            (response.status.as_u16(), &answer["status"]),
            (200, &json!("skipped")),
            "{answer}"
        );
        let rows = runs(&env).await;
        let row = &rows[&run_id(&response)];
        assert_eq!(
            (&row["job"], &row["status"], &row["trigger"]),
            (&json!(job.name()), &json!("skipped"), &json!("vercel_cron"))
        );
        assert!(
            row["counts"]["skipped_reason"]
                .as_str()
                .unwrap()
                .contains("holds this job's lease"),
            "{row}"
        );
    }
    assert_eq!(runs(&env).await.len(), 2);
}

#[tokio::test]
async fn the_recorder_writes_a_running_row_then_the_outcome() {
    let env = TestEnv::start().await;
    let config = config(&env, &[]);
    let db = supabase(&env);
    let ctx = RunContext::new(
        Uuid::new_v4(),
        Job::Memory,
        Trigger::VercelCron,
        false,
        Duration::from_secs(5),
    );
    let recorder = Recorder::new(&db, &ctx, &config, &NO_FACTS);
    assert_eq!(recorder.begin(None).await.unwrap(), Begun::Running);
    assert_eq!(runs(&env).await[&ctx.run_id]["status"], "running");
    let summary = RunSummary::new(
        RunStatus::Skipped,
        &json!({"reason": "another run holds the lease"}),
    );
    recorder.finish(&Ok(summary)).await.unwrap();
    let rows = runs(&env).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[&ctx.run_id];
    assert_eq!(
        (&row["status"], &row["job"]),
        (&json!("skipped"), &json!("memory"))
    );
    assert_eq!(row["counts"]["reason"], "another run holds the lease");
}

#[tokio::test]
async fn a_run_killed_at_max_duration_is_marked_error_by_the_next_start() {
    let env = TestEnv::start().await;
    let killed = Uuid::new_v4();
    let recent = Uuid::new_v4();
    let db = &env.db.client;
    // Two runs that never finished: one 10 minutes ago (past patch's 60 s), one just now.
    db.execute(
        "insert into cron_runs (run_id, job, trigger, started_at) values ($1, 'patch', 'vercel_cron', now() - interval '10 minutes')",
        &[&killed],
    )
    .await
    .unwrap();
    db.execute(
        "insert into cron_runs (run_id, job, trigger) values ($1, 'patch', 'vercel_cron')",
        &[&recent],
    )
    .await
    .unwrap();
    let summary: Value = db
        .query_one(
            "select to_jsonb(s) from cron_run_summary s where job = 'patch'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        (&summary["last_status"], &summary["running"]),
        (&json!("running"), &json!(true))
    );
    let response = handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &config(&env, &[]),
    )
    .await;
    assert_eq!(response.status.as_u16(), 200);
    let rows = runs(&env).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[&killed]["status"], "error");
    assert!(
        rows[&killed]["error"]
            .as_str()
            .unwrap()
            .contains("end was never recorded"),
        "{}",
        rows[&killed]
    );
    assert_eq!(
        rows[&recent]["status"], "running",
        "a run within maxDuration is left alone"
    );
    assert_eq!(rows[&run_id(&response)]["status"], "ok");
}

/// `cron_run_summary_at(now() + after)` for patch: (last_status, running, last_error).
async fn patch_verdict_after(env: &TestEnv, after: &str) -> (String, bool, String) {
    let row = env
        .db
        .client
        .query_one(
            &format!(
                "select last_status, running, coalesce(last_error, '') \
                 from cron_run_summary_at(now() + interval '{after}') where job = 'patch'"
            ),
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

/// `supacron serve` and `run` take any `SUPACRON_TIME_BUDGET_SECS`: a patch run given 600 s
/// is still working long after patch's maxDuration (60 s) + 60 s. Neither the next run's
/// housekeeping nor the status summary (whose verdict the alert webhook posts) may call it
/// killed until its own budget + 60 s has passed; a run with the deployed budget still is
/// after maxDuration + 60 s.
#[tokio::test]
async fn a_run_with_a_budget_longer_than_max_duration_is_not_called_killed_while_it_works() {
    let env = TestEnv::start().await;
    let config = config(&env, &[]);
    let db = supabase(&env);
    let ctx = RunContext::new(
        Uuid::new_v4(),
        Job::Patch,
        Trigger::Scheduler,
        false,
        Duration::from_secs(600),
    );
    let recorder = Recorder::new(&db, &ctx, &config, &NO_FACTS);
    assert_eq!(recorder.begin(None).await.unwrap(), Begun::Running);
    let deadline: f64 = env
        .db
        .client
        .query_one(
            "select extract(epoch from deadline_at - started_at)::float8 from cron_runs where run_id = $1",
            &[&ctx.run_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(deadline, 600.0, "the deadline is the run's own budget");

    // Ten minutes on: past maxDuration + 60 s, within the budget.
    let (status, running, _) = patch_verdict_after(&env, "10 minutes").await;
    assert_eq!((status.as_str(), running), ("running", true));
    let posts: Value = env
        .db
        .client
        .query_one(
            "select cron_alert_sweep(now() + interval '10 minutes')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // (Ten minutes on, the ticks nobody ran are missing: that alert is right.)
    let failed: Vec<&Value> = posts
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["reason"].as_str().unwrap().starts_with("last run failed"))
        .collect();
    assert!(
        failed.is_empty(),
        "no alert for a run that is working: {failed:?}"
    );
    env.db
        .client
        .execute(
            "select cron_run_housekeeping('patch', null, null, null, now() + interval '10 minutes')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(runs(&env).await[&ctx.run_id]["status"], "running");

    // Eleven minutes and a bit: its budget + 60 s has passed.
    let (status, running, error) = patch_verdict_after(&env, "661 seconds").await;
    assert_eq!((status.as_str(), running), ("error", false));
    assert!(
        error.contains("its time budget (600 s) has passed"),
        "{error}"
    );
    env.db
        .client
        .execute(
            "select cron_run_housekeeping('patch', null, null, null, now() + interval '661 seconds')",
            &[],
        )
        .await
        .unwrap();
    let row = &runs(&env).await[&ctx.run_id];
    assert_eq!(row["status"], "error");
    assert!(
        row["error"]
            .as_str()
            .unwrap()
            .contains("never recorded within its time budget (600 s) + 60 s"),
        "{row}"
    );

    // A run with the deployed budget (54 s of 60 s) is judged by maxDuration, as before.
    let short = RunContext::new(
        Uuid::new_v4(),
        Job::Patch,
        Trigger::VercelCron,
        false,
        Duration::from_secs(54),
    );
    let recorder = Recorder::new(&db, &short, &config, &NO_FACTS);
    assert_eq!(recorder.begin(None).await.unwrap(), Begun::Running);
    let (status, running, _) = patch_verdict_after(&env, "119 seconds").await;
    assert_eq!((status.as_str(), running), ("running", true));
    let (status, _, error) = patch_verdict_after(&env, "121 seconds").await;
    assert_eq!(status, "error");
    assert!(error.contains("maxDuration (60 s) has passed"), "{error}");
}

#[tokio::test]
async fn a_failure_to_record_never_changes_the_answer() {
    let env = TestEnv::start().await;
    factory::patch_job(&env.db.client, NewPatchJob::default()).await;
    env.db
        .client
        .batch_execute(
            "revoke execute on function begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text, integer) from service_role;
             revoke execute on function finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer, text, integer, text, text, timestamptz, text) from service_role;",
        )
        .await
        .unwrap();
    let response = handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &config(&env, &[]),
    )
    .await;
    let answer = body(&response);
    assert_eq!(
        (
            response.status.as_u16(),
            &answer["status"],
            &answer["ok_count"]
        ),
        (200, &json!("ok"), &json!(1))
    );
    assert!(runs(&env).await.is_empty());
}

#[tokio::test]
async fn runs_older_than_the_retention_are_pruned() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let days_ago = |days: i64| NewCronRun {
        started_at: Some(Utc::now() - chrono::Duration::days(days)),
        ..Default::default()
    };
    let old = factory::cron_run(db, days_ago(31)).await;
    let recent = factory::cron_run(db, days_ago(8)).await;
    let other_job = factory::cron_run(
        db,
        NewCronRun {
            job: "rewards".into(),
            ..days_ago(40)
        },
    )
    .await;
    let ids = || async {
        let rows = db
            .query("select id from cron_runs order by id", &[])
            .await
            .unwrap();
        rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>()
    };
    handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &config(&env, &[]),
    )
    .await;
    let after = ids().await;
    assert!(
        !after.contains(&old) && after.contains(&recent) && after.contains(&other_job),
        "the default keeps 30 days of the job's own runs: {after:?}"
    );
    handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &config(&env, &[("SUPACRON_RUN_RETENTION_DAYS", "7")]),
    )
    .await;
    assert!(
        !ids().await.contains(&recent),
        "SUPACRON_RUN_RETENTION_DAYS=7"
    );
    let pruned: i32 = db
        .query_one("select prune_cron_runs()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(pruned, 1, "operators prune every job's history");
    assert_eq!(ids().await.len(), 2);
}

#[tokio::test]
async fn an_idle_run_is_one_request_and_a_busy_one_is_visible_from_its_start() {
    let env = TestEnv::start().await;
    let before = env.server.request_count();
    let idle = handle(
        Job::Patch,
        request(Method::GET, "/api/cron/patch", Some(SECRET), true),
        &config(&env, &[]),
    )
    .await;
    assert_eq!(
        env.server.request_count() - before,
        1,
        "an empty queue: begin_cron_run finds nothing due and records the run"
    );
    let row = &runs(&env).await[&run_id(&idle)];
    assert_eq!(
        (&row["status"], &row["trigger"]),
        (&json!("ok"), &json!("vercel_cron"))
    );
    assert_eq!(row["counts"]["processed"], 0);
    assert_eq!(row["counts"]["remaining"], 0);

    // Every request now takes 400 ms, so a run with one job (begin, claim, states, commit,
    // claim, finish) is still going when it is cut short; the database says when its row
    // appears.
    factory::patch_job(&env.db.client, NewPatchJob::default()).await;
    env.server.set_latency(Duration::from_millis(400));
    let (listener, mut connection) = tokio_postgres::connect(&env.db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut started_tx = Some(started_tx);
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let (Ok(tokio_postgres::AsyncMessage::Notification(_)), Some(tx)) =
                (message, started_tx.take())
            {
                let _ = tx.send(());
            }
        }
    });
    env.db
        .client
        .batch_execute(
            "create function test_notify_run() returns trigger language plpgsql as $$
             begin perform pg_notify('run_started', new.run_id::text); return new; end $$;
             create trigger test_notify_run after insert on cron_runs for each row
               when (new.status = 'running') execute function test_notify_run();",
        )
        .await
        .unwrap();
    listener.batch_execute("listen run_started").await.unwrap();
    let config = config(&env, &[]);
    let slow = tokio::spawn(async move {
        handle(
            Job::Patch,
            request(Method::GET, "/api/cron/patch", Some(SECRET), true),
            &config,
        )
        .await
    });
    started_rx
        .await
        .expect("the slow run wrote its running row");
    slow.abort(); // the run dies mid-flight, as when Vercel kills it at maxDuration
    let _ = slow.await;
    let rows = runs(&env).await;
    let running: Vec<&Value> = rows.values().filter(|r| r["status"] == "running").collect();
    assert_eq!(running.len(), 1, "the dead run left its trace: {rows:?}");
}

/// Every job's idle answer (given to begin_cron_run) is exactly what its own run answers
/// when nothing is pending, and through the function it costs one request.
#[tokio::test]
async fn every_jobs_idle_answer_is_what_its_run_answers_with_nothing_pending() {
    let env = TestEnv::start().await;
    let config = config(&env, &[]);
    for job in Job::ALL {
        let job_config = config.for_job(job).unwrap();
        let ctx = RunContext::new(
            Uuid::new_v4(),
            job,
            Trigger::Manual,
            false,
            Duration::from_secs(10),
        );
        let ran = jobs::run(&ctx, &job_config).await.unwrap();
        let idle = (jobs::entry(job).idle)(&job_config).summary;
        assert_eq!(
            (idle.status, &idle.counts),
            (ran.status, &ran.counts),
            "{job}"
        );

        let before = env.server.request_count();
        let response = handle(
            job,
            request(Method::GET, job.path(), Some(SECRET), false),
            &config,
        )
        .await;
        assert_eq!(env.server.request_count() - before, 1, "{job}: one request");
        let mut answer = body(&response);
        let row = &runs(&env).await[&run_id(&response)];
        assert_eq!(
            (&row["status"], &answer["status"]),
            (&json!("ok"), &json!("ok")),
            "{job}"
        );
        assert_eq!(row["counts"], Value::Object(idle.counts.clone()), "{job}");
        for field in ["job", "run_id", "status", "dry_run", "duration_ms"] {
            answer.as_object_mut().unwrap().remove(field);
        }
        assert_eq!(answer, Value::Object(idle.counts), "{job}");
    }
}

/// The idle check counts exactly what each job calls pending: one item of work makes the
/// run a busy one (recorded `running` until the job ends), never an idle one.
#[tokio::test]
async fn one_pending_item_of_any_job_makes_its_run_busy() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    factory::patch_job(db, NewPatchJob::default()).await;
    let conversation = factory::conversation(db, NewConversation::default()).await;
    factory::messages(db, conversation, 10).await;
    factory::schedule(db, NewSchedule::default()).await;
    let done = factory::item(
        db,
        factory::NewItem {
            status: "DONE".into(),
            ..Default::default()
        },
    )
    .await;
    factory::decision(
        db,
        factory::NewDecision {
            item_id: Some(done),
            ..Default::default()
        },
    )
    .await;
    let rewarded = factory::decision(db, factory::NewDecision::default()).await;
    factory::outcome(
        db,
        factory::NewOutcome {
            decision_id: Some(rewarded),
            ..Default::default()
        },
    )
    .await;
    let config = config(&env, &[]);
    let supabase = supabase(&env);
    for job in Job::ALL {
        let ctx = RunContext::new(
            Uuid::new_v4(),
            job,
            Trigger::Manual,
            false,
            Duration::from_secs(10),
        );
        let idle = (jobs::entry(job).idle)(&config.for_job(job).unwrap());
        let recorder = Recorder::new(&supabase, &ctx, &config, &NO_FACTS);
        assert_eq!(
            recorder.begin(Some(&idle)).await.unwrap(),
            Begun::Running,
            "{job} has one item pending"
        );
        assert_eq!(runs(&env).await[&ctx.run_id]["status"], "running", "{job}");
    }
}
