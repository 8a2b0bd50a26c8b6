//! The patch pipeline, one run at a time: exactly-once effects and order, round trips,
//! permanent errors, retries and max attempts, the time budget, dry runs, enqueueing
//! and requeueing. Real PostgreSQL through the PostgREST-compatible dev server.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use supacron::invocation::RunStatus;
use supacron::jobs::patch::store;
use testkit::TestEnv;
use testkit::factory::{self, NewCharacter, NewConversation, NewPatchJob};

use crate::support::patch::{
    assert_bulk_applied_exactly_once, bulk_jobs, jobs_with_status, run, settings, status_counts,
    supabase,
};

const BUDGET: Duration = Duration::from_secs(120);

#[tokio::test]
async fn a_thousand_mixed_jobs_over_shared_characters_apply_exactly_once_in_order() {
    let env = TestEnv::start().await;
    bulk_jobs(&env, 20, 100, 1000).await;
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.status, RunStatus::Ok, "{:?}", summary.counts);
    assert_eq!(summary.counts["processed"], 1000);
    assert_eq!(summary.counts["ok_count"], 1000);
    assert_eq!(summary.counts["remaining"], 0);
    assert_bulk_applied_exactly_once(&env, 20, 100, 1000).await;
    let attempts: i64 = env
        .db
        .client
        .query_one("select max(attempts)::bigint from patch_jobs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 1, "no job needed a second attempt");
}

#[tokio::test]
async fn a_run_costs_round_trips_per_batch_not_per_job() {
    let env = TestEnv::start().await;
    bulk_jobs(&env, 50, 200, 1000).await;
    let before = env.server.request_count();
    let summary = run(&env, &settings(), BUDGET).await;
    let requests = env.server.request_count() - before;
    assert_eq!(summary.counts["ok_count"], 1000);
    // 10 batches of 100 jobs: claim + commit each, and one empty claim (which also says how
    // many jobs are still due: no count request).
    assert!(
        requests <= 24,
        "1,000 jobs over 200 conversations took {requests} requests"
    );
    assert_bulk_applied_exactly_once(&env, 50, 200, 1000).await;
}

/// Found by the benchmark (issue #8): an empty queue took two requests (an empty claim, then
/// a count for `remaining`), half of a function's cold start. The empty claim now says how
/// many jobs are still due, counting those it could not take.
#[tokio::test]
async fn an_empty_claim_answers_remaining_in_one_request_counting_blocked_jobs() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let before = env.server.request_count();
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(
        env.server.request_count() - before,
        1,
        "an empty queue: one request"
    );
    assert_eq!(summary.counts["remaining"], 0);

    // Due but not claimable: behind a failed job still waiting for its run_after, and behind
    // a job under another run's live lease.
    let waiting = factory::patch_job(
        db,
        NewPatchJob {
            status: "failed".into(),
            attempts: 1,
            run_after: Some(Utc::now() + chrono::Duration::hours(1)),
            ..Default::default()
        },
    )
    .await;
    let conversation = |id: i64| async move {
        db.query_one(
            "select conversation_id from patch_jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get::<_, uuid::Uuid>(0)
    };
    let behind_failed = NewPatchJob {
        conversation_id: Some(conversation(waiting).await),
        ..Default::default()
    };
    factory::patch_job(db, behind_failed).await;
    let leased = factory::patch_job(
        db,
        NewPatchJob {
            status: "processing".into(),
            attempts: 1,
            lease_owner: Some("another-run".into()),
            ..Default::default()
        },
    )
    .await;
    let behind_lease = NewPatchJob {
        conversation_id: Some(conversation(leased).await),
        ..Default::default()
    };
    factory::patch_job(db, behind_lease).await;

    let before = env.server.request_count();
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(env.server.request_count() - before, 1);
    assert_eq!(summary.counts["processed"], 0);
    assert_eq!(summary.counts["remaining"], 2, "{:?}", summary.counts);
    let counted = store::count(&supabase(&env), None).await.unwrap();
    assert_eq!(counted.due, 2, "the claim and count_patch_jobs agree");
}

