//! What the LLM jobs spend (issue #21), against real PostgreSQL and a MiniMax stub over
//! HTTP: a run never pays while another holds its lease (the lease follows the run's budget,
//! is renewed before every call, and a run that finds it taken stops and says what it
//! discarded; a deployed function's budget is held to its maxDuration), every billed call is
//! counted (usable or not) in the answer and `cron_runs`, and a retry the budget cannot
//! afford leaves the item untouched for the next run.

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
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use uuid::Uuid;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::front_door::{SECRET, config, request};
use crate::support::function_process::{FUNCTIONS, FunctionProcess, send};
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
        daily_token_budget: None,
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
        daily_token_budget: None,
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

/// A stub answer that also tells the test each call's prompt as it arrives (so the test acts
/// while a call is in flight, without sleeping).
struct Signalled {
    calls: UnboundedSender<String>,
    response: ResponseTemplate,
}

impl Respond for Signalled {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let _ = self
            .calls
            .send(String::from_utf8_lossy(&request.body).into_owned());
        self.response.clone()
    }
}

/// Mounts `response` for every call, reporting each call's body on the returned channel.
async fn respond_signalled(
    server: &MockServer,
    response: ResponseTemplate,
) -> UnboundedReceiver<String> {
    let (calls, received) = unbounded_channel();
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .respond_with(Signalled { calls, response })
        .mount(server)
        .await;
    received
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

/// The case: a run whose budget (900 s) is longer than the old fixed lease
/// (maxDuration + 60 s = 360 s) is still working when a second run comes 361 s later by the
/// clock. The lease follows the budget, so the second run is kept out: nothing paid twice.
#[tokio::test]
async fn a_run_with_a_budget_beyond_max_duration_keeps_its_lease_and_nothing_is_paid_twice() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    let mut calls = respond_signalled(
        &server,
        answer(SUMMARY, 100, 20).set_delay(Duration::from_millis(300)),
    )
    .await;
    let personas = ["persona-one", "persona-two", "persona-three"];
    for persona in personas {
        conversation(&env, persona, 6).await;
    }
    let llm = llm::llm(&server);
    let mut first_settings = memory_settings(t0());
    first_settings.concurrency = 1;
    let first = run_memory(&env, &llm, &first_settings, Duration::from_secs(900));
    let second = async {
        calls.recv().await.expect("the first run calls the stub");
        let lease_until: DateTime<Utc> = env
            .db
            .client
            .query_one(
                "select lease_until from job_locks where job = 'memory'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert!(
            lease_until >= t0() + chrono::Duration::seconds(900 + 59),
            "the lease covers the budget: {lease_until}"
        );
        let later = memory_settings(t0() + chrono::Duration::seconds(361));
        run_memory(&env, &llm, &later, Duration::from_secs(60)).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(second.status, RunStatus::Skipped, "{:?}", second.counts);
    assert_eq!(
        counts(&first, &["ok_count", "discarded", "llm_calls"]),
        [json!(3), json!(0), json!(3)],
        "{:?}",
        first.counts
    );
    for persona in personas {
        assert_eq!(calls_for(&server, persona).await, 1, "{persona} paid once");
    }
}

/// When another run has taken the lease anyway (its clock says this one's expired), this run
/// finishes the call in flight, stops before its next paid call, and says what it discarded
/// and what it left; the next run does the rest, and no conversation is paid twice.
#[tokio::test]
async fn a_run_whose_lease_was_taken_stops_before_its_next_paid_call_and_says_what_it_discarded() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    let mut calls = respond_signalled(
        &server,
        answer(SUMMARY, 150, 30).set_delay(Duration::from_millis(1500)),
    )
    .await;
    let personas = ["persona-one", "persona-two", "persona-three"];
    let mut ids = Vec::new();
    for persona in personas {
        ids.push((persona, conversation(&env, persona, 6).await));
    }
    let llm = llm::llm(&server);
    let mut s = memory_settings(t0());
    s.concurrency = 1;
    let first = run_memory(&env, &llm, &s, Duration::from_secs(900));
    let thief = async {
        let body = calls.recv().await.expect("the first run calls the stub");
        let (_, in_flight) = ids
            .iter()
            .find(|(persona, _)| body.contains(persona))
            .expect("the call is for one of the conversations");
        // While that call is in flight: another run takes the lease, and writes that
        // conversation's memory first (its cursor moves).
        env.db
            .client
            .execute(
                "update job_locks set lease_owner = 'memory:other-run', lease_until = $1
                 where job = 'memory'",
                &[&(t0() + chrono::Duration::hours(2))],
            )
            .await
            .unwrap();
        env.db
            .client
            .execute(
                "update conversations set memory_cursor =
                     (select max(id) from messages where conversation_id = $1) where id = $1",
                &[in_flight],
            )
            .await
            .unwrap();
    };
    let (first, ()) = tokio::join!(first, thief);
    assert_eq!(first.status, RunStatus::Partial, "{:?}", first.counts);
    assert_eq!(
        counts(
            &first,
            &[
                "ok_count",
                "discarded",
                "left_for_later",
                "llm_calls",
                "prompt_tokens",
                "completion_tokens",
                "stopped_by"
            ]
        ),
        [
            json!(0),
            json!(1),
            json!(2),
            json!(1),
            json!(150),
            json!(30),
            json!("lease_lost")
        ],
        "{:?}",
        first.counts
    );
    let reason = first.counts["stopped_reason"].as_str().unwrap();
    assert!(reason.contains("memory:other-run"), "{reason}");
    assert_eq!(
        llm::requests(&server).await.len(),
        1,
        "no call after the loss"
    );

    // The other run is done (its lease released): the next run does the two left.
    env.db
        .client
        .execute(
            "update job_locks set lease_owner = null, lease_until = null where job = 'memory'",
            &[],
        )
        .await
        .unwrap();
    let next = run_memory(&env, &llm, &memory_settings(t0()), Duration::from_secs(60)).await;
    assert_eq!(next.counts["ok_count"], 2, "{:?}", next.counts);
    for persona in personas {
        assert_eq!(calls_for(&server, persona).await, 1, "{persona} paid once");
    }
}

