//! The training jobs (seed 002) against real PostgreSQL through the dev server: outcomes
//! once per terminal decision, rewards once and never overwritten, bad rows reported and
//! skipped, round trips per batch, and the function binaries with `x-internal-api-key`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use supacron::Job;
use supacron::invocation::{RunContext, RunStatus, RunSummary, Trigger};
use supacron::jobs::training::reward_fn::RewardWeights;
use supacron::jobs::training::{outcomes, rewards};
use testkit::TestEnv;
use testkit::factory::{self, NewDecision, NewItem};
use uuid::Uuid;

use crate::support::function_process::{FUNCTIONS, FunctionProcess, send};
use crate::support::patch::supabase;

fn ctx(job: Job, dry_run: bool) -> RunContext {
    RunContext::new(
        Uuid::new_v4(),
        job,
        Trigger::Manual,
        dry_run,
        Duration::from_secs(120),
    )
}

async fn run_outcomes(env: &TestEnv) -> RunSummary {
    outcomes::run(&ctx(Job::Outcomes, false), &supabase(env))
        .await
        .unwrap()
}

async fn run_rewards(env: &TestEnv, dry_run: bool) -> RunSummary {
    rewards::run(
        &ctx(Job::Rewards, dry_run),
        &supabase(env),
        &RewardWeights::default(),
    )
    .await
    .unwrap()
}

async fn decision_on(
    env: &TestEnv,
    status: &str,
    action: &str,
    decided: DateTime<Utc>,
    reached: DateTime<Utc>,
) -> Uuid {
    let item = factory::item(
        &env.db.client,
        NewItem {
            status: status.into(),
            status_changed_at: Some(reached),
            ..Default::default()
        },
    )
    .await;
    let new = NewDecision {
        item_id: Some(item),
        action: action.into(),
        confidence: Some(0.8),
        decided_at: Some(decided),
        ..Default::default()
    };
    factory::decision(&env.db.client, new).await
}