#[tokio::test]
async fn each_permanent_error_kills_only_its_job() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let character = factory::character(
        db,
        NewCharacter {
            state: Some(json!({"mood": "calm"})),
            ..Default::default()
        },
    )
    .await;
    let orphan = factory::character(db, NewCharacter::default()).await;
    db.execute(
        "delete from character_states where character_id = $1",
        &[&orphan],
    )
    .await
    .unwrap();
    let conversation = factory::conversation(
        db,
        NewConversation {
            character_id: Some(character),
            state: Some(json!({"log": []})),
            ..Default::default()
        },
    )
    .await;
    let add = |n: i64| json!({"conversation": [{"op": "add", "path": "/log/-", "value": n}]});
    let cases: Vec<(Value, Option<uuid::Uuid>, Option<&str>)> = vec![
        (add(1), None, None),
        (
            json!({"conversation": 42}),
            None,
            Some("`conversation` must be an object"),
        ),
        (
            json!({"conversation": [{"op": "test", "path": "/log", "value": "x"}]}),
            None,
            Some("did not match"),
        ),
        (
            json!({"conversation": [{"op": "remove", "path": "/nope"}]}),
            None,
            Some("/nope"),
        ),
        (
            json!({"conversation": [{"op": "replace", "path": "", "value": 7}]}),
            None,
            Some("must stay a JSON object"),
        ),
        (
            json!({"conversation": {"a": 1}, "extra": {}}),
            None,
            Some("unknown key `extra`"),
        ),
        (
            json!({"character": {"mood": "x"}}),
            Some(orphan),
            Some("unknown character"),
        ),
        (add(2), None, None),
    ];
    let mut ids = Vec::new();
    for (patch, character_id, _) in &cases {
        let job = NewPatchJob {
            conversation_id: Some(conversation),
            character_id: *character_id,
            patch: patch.clone(),
            ..Default::default()
        };
        ids.push(factory::patch_job(db, job).await);
    }
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(
        (
            summary.counts["ok_count"].clone(),
            summary.counts["dead_count"].clone()
        ),
        (json!(2), json!(6))
    );
    for (id, (_, _, expected)) in ids.iter().zip(&cases) {
        let row = db
            .query_one(
                "select status, error_kind, last_error from patch_jobs where id = $1",
                &[id],
            )
            .await
            .unwrap();
        let (status, kind, error): (String, Option<String>, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        match expected {
            None => assert_eq!(status, "done", "job {id}"),
            Some(text) => {
                assert_eq!(
                    (status.as_str(), kind.as_deref()),
                    ("dead", Some("permanent")),
                    "job {id}"
                );
                assert!(
                    error.as_deref().unwrap_or("").contains(text),
                    "job {id}: {error:?}"
                );
            }
        }
    }
    let state: Value = db
        .query_one(
            "select state from conversation_states where conversation_id = $1",
            &[&conversation],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, json!({"log": [1, 2]}));
}

#[tokio::test]
async fn a_failed_job_waits_for_run_after_and_max_attempts_makes_it_dead() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let later = Utc::now() + chrono::Duration::hours(1);
    let waiting = factory::patch_job(
        db,
        NewPatchJob {
            status: "failed".into(),
            attempts: 3,
            run_after: Some(later),
            ..Default::default()
        },
    )
    .await;
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.counts["processed"], 0, "not due before run_after");
    let mut moved = settings();
    moved.now = Some(Utc::now() + chrono::Duration::hours(2));
    let summary = run(&env, &moved, BUDGET).await;
    assert_eq!(summary.counts["ok_count"], 1);
    let status: String = db
        .query_one("select status from patch_jobs where id = $1", &[&waiting])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "done");

    // A job on its last attempt that meets a conflict is dead, with the conflict as its error.
    let last = factory::patch_job(
        db,
        NewPatchJob {
            attempts: 24,
            max_attempts: 25,
            ..Default::default()
        },
    )
    .await;
    let client = supabase(&env);
    let claimed = store::claim(&client, "test-run", 60, 10, None)
        .await
        .unwrap();
    assert_eq!(
        claimed
            .jobs
            .iter()
            .map(|j| (j.id, j.attempts))
            .collect::<Vec<_>>(),
        vec![(last, 25)]
    );
    db.execute("update conversation_states set version = version + 1", &[])
        .await
        .unwrap();
    let unit = supacron::jobs::patch::plan::group_units(&claimed.jobs).remove(0);
    let plan = supacron::jobs::patch::plan::plan_unit(&unit, &claimed.states);
    let commit = store::UnitAction::Commit {
        jobs: vec![last],
        states: plan.writes,
        done: plan.done,
        dead: vec![],
    };
    let results = store::commit(&client, "test-run", &[commit], None)
        .await
        .unwrap();
    assert_eq!(results[0].result, "conflict");
    let fail = store::UnitAction::Fail {
        jobs: vec![last],
        error: "version conflict".into(),
        run_after: Utc::now(),
    };
    let results = store::commit(&client, "test-run", &[fail], None)
        .await
        .unwrap();
    assert_eq!(results[0].dead, vec![last]);
    let row = db
        .query_one(
            "select status, error_kind, attempts from patch_jobs where id = $1",
            &[&last],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, Option<String>>(1),
            row.get::<_, i32>(2)
        ),
        ("dead".into(), Some("conflict".into()), 26)
    );
}