/// A deployed function's budget is held to its maxDuration (270 s of memory's 300 s), however
/// long SUPACRON_TIME_BUDGET_SECS is: its lease is taken for 270 + 60 s, not 900 + 60 s.
#[tokio::test]
async fn a_deployed_functions_budget_is_held_to_its_max_duration() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    let mut calls = respond_signalled(
        &server,
        answer(SUMMARY, 10, 5).set_delay(Duration::from_millis(500)),
    )
    .await;
    conversation(&env, "persona-deployed", 12).await;
    let url = env.rest_url();
    let base_url = format!("{}/v1", server.uri());
    let (path, binary) = FUNCTIONS[1];
    let function = FunctionProcess::start(
        binary,
        path,
        &[
            ("CRON_SECRET", SECRET),
            ("SUPABASE_URL", url.as_str()),
            ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
            ("MINIMAX_API_KEY", MINIMAX_KEY),
            ("MINIMAX_BASE_URL", base_url.as_str()),
            ("SUPACRON_TIME_BUDGET_SECS", "900"),
        ],
    );
    let client = reqwest::Client::new();
    let run = send(
        client
            .get(&function.url)
            .header("Authorization", format!("Bearer {SECRET}")),
    );
    let lease = async {
        calls.recv().await.expect("the function calls the stub");
        let row = env
            .db
            .client
            .query_one(
                "select extract(epoch from lease_until - acquired_at)::bigint from job_locks
                 where job = 'memory'",
                &[],
            )
            .await
            .unwrap();
        row.get::<_, i64>(0)
    };
    let (answer, lease_secs) = tokio::join!(run, lease);
    assert_eq!(answer.body["ok_count"], 1, "{}", answer.text);
    assert!(
        (300..=331).contains(&lease_secs),
        "lease of {lease_secs} s: the 270 s budget + 60 s, not 900 + 60"
    );
}

