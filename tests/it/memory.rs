//! The memory job against real PostgreSQL (through the dev server) and a MiniMax stub:
//! thresholds, one memory per message range, overlapping runs paying once, failures that
//! write nothing and are retried, the time budget, dry runs and the offline provider.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use supacron::Job;
use supacron::invocation::{RunContext, RunStatus, RunSummary, Trigger};
use supacron::jobs::memory::{self, MemorySettings};
use supacron::llm::Llm;
use testkit::TestEnv;
use testkit::factory::{self, NewCharacter, NewConversation};
use uuid::Uuid;
use wiremock::{MockServer, ResponseTemplate};

use crate::support::llm::{self, answer, respond};
use crate::support::patch::supabase;

const SUMMARY: &str = "<think>Summarise briefly.</think>\n```json\n{\"summary\": \"The user asked about soups.\", \"facts\": [\"The user likes leeks.\"]}\n```";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn settings(now: DateTime<Utc>) -> MemorySettings {
    MemorySettings {
        min_new_messages: 5,
        max_conversations: 20,
        max_messages: 50,
        max_prompt_chars: 16_000,
        concurrency: 4,
        max_tokens: 512,
        daily_token_budget: None,
        now: Some(now),
    }
}

async fn run(
    env: &TestEnv,
    llm: &Llm,
    settings: &MemorySettings,
    budget: Duration,
    dry_run: bool,
) -> RunSummary {
    let ctx = RunContext::new(
        Uuid::new_v4(),
        Job::Memory,
        Trigger::Manual,
        dry_run,
        budget,
    );
    memory::run(&ctx, &supabase(env), llm, settings)
        .await
        .expect("memory run completes")
}