#[tokio::test]
async fn a_tiny_budget_stops_early_and_strands_nothing() {
    // 20 ms per request: a batch costs at least 40 ms, so one second cannot drain 1,000
    // conversations at 10 jobs per batch.
    let env = TestEnv::start_with(|c| c.latency = Duration::from_millis(20)).await;
    bulk_jobs(&env, 10, 1000, 1000).await;
    let mut small = settings();
    small.batch_size = 10;
    let summary = run(&env, &small, Duration::from_secs(1)).await;
    let remaining = summary.counts["remaining"].as_i64().unwrap();
    let ok = summary.counts["ok_count"].as_i64().unwrap();
    assert_eq!(summary.status, RunStatus::Partial);
    assert!(
        ok > 0 && remaining > 0 && ok + remaining == 1000,
        "ok {ok}, remaining {remaining}"
    );
    let processing = jobs_with_status(&env.db.client, "processing").await;
    assert_eq!(processing, 0, "{:?}", status_counts(&env).await);
}

#[tokio::test]
async fn dry_runs_change_nothing_enqueue_is_idempotent_and_requeue_revives() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let client = supabase(&env);
    let conversation = factory::conversation(db, NewConversation::default()).await;
    let args = json!({"p_conversation_id": conversation, "p_patch": {"conversation": {"a": 1}}, "p_idempotency_key": "turn-42"});
    let first: Value = client.rpc("enqueue_patch_job", &args).await.unwrap();
    let again: Value = client.rpc("enqueue_patch_job", &args).await.unwrap();
    assert_eq!(
        first["id"], again["id"],
        "a retried enqueue returns the same job"
    );
    let dead = factory::patch_job(
        db,
        NewPatchJob {
            conversation_id: Some(conversation),
            status: "dead".into(),
            ..Default::default()
        },
    )
    .await;

    let ctx = supacron::invocation::RunContext::new(
        uuid::Uuid::new_v4(),
        supacron::Job::Patch,
        supacron::invocation::Trigger::Manual,
        true,
        BUDGET,
    );
    let before = status_counts(&env).await;
    let summary = supacron::jobs::patch::run(&ctx, &client, &settings())
        .await
        .unwrap();
    assert_eq!(summary.counts["processed"], 0);
    assert_eq!(summary.counts["queue"]["due"], 1);
    assert_eq!(summary.counts["queue"]["dead"], 1);
    assert_eq!(
        status_counts(&env).await,
        before,
        "a dry run changes nothing"
    );

    assert_eq!(
        store::requeue(&client, &[dead, first["id"].as_i64().unwrap()])
            .await
            .unwrap(),
        1,
        "only failed/dead jobs"
    );
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.counts["ok_count"], 2);
    let state: Value = db
        .query_one(
            "select state from conversation_states where conversation_id = $1",
            &[&conversation],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state, json!({"a": 1, "touched_by": "testkit"}));
}
