//! Issue #22, the patch job: a row that the schema allows can only ever stop itself. A patch
//! nested past the JSON decoder's limit, a state nested too deep, and a job whose claims are
//! never committed each end as that job's permanent error while the jobs beside them apply.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use supacron::jobs::patch::store;
use testkit::TestEnv;
use testkit::factory::{self, NewPatchJob};

use crate::support::patch::{run, settings, supabase};

const BUDGET: Duration = Duration::from_secs(120);

/// `{"conversation": {"a": {"a": … 1 …}}}` with `levels` objects under `conversation`.
fn deep_merge_patch(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    json!({ "conversation": value })
}

fn append(n: i64) -> Value {
    json!({ "conversation": { "last": n } })
}

async fn job_row(env: &TestEnv, id: i64) -> (String, Option<String>, i32) {
    let row = env
        .db
        .client
        .query_one(
            "select status, last_error, attempts from patch_jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn a_130_level_patch_beside_20_good_jobs_is_dead_and_the_20_are_done() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let mut good = Vec::new();
    for n in 0..10 {
        good.push(
            factory::patch_job(
                db,
                NewPatchJob {
                    patch: append(n),
                    ..Default::default()
                },
            )
            .await,
        );
    }
    let deep = factory::patch_job(
        db,
        NewPatchJob {
            patch: deep_merge_patch(130),
            ..Default::default()
        },
    )
    .await;
    // The deep job's conversation also has a good job after it: dead jobs hold nothing back.
    let conversation: uuid::Uuid = db
        .query_one(
            "select conversation_id from patch_jobs where id = $1",
            &[&deep],
        )
        .await
        .unwrap()
        .get(0);
    good.push(
        factory::patch_job(
            db,
            NewPatchJob {
                conversation_id: Some(conversation),
                patch: append(99),
                ..Default::default()
            },
        )
        .await,
    );
    for n in 10..19 {
        good.push(
            factory::patch_job(
                db,
                NewPatchJob {
                    patch: append(n),
                    ..Default::default()
                },
            )
            .await,
        );
    }

    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.counts["ok_count"], 20, "{:?}", summary.counts);
    assert_eq!(summary.counts["dead_count"], 1);
    assert_eq!(summary.counts["remaining"], 0);
    for id in &good {
        assert_eq!(job_row(&env, *id).await.0, "done", "job {id}");
    }
    let (status, error, _) = job_row(&env, deep).await;
    assert_eq!(status, "dead");
    let error = error.unwrap();
    assert!(error.contains("deeper than 100 levels"), "{error}");
    let state: Value = db
        .query_one(
            "select state from conversation_states where conversation_id = $1",
            &[&conversation],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state["last"], 99, "the job after the dead one applied");

    // A second run finds nothing: the deep job is final.
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.counts["processed"], 0);
}

