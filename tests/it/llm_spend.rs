//! What the LLM jobs spend (issue #21), against real PostgreSQL and a MiniMax stub over
//! HTTP: every billed call is counted (usable or not) in the answer and `cron_runs`, and a
//! retry the budget cannot afford leaves the item untouched for the next run.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeZone, Utc};
use http::Method;
use serde_json::{Value, json};
use supacron::Job;
use supacron::function::handle;
use supacron::invocation::{RunContext, RunStatus, RunSummary, Trigger};
use supacron::jobs::memory::{self, MemorySettings};
use supacron::jobs::schedule::{self, ScheduleSettings};
use supacron::llm::Llm;
use testkit::TestEnv;
use testkit::factory::{self, NewCharacter, NewConversation, NewSchedule};
use uuid::Uuid;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::front_door::{SECRET, config, request};
use crate::support::llm::{self, COMPLETIONS, MINIMAX_KEY, answer, respond};
use crate::support::patch::supabase;

const SUMMARY: &str = "{\"summary\": \"The user asked about soups.\", \"facts\": []}";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn memory_settings(now: DateTime<Utc>) -> MemorySettings {
    MemorySettings {
        min_new_messages: 5,
        max_conversations: 20,
        max_messages: 50,
        max_prompt_chars: 16_000,
        concurrency: 4,
        max_tokens: 512,
        now: Some(now),
    }
}

async fn run_memory(
    env: &TestEnv,
    llm: &Llm,
    settings: &MemorySettings,
    budget: Duration,
) -> RunSummary {
    let ctx = RunContext::new(Uuid::new_v4(), Job::Memory, Trigger::Manual, false, budget);
    memory::run(&ctx, &supabase(env), llm, settings)
        .await
        .expect("memory run completes")
}

async fn run_schedule(
    env: &TestEnv,
    llm: &Llm,
    now: DateTime<Utc>,
    budget: Duration,
) -> RunSummary {
    let ctx = RunContext::new(
        Uuid::new_v4(),
        Job::Schedule,
        Trigger::Manual,
        false,
        budget,
    );
    let settings = ScheduleSettings {
        max_ticks: 50,
        concurrency: 4,
        max_tokens: 512,
        now: Some(now),
    };
    schedule::run(&ctx, &supabase(env), llm, &settings)
        .await
        .expect("schedule run completes")
}

/// A conversation with `messages` messages whose character's persona is `persona` (so the
/// stub can tell the conversations' calls apart).
pub async fn conversation(env: &TestEnv, persona: &str, messages: usize) -> Uuid {
    let character = factory::character(
        &env.db.client,
        NewCharacter {
            name: "Ada".into(),
            persona: persona.into(),
            ..Default::default()
        },
    )
    .await;
    let id = factory::conversation(
        &env.db.client,
        NewConversation {
            character_id: Some(character),
            ..Default::default()
        },
    )
    .await;
    factory::messages(&env.db.client, id, messages).await;
    id
}