/// The worst case the gate reserves for a call with this request body: all of its
/// `max_tokens`, its prompt at one token per two characters, and 16 per message.
fn worst_case(body: &str) -> (u64, u64) {
    let request: Value = serde_json::from_str(body).unwrap();
    let messages = request["messages"].as_array().unwrap();
    let chars: u64 = messages
        .iter()
        .map(|m| m["content"].as_str().unwrap().chars().count() as u64)
        .sum();
    let prompt = chars.div_ceil(2) + 16 * messages.len() as u64;
    (prompt, request["max_tokens"].as_u64().unwrap())
}

/// Two overlapping runs near the daily cap — the second one's clock says the first's lease
/// has expired, so both pay at once — together stay within the cap: every call reserves its
/// worst case in the database first, and a call without room leaves its item for later.
#[tokio::test]
async fn two_overlapping_runs_near_the_daily_cap_together_stay_within_it() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    // Every conversation's prompt has the same size (personas of equal length): measure it.
    let mut calibrate = respond_signalled(&server, answer(SUMMARY, 1, 1)).await;
    conversation(&env, "persona-99", 6).await;
    let llm = llm::llm(&server);
    let mut s = memory_settings(t0());
    s.max_tokens = 100;
    run_memory(&env, &llm, &s, Duration::from_secs(60)).await;
    let (prompt, max_tokens) = worst_case(&calibrate.recv().await.unwrap());
    let reserve = prompt + max_tokens;
    // The stub bills each call close to its worst case: room for three calls, not four.
    server.reset().await;
    let billed_prompt = prompt - 16;
    let per_call = billed_prompt + max_tokens;
    let mut calls = respond_signalled(
        &server,
        answer(SUMMARY, billed_prompt as i64, max_tokens as i64)
            .set_delay(Duration::from_millis(400)),
    )
    .await;
    for n in 0..10 {
        conversation(&env, &format!("persona-{n:02}"), 6).await;
    }
    let cap = 3 * reserve + reserve / 2;
    s.daily_token_budget = Some(cap);
    let first = run_memory(&env, &llm, &s, Duration::from_secs(60));
    let second = async {
        calls.recv().await.expect("the first run pays a call");
        let mut later = s.clone();
        later.now = Some(t0() + chrono::Duration::hours(1));
        run_memory(&env, &llm, &later, Duration::from_secs(60)).await
    };
    let (first, second) = tokio::join!(first, second);

    let paid = llm::requests(&server).await.len() as u64;
    let billed = paid * per_call;
    assert!(
        (1..=3).contains(&paid) && billed <= cap,
        "{paid} calls, {billed} tokens billed, cap {cap}: {:?} {:?}",
        first.counts,
        second.counts
    );
    let tokens = |r: &RunSummary| {
        r.counts["prompt_tokens"].as_u64().unwrap()
            + r.counts["completion_tokens"].as_u64().unwrap()
    };
    assert_eq!(
        tokens(&first) + tokens(&second),
        billed,
        "the answers add up to the bill"
    );
    assert_eq!(second.status, RunStatus::Partial, "{:?}", second.counts);
    // The second run found no room; the first found no room either, or (when the second
    // took the lease before the first's next call) lost its lease, which its answer names
    // first.
    assert_eq!(
        second.counts["stopped_by"], "daily_token_budget",
        "{:?}",
        second.counts
    );
    let reason = second.counts["stopped_reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("LLM_DAILY_TOKEN_BUDGET={cap}")),
        "{reason}"
    );
    let first_stop = first.counts["stopped_by"].as_str().unwrap_or_default();
    assert!(
        ["daily_token_budget", "lease_lost"].contains(&first_stop),
        "{:?}",
        first.counts
    );
    for run in [&first, &second] {
        assert!(
            run.counts["left_for_later"].as_u64().unwrap() >= 7,
            "{:?}",
            run.counts
        );
    }
    let ledger = env
        .db
        .client
        .query_one(
            "select spent_tokens, reserved_tokens, llm_calls, cap_reached_at is not null
             from llm_spend_days where job = 'memory'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            ledger.get::<_, i64>(0) as u64,
            ledger.get::<_, i64>(1),
            ledger.get::<_, i64>(2) as u64,
            ledger.get::<_, bool>(3)
        ),
        (billed, 0, paid, true),
        "settled: spent is what was billed, nothing left reserved"
    );

    // The status page says so.
    let report = supacron::status::Report::fetch(&supabase(&env), true, 5)
        .await
        .unwrap();
    let memory = report.llm_spend.iter().find(|s| s.job == "memory").unwrap();
    let today = memory.today.as_ref().expect("today's ledger");
    assert_eq!(
        (
            today.spent_tokens as u64,
            today.cap_tokens,
            today.cap_reached_at.is_some()
        ),
        (billed, Some(cap as i64), true)
    );
    let page =
        supacron::status::html::render(&report, &supacron::status::health::tiles(&report), None);
    assert!(
        page.contains("LLM spend") && page.contains("budget reached"),
        "{page}"
    );
}

