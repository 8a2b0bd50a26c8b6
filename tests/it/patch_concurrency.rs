//! The patch pipeline under overlap and failure: 8 overlapping function processes, a
//! foreground writer, a run killed mid-batch, a stale run, and an unreachable Supabase.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use serde_json::{Value, json};
use supacron::jobs::patch::plan::{group_units, plan_unit};
use supacron::jobs::patch::store::{self, UnitAction};
use testkit::TestEnv;

use crate::support::function_process::{FUNCTIONS, FunctionProcess, free_port, send};
use crate::support::patch::{
    assert_bulk_applied_exactly_once, bulk_jobs, jobs_with_status, run, settings, status_counts,
    supabase,
};

const SECRET: &str = "concurrency-test-secret-1234";
const BUDGET: Duration = Duration::from_secs(120);

fn patch_function(env: &TestEnv, supabase_url: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let mut vars = vec![
        ("CRON_SECRET", SECRET),
        ("SUPABASE_URL", supabase_url),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
    ];
    vars.extend_from_slice(extra);
    FunctionProcess::start(FUNCTIONS[0].1, FUNCTIONS[0].0, &vars)
}

#[tokio::test]
async fn eight_overlapping_function_processes_apply_every_job_exactly_once() {
    let env = TestEnv::start().await;
    bulk_jobs(&env, 100, 500, 5000).await;
    let extra = [
        ("PATCH_CONFLICT_BACKOFF_MS", "5"),
        ("PATCH_BATCH_SIZE", "50"),
    ];
    let functions: Vec<FunctionProcess> = (0..8)
        .map(|_| patch_function(&env, &env.rest_url(), &extra))
        .collect();
    let client = reqwest::Client::new();
    let answers = join_all(functions.iter().map(|f| {
        send(
            client
                .get(&f.url)
                .header("Authorization", format!("Bearer {SECRET}")),
        )
    }))
    .await;
    let mut processed = 0;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
        processed += answer.body["processed"].as_i64().unwrap();
    }
    assert!(
        processed >= 5000,
        "every job was claimed at least once: {processed}"
    );
    let processing = jobs_with_status(&env.db.client, "processing").await;
    assert_eq!(
        processing,
        0,
        "no job left processing: {:?}",
        status_counts(&env).await
    );
    // Jobs that exhausted their conflict retries wait for run_after; a later run finishes them.
    let mut later = settings();
    later.now = Some(Utc::now() + chrono::Duration::hours(2));
    run(&env, &later, BUDGET).await;
    assert_bulk_applied_exactly_once(&env, 100, 500, 5000).await;
}

#[tokio::test]
async fn a_foreground_writer_loses_nothing_and_a_conversation_that_always_conflicts_fails_then_completes()
 {
    // 40 ms per answer keeps a wide window between reading a state and writing it back.
    let env = TestEnv::start_with(|c| c.latency = Duration::from_millis(40)).await;
    bulk_jobs(&env, 8, 8, 80).await; // no shared characters: only the hot conversation conflicts
    let hot: uuid::Uuid = env
        .db
        .client
        .query_one("select id from conversations where title = 'bulk 0'", &[])
        .await
        .unwrap()
        .get(0);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicI64::new(0));
    let (writer, connection) = tokio_postgres::connect(&env.db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let writer_task = {
        let (stop, writes) = (stop.clone(), writes.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = writes.fetch_add(1, Ordering::Relaxed) + 1;
                writer
                    .execute(
                        "update conversation_states set state = jsonb_set(state, '{fg}', to_jsonb($1::bigint)),
                         version = version + 1 where conversation_id = $2",
                        &[&n, &hot],
                    )
                    .await
                    .unwrap();
            }
        })
    };
    let summary = run(&env, &settings(), BUDGET).await;
    stop.store(true, Ordering::Relaxed);
    writer_task.await.unwrap();
    let db = &env.db.client;
    let row = db.query_one("select status, error_kind, attempts, last_error from patch_jobs where conversation_id = $1 order by id limit 1", &[&hot])
        .await.unwrap();
    assert_eq!(row.get::<_, String>(0), "failed", "{:?}", summary.counts);
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("conflict"));
    assert_eq!(
        row.get::<_, i32>(2),
        7,
        "one claim, then a conflict on the first commit and on each of five retries"
    );
    assert!(summary.counts["conflicts"].as_i64().unwrap() >= 6);
    let others: i64 = db
        .query_one(
            "select count(*) from patch_jobs where conversation_id <> $1 and status <> 'done'",
            &[&hot],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(others, 0, "the other conversations were not held up");

    let mut later = settings();
    later.now = Some(Utc::now() + chrono::Duration::hours(2));
    run(&env, &later, BUDGET).await;
    let state: Value = db
        .query_one(
            "select state from conversation_states where conversation_id = $1",
            &[&hot],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        state["fg"],
        json!(writes.load(Ordering::Relaxed)),
        "the writer's last write survived"
    );
    db.execute(
        "update conversation_states set state = state - 'fg' where conversation_id = $1",
        &[&hot],
    )
    .await
    .unwrap();
    assert_bulk_applied_exactly_once(&env, 8, 8, 80).await;
}