async fn count(env: &TestEnv, sql: &str) -> i64 {
    env.db.client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn terminal_items_get_exactly_one_outcome_even_with_overlapping_and_repeated_runs() {
    let env = TestEnv::start().await;
    let (decided, reached) = (
        Utc::now() - chrono::Duration::hours(30),
        Utc::now() - chrono::Duration::hours(6),
    );
    for status in ["INBOX", "ACTIVE", "WAITING", "DONE", "COLD_STORAGE"] {
        for _ in 0..3 {
            decision_on(&env, status, "do_now", decided, reached).await;
        }
    }
    let nonsense = decision_on(&env, "DONE", "do_now", reached, decided).await; // resolved before decided
    let (a, b) = tokio::join!(run_outcomes(&env), run_outcomes(&env));
    let c = run_outcomes(&env).await; // a duplicate delivery
    let recorded: Vec<i64> = [&a, &b, &c]
        .iter()
        .map(|s| s.counts["ok_count"].as_i64().unwrap())
        .collect();
    assert_eq!(recorded.iter().sum::<i64>(), 6, "{recorded:?}");
    assert_eq!(c.counts["remaining"], 0);
    assert_eq!(count(&env, "select count(*) from outcomes").await, 6);
    assert_eq!(
        count(&env, "select count(*) from outcomes o join items i on i.id = o.item_id where i.status not in ('DONE','COLD_STORAGE')").await,
        0
    );
    let hours: f64 = env
        .db
        .client
        .query_one("select min(resolution_seconds) / 3600 from outcomes", &[])
        .await
        .unwrap()
        .get(0);
    assert!((hours - 24.0).abs() < 0.01, "{hours}");
    let error: Option<String> = env
        .db
        .client
        .query_one(
            "select last_error from decisions where id = $1",
            &[&nonsense],
        )
        .await
        .unwrap()
        .get(0);
    assert!(error.unwrap().contains("before the decision was made"));
    assert_eq!(
        [&a, &b]
            .iter()
            .map(|s| s.counts["failed_count"].as_i64().unwrap())
            .sum::<i64>(),
        1
    );
}

#[tokio::test]
async fn rewards_are_computed_once_never_overwritten_and_dry_run_counts_them() {
    let env = TestEnv::start().await;
    let (decided, reached) = (
        Utc::now() - chrono::Duration::hours(48),
        Utc::now() - chrono::Duration::hours(24),
    );
    let mut ids = Vec::new();
    for (status, action) in [
        ("DONE", "do_now"),
        ("DONE", "schedule"),
        ("COLD_STORAGE", "archive"),
        ("COLD_STORAGE", "delegate"),
    ] {
        ids.push(decision_on(&env, status, action, decided, reached).await);
    }
    let unknown = decision_on(&env, "DONE", "teleport", decided, reached).await;
    run_outcomes(&env).await;

    let dry = run_rewards(&env, true).await;
    assert_eq!(dry.counts["remaining"], 5, "seed 002: the pending count");
    assert_eq!(
        count(
            &env,
            "select count(*) from decisions where reward is not null"
        )
        .await,
        0,
        "a dry run changes nothing"
    );

    // Meanwhile someone else rewards one decision: it must not be overwritten.
    let elsewhere = ids[1];
    let pending: Vec<rewards::PendingReward> = supabase(&env)
        .rpc("pending_rewards", &json!({"p_limit": 10}))
        .await
        .unwrap();
    env.db
        .client
        .execute(
            "update decisions set reward = 0.123 where id = $1",
            &[&elsewhere],
        )
        .await
        .unwrap();
    let rows: Vec<Value> = pending
        .iter()
        .map(|p| rewards::compute(p, &RewardWeights::default()))
        .collect();
    let written: Value = supabase(&env)
        .rpc("write_rewards", &json!({"p_rewards": rows}))
        .await
        .unwrap();
    assert_eq!(written, json!({"written": 3, "errors": 1, "skipped": 1}));
    let kept: f64 = env
        .db
        .client
        .query_one("select reward from decisions where id = $1", &[&elsewhere])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, 0.123);

    // A full run finds nothing left; the rewards and their details are as computed.
    let run = run_rewards(&env, false).await;
    assert_eq!(
        (
            run.counts["processed"].clone(),
            run.counts["remaining"].clone()
        ),
        (json!(0), json!(0))
    );
    assert_eq!(run.status, RunStatus::Ok);
    let row = env.db.client
        .query_one("select reward, reward_details, reward_version, reward_computed_at is not null from decisions where id = $1", &[&ids[0]])
        .await.unwrap();
    let (reward, details, version, stamped): (f64, Value, i32, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    // do_now, DONE after 24 h, confidence 0.8: 1 × (0.5 + 0.5 × 0.5) × (0.5 + 0.5 × 0.8) = 0.675
    assert!((reward - 0.675).abs() < 1e-3, "{reward} {details}");
    assert_eq!(
        (details["base"].clone(), version, stamped),
        (json!(1.0), 1, true)
    );
    let error: String = env
        .db
        .client
        .query_one(
            "select last_error from decisions where id = $1",
            &[&unknown],
        )
        .await
        .unwrap()
        .get(0);
    assert!(error.contains("unknown action `teleport`"), "{error}");
}

#[tokio::test]
async fn ten_thousand_decisions_take_a_few_round_trips_per_batch() {
    let env = TestEnv::start().await;
    env.db.client.batch_execute(
        "insert into items (title, status, status_changed_at) select 'bulk ' || g, 'DONE', now() - interval '1 hour' from generate_series(1, 10000) g;
         insert into decisions (item_id, action, confidence, decided_at)
           select id, (array['do_now','schedule','delegate','archive'])[1 + (random() * 3)::int], random(), now() - interval '3 hours' from items;",
    ).await.unwrap();
    let before = env.server.request_count();
    let outcomes = run_outcomes(&env).await;
    let after_outcomes = env.server.request_count();
    let dry = run_rewards(&env, true).await;
    let before_rewards = env.server.request_count();
    let rewards = run_rewards(&env, false).await;
    let after_rewards = env.server.request_count();
    assert_eq!(outcomes.counts["ok_count"], 10_000);
    assert_eq!(rewards.counts["ok_count"], 10_000);
    assert_eq!(
        dry.counts["remaining"], rewards.counts["ok_count"],
        "the dry-run count is what a run computes"
    );
    assert!(
        after_outcomes - before <= 12,
        "outcomes: {} requests",
        after_outcomes - before
    );
    assert!(
        after_rewards - before_rewards <= 22,
        "rewards: {} requests",
        after_rewards - before_rewards
    );
    assert_eq!(
        count(
            &env,
            "select count(*) from decisions where reward is null or reward < -1 or reward > 1"
        )
        .await,
        0
    );
}

/// Found by the benchmark (issue #8): an empty run took two requests (an empty batch, then a
/// count for `remaining`); the empty batch already proves nothing is pending.
#[tokio::test]
async fn an_empty_run_is_one_request_and_a_dry_run_still_counts() {
    let env = TestEnv::start().await;
    let before = env.server.request_count();
    let outcomes = run_outcomes(&env).await;
    assert_eq!(env.server.request_count() - before, 1, "outcomes");
    assert_eq!(outcomes.counts["remaining"], 0);
    let before = env.server.request_count();
    let rewards = run_rewards(&env, false).await;
    assert_eq!(env.server.request_count() - before, 1, "rewards");
    assert_eq!(rewards.counts["remaining"], 0);

    let now = Utc::now();
    decision_on(
        &env,
        "DONE",
        "do_now",
        now - chrono::Duration::hours(3),
        now,
    )
    .await;
    run_outcomes(&env).await;
    let before = env.server.request_count();
    let dry = run_rewards(&env, true).await;
    assert_eq!(env.server.request_count() - before, 1, "a dry run counts");
    assert_eq!(dry.counts["remaining"], 1);
}

#[tokio::test]
async fn the_training_functions_run_with_the_internal_api_key() {
    let env = TestEnv::start().await;
    let (decided, reached) = (
        Utc::now() - chrono::Duration::hours(5),
        Utc::now() - chrono::Duration::hours(1),
    );
    decision_on(&env, "DONE", "do_now", decided, reached).await;
    let url = env.rest_url();
    let vars = [
        ("CRON_SECRET", "training-secret-12345"),
        ("INTERNAL_API_KEY", "internal-key-12345"),
        ("SUPABASE_URL", url.as_str()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
    ];
    let client = reqwest::Client::new();
    let (path, binary) = FUNCTIONS[4];
    let outcomes = FunctionProcess::start(binary, path, &vars);
    let answer = send(
        client
            .post(&outcomes.url)
            .header("x-internal-api-key", "internal-key-12345"),
    )
    .await;
    assert_eq!(
        (
            answer.status,
            answer.body["job"].clone(),
            answer.body["ok_count"].clone()
        ),
        (200, json!("outcomes"), json!(1)),
        "{}",
        answer.text
    );
    let (path, binary) = FUNCTIONS[3];
    let rewards = FunctionProcess::start(binary, path, &vars);
    let dry = send(
        client
            .get(format!("{}?dry_run=1", rewards.url))
            .header("x-internal-api-key", "internal-key-12345"),
    )
    .await;
    assert_eq!(
        (
            dry.status,
            dry.body["remaining"].clone(),
            dry.body["dry_run"].clone()
        ),
        (200, json!(1), json!(true)),
        "{}",
        dry.text
    );
    let run = send(
        client
            .get(&rewards.url)
            .header("Authorization", "Bearer training-secret-12345"),
    )
    .await;
    assert_eq!(
        (
            run.status,
            run.body["ok_count"].clone(),
            run.body["remaining"].clone()
        ),
        (200, json!(1), json!(0)),
        "{}",
        run.text
    );
}