/// The status page's 24-hour spend per job sums the runs' recorded counts.
#[tokio::test]
async fn a_reservation_whose_run_died_before_settling_is_freed_after_its_hold() {
    let env = TestEnv::start().await;
    let db = supabase(&env);
    let reserve = |tokens: i64, at: DateTime<Utc>| {
        let db = db.clone();
        async move {
            let answer: Value = db
                .rpc(
                    "reserve_llm_tokens",
                    &json!({"p_job": "memory", "p_tokens": tokens, "p_cap": 1000,
                            "p_hold_seconds": 360, "p_now": at}),
                )
                .await
                .unwrap();
            answer["reserved"].as_bool().unwrap()
        }
    };
    // A run reserves 900 of 1,000 tokens and dies before its call settles.
    assert!(reserve(900, t0()).await);
    // While its hold (its budget + margin) lasts, the tokens stay reserved: 200 more do not fit,
    // 100 do (the hold then covers both).
    assert!(!reserve(200, t0() + chrono::TimeDelta::seconds(300)).await);
    assert!(reserve(100, t0() + chrono::TimeDelta::seconds(300)).await);
    assert!(!reserve(200, t0() + chrono::TimeDelta::seconds(400)).await);
    // Once every reservation outlived its hold, no call of those runs can still settle:
    // the day's budget is free again (it was reserved until midnight before).
    assert!(reserve(200, t0() + chrono::TimeDelta::seconds(661)).await);
    let row = env
        .db
        .client
        .query_one(
            "select reserved_tokens, spent_tokens from llm_spend_days where job = 'memory'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i64>(1)), (200, 0));
}

#[tokio::test]
async fn the_status_report_sums_each_llm_jobs_spend_over_24_hours() {
    let env = TestEnv::start().await;
    let now = Utc::now();
    for (job, hours_ago, counts) in [
        (
            "memory",
            1,
            json!({"llm_calls": 3, "unusable_calls": 1, "prompt_tokens": 600, "completion_tokens": 80}),
        ),
        (
            "memory",
            5,
            json!({"llm_calls": 2, "unusable_calls": 0, "prompt_tokens": 100, "completion_tokens": 20}),
        ),
        (
            "memory",
            30,
            json!({"llm_calls": 9, "prompt_tokens": 9000, "completion_tokens": 900}),
        ),
        (
            "schedule",
            2,
            json!({"llm_calls": 1, "prompt_tokens": 50, "completion_tokens": 7}),
        ),
    ] {
        factory::cron_run(
            &env.db.client,
            factory::NewCronRun {
                job: job.into(),
                status: "ok".into(),
                started_at: Some(now - chrono::Duration::hours(hours_ago)),
                counts,
                ..Default::default()
            },
        )
        .await;
    }
    let report = supacron::status::Report::fetch(&supabase(&env), false, 5)
        .await
        .unwrap();
    let spend: Vec<(String, i64, i64, i64, i64, bool)> = report
        .llm_spend
        .iter()
        .map(|s| {
            (
                s.job.clone(),
                s.llm_calls_24h,
                s.unusable_calls_24h,
                s.prompt_tokens_24h,
                s.completion_tokens_24h,
                s.today.is_some(),
            )
        })
        .collect();
    assert_eq!(
        spend,
        vec![
            ("memory".into(), 5, 1, 700, 100, false),
            ("schedule".into(), 1, 0, 50, 7, false)
        ]
    );
}