/// Answers calls whose prompt contains `marker` with `response`.
pub async fn respond_to(server: &MockServer, marker: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .and(body_string_contains(marker))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Chat-completion calls the stub received whose prompt contains `marker`.
#[allow(dead_code)] // used by the lease tests
pub async fn calls_for(server: &MockServer, marker: &str) -> usize {
    llm::requests(server)
        .await
        .iter()
        .filter(|body| body.to_string().contains(marker))
        .count()
}

/// (memory_cursor, memory_attempts, memory_last_error, memory_retry_after) of a conversation.
async fn memory_state(
    env: &TestEnv,
    id: Uuid,
) -> (i64, i32, Option<String>, Option<DateTime<Utc>>) {
    let row = env
        .db
        .client
        .query_one(
            "select memory_cursor, memory_attempts, memory_last_error, memory_retry_after
             from conversations where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

fn counts(summary: &RunSummary, names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| summary.counts[*n].clone()).collect()
}

#[tokio::test]
async fn billed_but_unusable_answers_are_counted_in_the_answer_and_cron_runs() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    // What the stub bills: one usable memory, one garbage answer, one reasoning-only answer
    // cut by max_tokens inside <think>, and a schedule post that is reasoning only.
    respond_to(&server, "persona-good", answer(SUMMARY, 300, 40)).await;
    respond_to(
        &server,
        "persona-garbage",
        answer("Sorry, prose only.", 200, 30),
    )
    .await;
    respond_to(
        &server,
        "persona-think",
        answer("<think>Let me consider every detail of", 100, 512),
    )
    .await;
    for persona in ["persona-good", "persona-garbage", "persona-think"] {
        conversation(&env, persona, 10).await;
    }
    let base_url = format!("{}/v1", server.uri());
    let config = config(
        &env,
        &[
            ("SUPACRON_LLM_PROVIDER", "minimax"),
            ("MINIMAX_API_KEY", MINIMAX_KEY),
            ("MINIMAX_BASE_URL", base_url.as_str()),
        ],
    );
    let response = handle(
        Job::Memory,
        request(Method::GET, Job::Memory.path(), Some(SECRET), true),
        &config,
    )
    .await;
    let body: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(response.status.as_u16(), 200, "{body}");
    let billed = json!({
        "llm_calls": 3, "unusable_calls": 2,
        "prompt_tokens": 600, "completion_tokens": 582,
        "ok_count": 1, "failed_count": 2,
    });
    let recorded: Value = env
        .db
        .client
        .query_one(
            "select counts from cron_runs where job = 'memory' and status <> 'running'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for (name, expected) in billed.as_object().unwrap() {
        assert_eq!(&body[name], expected, "answer's {name}: {body}");
        assert_eq!(&recorded[name], expected, "cron_runs' {name}: {recorded}");
    }
    assert_eq!(body["status"], "partial");
    assert_eq!(llm::requests(&server).await.len(), 3, "nothing retried");

    // The schedule job counts a reasoning-only answer too (refused by the client).
    server.reset().await;
    respond(&server, answer("<think>I should write about", 70, 512)).await;
    factory::schedule(
        &env.db.client,
        NewSchedule {
            next_run_at: Some(
                Utc::now()
                    .duration_trunc(chrono::Duration::hours(1))
                    .unwrap(),
            ),
            ..Default::default()
        },
    )
    .await;
    let response = handle(
        Job::Schedule,
        request(Method::GET, Job::Schedule.path(), Some(SECRET), true),
        &config,
    )
    .await;
    let body: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(
        [
            &body["llm_calls"],
            &body["unusable_calls"],
            &body["prompt_tokens"],
            &body["completion_tokens"],
            &body["failed_count"]
        ],
        [&json!(1), &json!(1), &json!(70), &json!(512), &json!(1)],
        "{body}"
    );
}

#[tokio::test]
async fn a_429_whose_retry_after_outlasts_the_budget_leaves_the_item_untouched() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    // Retry-After 120 s: longer than a run waits; Retry-After 30 s: longer than the 20 s
    // budget leaves. Neither is the item's failure.
    respond(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "120"),
    )
    .await;
    let id = conversation(&env, "persona-limited", 6).await;
    let llm = llm::llm(&server);
    let s = memory_settings(t0());
    let first = run_memory(&env, &llm, &s, Duration::from_secs(60)).await;
    assert_eq!(
        counts(
            &first,
            &["left_for_later", "failed_count", "ok_count", "llm_calls"]
        ),
        [json!(1), json!(0), json!(0), json!(0)],
        "{:?}",
        first.counts
    );
    assert_eq!(first.status, RunStatus::Partial);
    assert_eq!(
        memory_state(&env, id).await,
        (0, 0, None, None),
        "no attempt, no backoff, no error"
    );
    assert_eq!(
        llm::requests(&server).await.len(),
        1,
        "no retry was waited for"
    );

    server.reset().await;
    respond(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "30"),
    )
    .await;
    let second = run_memory(&env, &llm, &s, Duration::from_secs(20)).await;
    assert_eq!(second.counts["left_for_later"], 1, "{:?}", second.counts);
    assert_eq!(memory_state(&env, id).await, (0, 0, None, None));

    // The next run (one minute later: no backoff to wait out) completes it.
    server.reset().await;
    respond(&server, answer(SUMMARY, 10, 5)).await;
    let next = run_memory(
        &env,
        &llm,
        &memory_settings(t0() + chrono::Duration::minutes(1)),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(next.status, RunStatus::Ok, "{:?}", next.counts);
    assert_eq!(next.counts["ok_count"], 1);
    assert!(memory_state(&env, id).await.0 > 0, "the cursor moved");

    // A schedule tick: still open, no attempt spent, no error; the next run posts it.
    server.reset().await;
    respond(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "120"),
    )
    .await;
    let schedule = factory::schedule(
        &env.db.client,
        NewSchedule {
            next_run_at: Some(t0()),
            ..Default::default()
        },
    )
    .await;
    let limited = run_schedule(&env, &llm, t0(), Duration::from_secs(60)).await;
    assert_eq!(
        counts(&limited, &["ticks_fired", "left_for_later", "failed_count"]),
        [json!(1), json!(1), json!(0)],
        "{:?}",
        limited.counts
    );
    assert_eq!(tick(&env, schedule).await, ("pending".to_string(), 0, None));
    server.reset().await;
    respond(&server, answer("Soup of the day!", 10, 5)).await;
    let posted = run_schedule(
        &env,
        &llm,
        t0() + chrono::Duration::minutes(5),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(posted.counts["ok_count"], 1, "{:?}", posted.counts);
    assert_eq!(tick(&env, schedule).await.0, "done");
}

/// (status, attempts, last_error) of the schedule's one tick.
async fn tick(env: &TestEnv, schedule: Uuid) -> (String, i32, Option<String>) {
    let row = env
        .db
        .client
        .query_one(
            "select status, attempts, last_error from schedule_ticks where schedule_id = $1",
            &[&schedule],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}
