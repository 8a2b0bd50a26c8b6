//! Issue #22, the training, schedule and memory jobs: legal values that cannot be worked with
//! (`infinity`, `-infinity`, `NaN`, megabytes of text) stop only their own row; the rows
//! beside them go on and the run completes. Also the schedule job's caps: ticks fired per
//! schedule per run, round-robin between schedules, prompt and persona sizes per call.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use supacron::Job;
use supacron::invocation::{RunContext, RunStatus, RunSummary, Trigger};
use supacron::jobs::schedule::{self, ScheduleSettings};
use supacron::jobs::training::reward_fn::RewardWeights;
use supacron::jobs::training::{outcomes, rewards};
use supacron::llm::Llm;
use testkit::TestEnv;
use testkit::factory::{self, NewCharacter, NewDecision, NewItem, NewSchedule};
use uuid::Uuid;
use wiremock::MockServer;

use crate::support::llm::{self, answer, respond};
use crate::support::patch::supabase;

fn ctx(job: Job) -> RunContext {
    RunContext::new(
        Uuid::new_v4(),
        job,
        Trigger::Manual,
        false,
        Duration::from_secs(120),
    )
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

async fn decision(env: &TestEnv, action: &str) -> Uuid {
    let item = factory::item(
        &env.db.client,
        NewItem {
            status: "DONE".into(),
            status_changed_at: Some(Utc::now() - chrono::Duration::hours(1)),
            ..Default::default()
        },
    )
    .await;
    factory::decision(
        &env.db.client,
        NewDecision {
            item_id: Some(item),
            action: action.into(),
            confidence: Some(0.8),
            decided_at: Some(Utc::now() - chrono::Duration::hours(5)),
            ..Default::default()
        },
    )
    .await
}

async fn last_error(env: &TestEnv, decision: Uuid) -> Option<String> {
    env.db
        .client
        .query_one(
            "select last_error from decisions where id = $1",
            &[&decision],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn infinite_times_refuse_their_outcome_and_nan_refuses_its_reward_the_others_go_on() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let mut normal = Vec::new();
    for _ in 0..3 {
        normal.push(decision(&env, "do_now").await);
    }
    let reached_never = decision(&env, "do_now").await;
    let decided_never = decision(&env, "do_now").await;
    db.execute(
        "update items set status_changed_at = 'infinity'
         where id = (select item_id from decisions where id = $1)",
        &[&reached_never],
    )
    .await
    .unwrap();
    db.execute(
        "update decisions set decided_at = '-infinity' where id = $1",
        &[&decided_never],
    )
    .await
    .unwrap();

    let summary = outcomes::run(&ctx(Job::Outcomes), &supabase(&env))
        .await
        .expect("outcomes run completes");
    assert_eq!(summary.counts["ok_count"], 3, "{:?}", summary.counts);
    assert_eq!(summary.counts["failed_count"], 2);
    assert_eq!(summary.counts["remaining"], 0);
    assert_eq!(summary.status, RunStatus::Partial);
    for refused in [reached_never, decided_never] {
        let error = last_error(&env, refused).await.unwrap();
        assert!(
            error.contains("an infinite time has no duration"),
            "{error}"
        );
    }
    // A second run is not stuck on them.
    let again = outcomes::run(&ctx(Job::Outcomes), &supabase(&env))
        .await
        .unwrap();
    assert_eq!(again.counts["processed"], 0);

    // Rewards: one outcome NaN, one Infinity, one normal decision with a 1 MB action.
    db.execute(
        "update outcomes set resolution_seconds = 'NaN' where decision_id = $1",
        &[&normal[0]],
    )
    .await
    .unwrap();
    db.execute(
        "update outcomes set resolution_seconds = 'Infinity' where decision_id = $1",
        &[&normal[1]],
    )
    .await
    .unwrap();
    let huge = decision(&env, &"x".repeat(1_000_000)).await;
    let good = decision(&env, "do_now").await;
    outcomes::run(&ctx(Job::Outcomes), &supabase(&env))
        .await
        .unwrap();

    let summary: RunSummary = rewards::run(
        &ctx(Job::Rewards),
        &supabase(&env),
        &RewardWeights::default(),
    )
    .await
    .expect("rewards run completes");
    assert_eq!(summary.counts["processed"], 5, "{:?}", summary.counts);
    assert_eq!(summary.counts["ok_count"], 2, "normal[2] and good");
    assert_eq!(summary.counts["failed_count"], 3);
    for id in [normal[2], good] {
        let reward: Option<f64> = db
            .query_one("select reward from decisions where id = $1", &[&id])
            .await
            .unwrap()
            .get(0);
        assert!(reward.is_some(), "{id} got its reward");
    }
    let nan = last_error(&env, normal[0]).await.unwrap();
    assert!(
        nan.contains("`resolution_seconds`") && nan.contains("NaN"),
        "{nan}"
    );
    let infinite = last_error(&env, normal[1]).await.unwrap();
    assert!(infinite.contains("`resolution_seconds`"), "{infinite}");
    let huge_error = last_error(&env, huge).await.unwrap();
    assert!(
        huge_error.chars().count() <= 1100 && huge_error.contains("more characters"),
        "a 1 MB action is stored capped: {} characters",
        huge_error.chars().count()
    );
}

fn schedule_settings(now: DateTime<Utc>, max_ticks: u64) -> ScheduleSettings {
    ScheduleSettings {
        max_ticks,
        concurrency: 4,
        max_tokens: 512,
        daily_token_budget: None,
        now: Some(now),
    }
}

async fn run_schedule(env: &TestEnv, llm: &Llm, now: DateTime<Utc>, max_ticks: u64) -> RunSummary {
    schedule::run(
        &ctx(Job::Schedule),
        &supabase(env),
        llm,
        &schedule_settings(now, max_ticks),
    )
    .await
    .expect("schedule run completes")
}

async fn schedule_row(env: &TestEnv, expr: &str, catch_up: &str, next: DateTime<Utc>) -> Uuid {
    factory::schedule(
        &env.db.client,
        NewSchedule {
            cron_expr: expr.into(),
            catch_up: catch_up.into(),
            next_run_at: Some(next),
            ..Default::default()
        },
    )
    .await
}

async fn posts(env: &TestEnv, schedule: Uuid) -> i64 {
    env.db
        .client
        .query_one(
            "select count(*) from character_posts where schedule_id = $1",
            &[&schedule],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_minus_infinity_schedule_beside_a_due_one_the_due_one_posts() {
    let env = TestEnv::start().await;
    let now = at(2026, 11, 22, 12, 0);
    let due = schedule_row(&env, "0 * * * *", "latest", now).await;
    let broken = schedule_row(&env, "0 * * * *", "latest", now).await;
    env.db
        .client
        .execute(
            "update character_schedules set next_run_at = '-infinity' where id = $1",
            &[&broken],
        )
        .await
        .unwrap();

    let summary = run_schedule(&env, &Llm::Offline, now, 50).await;
    assert_eq!(posts(&env, due).await, 1, "{:?}", summary.counts);
    assert_eq!(summary.counts["invalid"], 1);
    let (next, error): (Option<DateTime<Utc>>, Option<String>) = {
        let row = env
            .db
            .client
            .query_one(
                "select next_run_at, last_error from character_schedules where id = $1",
                &[&broken],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(next, None);
    let error = error.unwrap();
    assert!(
        error.contains("`next_run_at`") && error.contains("infinite"),
        "{error}"
    );

    // The next run schedules it afresh from its expression; its error is gone.
    let later = at(2026, 11, 22, 12, 30);
    run_schedule(&env, &Llm::Offline, later, 50).await;
    let row = env
        .db
        .client
        .query_one(
            "select next_run_at, last_error from character_schedules where id = $1",
            &[&broken],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Option<DateTime<Utc>>>(0),
        Some(at(2026, 11, 22, 13, 0))
    );
    assert_eq!(row.get::<_, Option<String>>(1), None);
}

#[tokio::test]
async fn a_catch_up_all_backlog_fires_at_most_24_ticks_and_cannot_starve_the_others() {
    let env = TestEnv::start().await;
    let now = at(2026, 11, 22, 12, 0);
    let greedy = schedule_row(&env, "* * * * *", "all", now - chrono::Duration::hours(20)).await;
    env.db
        .client
        .execute(
            "update character_schedules set catch_up_window = interval '7 days' where id = $1",
            &[&greedy],
        )
        .await
        .unwrap();
    let mut healthy = Vec::new();
    for _ in 0..3 {
        healthy.push(schedule_row(&env, "0 * * * *", "latest", now).await);
    }
    // Five ticks per run: the greedy schedule's backlog comes after one tick of each other.
    let summary = run_schedule(&env, &Llm::Offline, now, 5).await;
    let fired: i64 = env
        .db
        .client
        .query_one(
            "select count(*) filter (where status <> 'skipped') from schedule_ticks where schedule_id = $1",
            &[&greedy],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(fired, 24, "{:?}", summary.counts);
    let skipped: i64 = env
        .db
        .client
        .query_one(
            "select count(*) filter (where status = 'skipped') from schedule_ticks where schedule_id = $1",
            &[&greedy],
        )
        .await
        .unwrap()
        .get(0);
    // 1,201 missed slots; the newest 1,000 are looked at (slots::MAX_SLOTS): 24 fire.
    assert_eq!(
        skipped,
        1000 - 24,
        "older missed slots are recorded as skipped"
    );
    for id in &healthy {
        assert_eq!(
            posts(&env, *id).await,
            1,
            "healthy schedule {id} posted in the first run"
        );
    }
    assert_eq!(posts(&env, greedy).await, 2);
}

#[tokio::test]
async fn a_5_mb_persona_and_prompt_are_cut_before_the_call() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(&server, answer("Hello there.", 10, 3)).await;
    let now = at(2026, 11, 22, 12, 0);
    let character = factory::character(
        &env.db.client,
        NewCharacter {
            persona: "p".repeat(5_000_000),
            ..Default::default()
        },
    )
    .await;
    let huge = factory::schedule(
        &env.db.client,
        NewSchedule {
            character_id: Some(character),
            prompt: "q".repeat(5_000_000),
            next_run_at: Some(now),
            ..Default::default()
        },
    )
    .await;
    let neighbour = schedule_row(&env, "0 * * * *", "latest", now).await;
    let summary = run_schedule(&env, &llm::llm(&server), now, 50).await;
    assert_eq!(summary.counts["ok_count"], 2, "{:?}", summary.counts);
    assert_eq!(
        (posts(&env, huge).await, posts(&env, neighbour).await),
        (1, 1)
    );
    let bodies: Vec<Value> = llm::requests(&server).await;
    assert_eq!(bodies.len(), 2);
    for body in bodies {
        let size = body.to_string().len();
        assert!(size < 12_000, "a call carried {size} bytes");
    }
}