#[tokio::test]
async fn a_run_killed_mid_batch_is_completed_by_a_later_run_exactly_once() {
    let env = TestEnv::start_with(|c| c.latency = Duration::from_millis(300)).await;
    bulk_jobs(&env, 5, 30, 300).await;
    // Told by the database the moment the killed run's claim commits.
    let (listener, mut connection) = tokio_postgres::connect(&env.db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (claimed_tx, claimed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut claimed_tx = Some(claimed_tx);
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let (Ok(tokio_postgres::AsyncMessage::Notification(_)), Some(tx)) =
                (message, claimed_tx.take())
            {
                let _ = tx.send(());
            }
        }
    });
    env.db
        .client
        .batch_execute(
            "create function test_notify_claim() returns trigger language plpgsql as $$
         begin perform pg_notify('patch_claimed', new.id::text); return new; end $$;
         create trigger test_notify_claim after update on patch_jobs for each row
           when (new.status = 'processing') execute function test_notify_claim();",
        )
        .await
        .unwrap();
    listener
        .batch_execute("listen patch_claimed")
        .await
        .unwrap();

    let function = patch_function(&env, &env.rest_url(), &[("PATCH_BATCH_SIZE", "50")]);
    let request = reqwest::Client::new()
        .get(&function.url)
        .header("Authorization", format!("Bearer {SECRET}"))
        .send();
    let in_flight = tokio::spawn(request);
    claimed_rx.await.expect("the run claimed a batch");
    let log = function.finish(); // SIGKILL, while the claim's answer is still on its way
    assert!(
        in_flight.await.unwrap().is_err(),
        "the killed run never answered; its log: {log}"
    );
    let processing = jobs_with_status(&env.db.client, "processing").await;
    assert!(processing > 0, "the killed run left leased jobs");

    // Its lease runs out (time moved on), and a later run finishes everything.
    let mut later = settings();
    later.now = Some(Utc::now() + chrono::Duration::minutes(10));
    let summary = run(&env, &later, BUDGET).await;
    assert_eq!(summary.counts["ok_count"], 300);
    assert_bulk_applied_exactly_once(&env, 5, 30, 300).await;
}

#[tokio::test]
async fn a_stale_run_whose_lease_was_taken_over_commits_nothing() {
    let env = TestEnv::start().await;
    bulk_jobs(&env, 1, 1, 3).await;
    let client = supabase(&env);
    let stale = store::claim(&client, "stale-run", 60, 10, None)
        .await
        .unwrap();
    assert_eq!(stale.jobs.len(), 3);
    let later = Some(Utc::now() + chrono::Duration::minutes(5));
    let fresh = store::claim(&client, "fresh-run", 60, 10, later)
        .await
        .unwrap();
    assert_eq!(fresh.jobs.len(), 3, "the expired lease was taken over");

    let commit_all = |claimed: &store::Claimed| {
        let unit = group_units(&claimed.jobs).remove(0);
        let plan = plan_unit(&unit, &claimed.states);
        UnitAction::Commit {
            jobs: plan.done.clone(),
            states: plan.writes,
            done: plan.done,
            dead: vec![],
        }
    };
    let results = store::commit(&client, "stale-run", &[commit_all(&stale)], None)
        .await
        .unwrap();
    assert_eq!(results[0].result, "lease_lost");
    assert_eq!(
        status_counts(&env).await,
        vec![("processing".to_string(), 3)],
        "the stale run wrote nothing"
    );
    let results = store::commit(&client, "fresh-run", &[commit_all(&fresh)], later)
        .await
        .unwrap();
    assert_eq!(results[0].result, "committed");
    assert_bulk_applied_exactly_once(&env, 1, 1, 3).await;
}

#[tokio::test]
async fn an_unreachable_supabase_is_a_503_and_leaves_every_job_as_it_was() {
    let env = TestEnv::start().await;
    bulk_jobs(&env, 2, 4, 20).await;
    let closed = format!("http://127.0.0.1:{}/rest/v1", free_port());
    let function = patch_function(&env, &closed, &[("SUPABASE_TIMEOUT_SECS", "2")]);
    let answer = send(
        reqwest::Client::new()
            .get(&function.url)
            .header("Authorization", format!("Bearer {SECRET}")),
    )
    .await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.body["error"], "supabase_unavailable");
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("This run committed nothing before it")
    );
    assert_eq!(status_counts(&env).await, vec![("pending".to_string(), 20)]);
    let touched: i64 = env
        .db
        .client
        .query_one("select count(*) from patch_jobs where attempts > 0", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(touched, 0);
}