#[tokio::test]
async fn a_patch_that_would_nest_the_state_too_deep_is_dead() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    // The state is 60 levels deep; each job adds a 50-level value at its bottom (RFC 6902).
    let path = "/a".repeat(59);
    let add = |levels: usize| {
        let mut value = json!(1);
        for _ in 0..levels {
            value = json!({ "b": value });
        }
        json!({ "conversation": [{ "op": "add", "path": format!("{path}/b"), "value": value }] })
    };
    let too_deep = factory::patch_job(
        db,
        NewPatchJob {
            patch: add(50),
            ..Default::default()
        },
    )
    .await;
    let conversation: uuid::Uuid = db
        .query_one(
            "select conversation_id from patch_jobs where id = $1",
            &[&too_deep],
        )
        .await
        .unwrap()
        .get(0);
    let fine = factory::patch_job(
        db,
        NewPatchJob {
            conversation_id: Some(conversation),
            patch: add(30),
            ..Default::default()
        },
    )
    .await;
    let mut state = json!(1);
    for _ in 0..60 {
        state = json!({ "a": state });
    }
    db.execute(
        "update conversation_states set state = $1 where conversation_id = $2",
        &[&state, &conversation],
    )
    .await
    .unwrap();
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.counts["ok_count"], 1, "{:?}", summary.counts);
    assert_eq!(job_row(&env, fine).await.0, "done");
    let (status, error, _) = job_row(&env, too_deep).await;
    assert_eq!(status, "dead");
    let error = error.unwrap();
    assert!(
        error.contains("would nest the state deeper than 100 levels"),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreadable_state_kills_only_the_jobs_on_it() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let poisoned = factory::patch_job(
        db,
        NewPatchJob {
            patch: append(1),
            ..Default::default()
        },
    )
    .await;
    let neighbour = factory::patch_job(
        db,
        NewPatchJob {
            patch: append(2),
            ..Default::default()
        },
    )
    .await;
    // Written behind the pipeline's back (an operator, a migration): a 140-level state.
    let mut deep = json!(1);
    for _ in 0..140 {
        deep = json!({ "a": deep });
    }
    db.execute(
        "update conversation_states set state = $1
         where conversation_id = (select conversation_id from patch_jobs where id = $2)",
        &[&deep, &poisoned],
    )
    .await
    .unwrap();
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.counts["ok_count"], 1, "{:?}", summary.counts);
    assert_eq!(job_row(&env, neighbour).await.0, "done");
    let (status, error, _) = job_row(&env, poisoned).await;
    assert_eq!(status, "dead");
    let error = error.unwrap();
    assert!(
        error.contains("conversation_states row") && error.contains("cannot be read"),
        "{error}"
    );
}

#[tokio::test]
async fn a_job_claimed_max_attempts_times_and_never_committed_is_dead_at_its_next_claim() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let client = supabase(&env);
    let stuck = factory::patch_job(
        db,
        NewPatchJob {
            max_attempts: 3,
            last_error: Some("earlier: Supabase timed out".into()),
            ..Default::default()
        },
    )
    .await;
    let neighbour = factory::patch_job(
        db,
        NewPatchJob {
            patch: append(7),
            ..Default::default()
        },
    )
    .await;
    // Three claims that never commit (a run killed each time): the lease expires, time moves.
    let mut now = Utc::now();
    for attempt in 1..=3 {
        let claimed = store::claim(&client, &format!("killed-{attempt}"), 60, 1, Some(now))
            .await
            .unwrap();
        assert_eq!(claimed.jobs[0].id, stuck);
        assert_eq!(claimed.jobs[0].attempts, attempt);
        now += chrono::Duration::minutes(2);
    }
    // The next claim, whoever makes it, gives up on it and leases the neighbour instead.
    let claimed = store::claim(&client, "next", 60, 10, Some(now))
        .await
        .unwrap();
    assert_eq!(claimed.exhausted, vec![stuck]);
    assert_eq!(
        claimed.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![neighbour]
    );
    let (status, error, attempts) = job_row(&env, stuck).await;
    assert_eq!((status.as_str(), attempts), ("dead", 3));
    let error = error.unwrap();
    assert!(
        error.contains("claimed 3 times without being finished (max_attempts 3)")
            && error.contains("Last error: earlier: Supabase timed out"),
        "{error}"
    );
    let kind: Option<String> = db
        .query_one("select error_kind from patch_jobs where id = $1", &[&stuck])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kind.as_deref(), Some("timeout"));
}

#[tokio::test]
async fn a_run_counts_the_jobs_its_claim_gave_up_on() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let stuck = factory::patch_job(
        db,
        NewPatchJob {
            status: "processing".into(),
            attempts: 25,
            lease_until: Some(Utc::now() - chrono::Duration::minutes(1)),
            ..Default::default()
        },
    )
    .await;
    let good = factory::patch_job(
        db,
        NewPatchJob {
            patch: append(3),
            ..Default::default()
        },
    )
    .await;
    let summary = run(&env, &settings(), BUDGET).await;
    assert_eq!(summary.counts["dead_count"], 1, "{:?}", summary.counts);
    assert_eq!(summary.counts["ok_count"], 1);
    assert_eq!(job_row(&env, stuck).await.0, "dead");
    assert_eq!(job_row(&env, good).await.0, "done");
}