async fn conversation_with(env: &TestEnv, messages: usize) -> (Uuid, Vec<i64>) {
    let character = factory::character(
        &env.db.client,
        NewCharacter {
            name: "Ada".into(),
            persona: "A cheerful cook in London.".into(),
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
    let ids = factory::messages(&env.db.client, id, messages).await;
    (id, ids)
}

/// (from, to, summary, facts, model, prompt_tokens, completion_tokens) of each memory.
async fn memories(
    env: &TestEnv,
    conversation: Uuid,
) -> Vec<(i64, i64, String, Value, String, Option<i32>, Option<i32>)> {
    env.db
        .client
        .query(
            "select from_message_id, to_message_id, summary, facts, model, prompt_tokens, completion_tokens
             from memories where conversation_id = $1 order by from_message_id",
            &[&conversation],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
        .collect()
}

async fn cursor(env: &TestEnv, conversation: Uuid) -> (i64, Option<String>) {
    let row = env
        .db
        .client
        .query_one(
            "select memory_cursor, memory_last_error from conversations where id = $1",
            &[&conversation],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn memory_count(env: &TestEnv) -> i64 {
    env.db
        .client
        .query_one("select count(*) from memories", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_conversation_above_the_threshold_gets_one_memory_and_one_below_is_untouched() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(&server, answer(SUMMARY, 345, 67)).await;
    let (quiet, _) = conversation_with(&env, 4).await;
    let (busy, ids) = conversation_with(&env, 6).await;

    let summary = run(
        &env,
        &llm::llm(&server),
        &settings(t0()),
        Duration::from_secs(60),
        false,
    )
    .await;

    assert_eq!(summary.status, RunStatus::Ok, "{:?}", summary.counts);
    assert_eq!(summary.counts["ok_count"], 1);
    assert_eq!(summary.counts["llm_calls"], 1);
    assert_eq!(summary.counts["prompt_tokens"], 345);
    assert_eq!(
        memories(&env, busy).await,
        vec![(
            ids[0],
            ids[5],
            "The user asked about soups.".to_string(),
            json!(["The user likes leeks."]),
            "MiniMax-M2".to_string(),
            Some(345),
            Some(67)
        )]
    );
    assert_eq!(cursor(&env, busy).await, (ids[5], None));
    assert!(memories(&env, quiet).await.is_empty());
    assert_eq!(cursor(&env, quiet).await.0, 0);
    let sent = llm::requests(&server).await;
    assert_eq!(sent.len(), 1);
    let system = sent[0]["messages"][0]["content"].as_str().unwrap();
    let user = sent[0]["messages"][1]["content"].as_str().unwrap();
    assert!(system.contains("A cheerful cook in London."), "{system}");
    assert!(
        user.contains("[user] message 1") && user.contains("[assistant] message 6"),
        "{user}"
    );
}

#[tokio::test]
async fn overlapping_runs_write_one_memory_and_pay_one_call_per_conversation() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(
        &server,
        answer(SUMMARY, 10, 10).set_delay(Duration::from_millis(300)),
    )
    .await;
    let mut conversations = Vec::new();
    for _ in 0..3 {
        conversations.push(conversation_with(&env, 6).await);
    }
    let llm = llm::llm(&server);
    let s = settings(t0());
    let (a, b) = tokio::join!(
        run(&env, &llm, &s, Duration::from_secs(60), false),
        run(&env, &llm, &s, Duration::from_secs(60), false)
    );
    let written = a.counts["ok_count"].as_i64().unwrap() + b.counts["ok_count"].as_i64().unwrap();
    assert_eq!(written, 3, "{:?} {:?}", a.counts, b.counts);
    assert_eq!(
        llm::requests(&server).await.len(),
        3,
        "one LLM call per conversation"
    );
    assert_eq!(memory_count(&env).await, 3);
    for (id, ids) in &conversations {
        assert_eq!(memories(&env, *id).await.len(), 1);
        assert_eq!(cursor(&env, *id).await.0, ids[5]);
    }
    // A run that read the old cursor (its lease lost, say) cannot write a second memory.
    let (id, ids) = &conversations[0];
    let stale: String = supabase(&env)
        .rpc(
            "commit_memory",
            &json!({
                "p_conversation_id": id, "p_expected_cursor": 0, "p_from": ids[0], "p_to": ids[5],
                "p_summary": "again", "p_facts": [], "p_model": "MiniMax-M2"
            }),
        )
        .await
        .unwrap();
    assert_eq!(stale, "moved");
    assert_eq!(memory_count(&env).await, 3);
}

#[tokio::test]
async fn a_run_finding_the_lease_held_does_nothing_and_says_so() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    conversation_with(&env, 6).await;
    env.db
        .client
        .execute(
            "insert into job_locks (job, lease_owner, lease_until, acquired_at) values ('memory', 'memory:other-run', $1, $2)",
            &[&(t0() + chrono::Duration::minutes(3)), &t0()],
        )
        .await
        .unwrap();
    let summary = run(
        &env,
        &llm::llm(&server),
        &settings(t0()),
        Duration::from_secs(60),
        false,
    )
    .await;
    assert_eq!(summary.status, RunStatus::Skipped);
    assert!(
        summary.counts["skipped_reason"]
            .as_str()
            .unwrap()
            .contains("memory:other-run")
    );
    assert_eq!(summary.counts["remaining"], 1);
    assert!(llm::requests(&server).await.is_empty());
    // Once the lease has expired, the next run works.
    let later = run(
        &env,
        &llm::llm(&server),
        &settings(t0() + chrono::Duration::minutes(10)),
        Duration::from_secs(60),
        false,
    )
    .await;
    assert_eq!(
        later.status,
        RunStatus::Partial,
        "the stub answers nothing: {:?}",
        later.counts
    );
}

/// Found by the benchmark (issue #8): a run with nothing to summarise took four requests (lease,
/// pick, release, count) before answering; it is one count now, and takes no lease.
#[tokio::test]
async fn a_run_with_nothing_due_is_one_request_and_takes_no_lease() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    conversation_with(&env, 4).await;
    let before = env.server.request_count();
    let summary = run(
        &env,
        &llm::llm(&server),
        &settings(t0()),
        Duration::from_secs(60),
        false,
    )
    .await;
    assert_eq!(env.server.request_count() - before, 1);
    assert_eq!(summary.status, RunStatus::Ok);
    assert_eq!(summary.counts["remaining"], 0);
    assert_eq!(summary.counts["processed"], 0);
    let locks: i64 = env
        .db
        .client
        .query_one(
            "select count(*) from job_locks where lease_owner is not null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(locks, 0, "no lease taken");
    assert!(llm::requests(&server).await.is_empty());
}

#[tokio::test]
async fn an_llm_failure_writes_nothing_and_a_later_run_succeeds() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(&server, ResponseTemplate::new(500)).await;
    let (id, ids) = conversation_with(&env, 6).await;
    let llm = llm::llm(&server);

    let failed = run(&env, &llm, &settings(t0()), Duration::from_secs(60), false).await;
    assert_eq!(failed.status, RunStatus::Partial);
    assert_eq!(
        (
            failed.counts["failed_count"].clone(),
            failed.counts["ok_count"].clone()
        ),
        (json!(1), json!(0))
    );
    assert!(memories(&env, id).await.is_empty());
    let (position, error) = cursor(&env, id).await;
    assert_eq!(position, 0);
    assert!(error.unwrap().contains("LLM retryable error (HTTP 500)"));

    server.reset().await;
    respond(&server, answer(SUMMARY, 10, 10)).await;
    let backing_off = run(
        &env,
        &llm,
        &settings(t0() + chrono::Duration::minutes(1)),
        Duration::from_secs(60),
        false,
    )
    .await;
    assert_eq!(
        backing_off.counts["processed"], 0,
        "a failed conversation backs off for 5 minutes"
    );

    let retried = run(
        &env,
        &llm,
        &settings(t0() + chrono::Duration::minutes(10)),
        Duration::from_secs(60),
        false,
    )
    .await;
    assert_eq!(retried.status, RunStatus::Ok, "{:?}", retried.counts);
    assert_eq!(memories(&env, id).await.len(), 1);
    assert_eq!(
        cursor(&env, id).await,
        (ids[5], None),
        "success clears the error"
    );
}

#[tokio::test]
async fn unusable_llm_output_is_a_failure_of_that_conversation_only() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(
        &server,
        answer("Sorry, I can only answer in prose.", 10, 10),
    )
    .await;
    let (id, _) = conversation_with(&env, 6).await;
    let summary = run(
        &env,
        &llm::llm(&server),
        &settings(t0()),
        Duration::from_secs(60),
        false,
    )
    .await;
    assert_eq!(summary.counts["failed_count"], 1);
    assert!(memories(&env, id).await.is_empty());
    let error = cursor(&env, id).await.1.unwrap();
    assert!(
        error.contains("LLM output error") && error.contains("no JSON object"),
        "{error}"
    );
    assert!(
        !error.contains("prose"),
        "the model's text is not stored: {error}"
    );
}

#[tokio::test]
async fn when_the_budget_is_spent_the_rest_is_left_for_the_next_run() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(
        &server,
        answer(SUMMARY, 10, 10).set_delay(Duration::from_millis(2500)),
    )
    .await;
    for _ in 0..3 {
        conversation_with(&env, 6).await;
    }
    let mut s = settings(t0());
    s.concurrency = 1;
    let summary = run(
        &env,
        &llm::llm(&server),
        &s,
        Duration::from_millis(3500),
        false,
    )
    .await;
    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(
        (
            summary.counts["ok_count"].clone(),
            summary.counts["left_for_later"].clone(),
            summary.counts["remaining"].clone()
        ),
        (json!(1), json!(2), json!(2)),
        "{:?}",
        summary.counts
    );
    assert_eq!(memory_count(&env).await, 1);
}

#[tokio::test]
async fn long_conversations_are_summarised_in_capped_ranges() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(&server, answer(SUMMARY, 10, 10)).await;
    let (id, ids) = conversation_with(&env, 12).await;
    let mut s = settings(t0());
    s.max_messages = 5;
    run(&env, &llm::llm(&server), &s, Duration::from_secs(60), false).await;
    run(&env, &llm::llm(&server), &s, Duration::from_secs(60), false).await;
    let ranges: Vec<(i64, i64)> = memories(&env, id)
        .await
        .iter()
        .map(|m| (m.0, m.1))
        .collect();
    assert_eq!(ranges, vec![(ids[0], ids[4]), (ids[5], ids[9])]);
    assert_eq!(
        cursor(&env, id).await.0,
        ids[9],
        "two messages wait for more to arrive"
    );
}

#[tokio::test]
async fn a_dry_run_counts_and_changes_nothing_and_calls_no_llm() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    conversation_with(&env, 6).await;
    conversation_with(&env, 7).await;
    conversation_with(&env, 2).await;
    let summary = run(
        &env,
        &llm::llm(&server),
        &settings(t0()),
        Duration::from_secs(60),
        true,
    )
    .await;
    assert_eq!(summary.counts["remaining"], 2);
    assert_eq!(summary.counts["ok_count"], 0);
    assert!(llm::requests(&server).await.is_empty());
    assert_eq!(memory_count(&env).await, 0);
}

#[tokio::test]
async fn the_offline_provider_writes_labelled_memories() {
    let env = TestEnv::start().await;
    let (id, _) = conversation_with(&env, 6).await;
    let summary = run(
        &env,
        &Llm::Offline,
        &settings(t0()),
        Duration::from_secs(60),
        false,
    )
    .await;
    assert_eq!(summary.counts["ok_count"], 1);
    let written = memories(&env, id).await;
    assert_eq!(written[0].4, "offline");
    assert!(
        written[0].2.starts_with("[offline summary of 6 messages]"),
        "{}",
        written[0].2
    );
    assert_eq!((written[0].5, written[0].6), (None, None));
}
