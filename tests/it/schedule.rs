//! The schedule job against real PostgreSQL (through the dev server) and a MiniMax stub:
//! one post per slot whatever the duplicates, catch-up policies, a daylight-saving night,
//! invalid rows, LLM failures, dry runs, and the two LLM functions as deployed.

use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeZone, Utc};
use serde_json::json;
use supacron::Job;
use supacron::invocation::{RunContext, RunStatus, RunSummary, Trigger};
use supacron::jobs::schedule::{self, ScheduleSettings};
use supacron::llm::Llm;
use testkit::TestEnv;
use testkit::factory::{self, NewConversation, NewSchedule};
use uuid::Uuid;
use wiremock::{MockServer, ResponseTemplate};

use crate::support::function_process::{FUNCTIONS, FunctionProcess, send};
use crate::support::llm::{self, answer, respond};
use crate::support::patch::supabase;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn settings(now: DateTime<Utc>) -> ScheduleSettings {
    ScheduleSettings {
        max_ticks: 50,
        concurrency: 4,
        max_tokens: 512,
        daily_token_budget: None,
        now: Some(now),
    }
}

async fn run_at(env: &TestEnv, llm: &Llm, now: DateTime<Utc>) -> RunSummary {
    run_with(env, llm, now, false).await
}

async fn run_with(env: &TestEnv, llm: &Llm, now: DateTime<Utc>, dry_run: bool) -> RunSummary {
    let ctx = RunContext::new(
        Uuid::new_v4(),
        Job::Schedule,
        Trigger::Manual,
        dry_run,
        Duration::from_secs(120),
    );
    schedule::run(&ctx, &supabase(env), llm, &settings(now))
        .await
        .expect("schedule run completes")
}

async fn schedule_row(
    env: &TestEnv,
    expr: &str,
    zone: &str,
    catch_up: &str,
    next: Option<DateTime<Utc>>,
) -> Uuid {
    factory::schedule(
        &env.db.client,
        NewSchedule {
            cron_expr: expr.into(),
            timezone: zone.into(),
            catch_up: catch_up.into(),
            next_run_at: next,
            ..Default::default()
        },
    )
    .await
}

/// (slot, status) of a schedule's ticks, oldest first.
async fn ticks(env: &TestEnv, schedule: Uuid) -> Vec<(DateTime<Utc>, String)> {
    env.db
        .client
        .query(
            "select slot, status from schedule_ticks where schedule_id = $1 order by slot",
            &[&schedule],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Slots that have a post, oldest first.
async fn posted_slots(env: &TestEnv, schedule: Uuid) -> Vec<DateTime<Utc>> {
    env.db
        .client
        .query(
            "select t.slot from character_posts p join schedule_ticks t on t.id = p.tick_id
             where p.schedule_id = $1 order by t.slot",
            &[&schedule],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn row_state(env: &TestEnv, schedule: Uuid) -> (Option<DateTime<Utc>>, Option<String>, bool) {
    let row = env
        .db
        .client
        .query_one(
            "select next_run_at, last_error, enabled from character_schedules where id = $1",
            &[&schedule],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn a_due_slot_fires_once_even_with_duplicate_and_overlapping_runs() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(
        &server,
        answer(
            "<think>short</think>Soup of the day: leek and potato!",
            120,
            15,
        )
        .set_delay(Duration::from_millis(200)),
    )
    .await;
    let id = schedule_row(
        &env,
        "0 * * * *",
        "UTC",
        "latest",
        Some(at(2026, 11, 22, 12, 0)),
    )
    .await;
    let llm = llm::llm(&server);
    let now = at(2026, 11, 22, 12, 0) + chrono::Duration::seconds(30);
    let (a, b) = tokio::join!(run_at(&env, &llm, now), run_at(&env, &llm, now));
    let again = run_at(&env, &llm, at(2026, 11, 22, 12, 40)).await;

    assert_eq!(posted_slots(&env, id).await, vec![at(2026, 11, 22, 12, 0)]);
    assert_eq!(
        llm::requests(&server).await.len(),
        1,
        "{:?} {:?} {:?}",
        a.counts,
        b.counts,
        again.counts
    );
    assert_eq!(again.counts["ticks_fired"], 0);
    assert_eq!(row_state(&env, id).await.0, Some(at(2026, 11, 22, 13, 0)));
    let post = env
        .db
        .client
        .query_one(
            "select content, model, prompt_tokens, completion_tokens, kind from character_posts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        post.get::<_, String>(0),
        "Soup of the day: leek and potato!"
    );
    assert_eq!(post.get::<_, String>(1), "MiniMax-M2");
    assert_eq!(
        (post.get::<_, Option<i32>>(2), post.get::<_, Option<i32>>(3)),
        (Some(120), Some(15))
    );
    assert_eq!(post.get::<_, String>(4), "post");
}

#[tokio::test]
async fn catch_up_policies_after_a_gap_of_several_slots() {
    let env = TestEnv::start().await;
    let since = Some(at(2026, 11, 22, 8, 0));
    let latest = schedule_row(&env, "0 * * * *", "UTC", "latest", since).await;
    let all = schedule_row(&env, "0 * * * *", "UTC", "all", since).await;
    let skip_on_time = schedule_row(&env, "0 * * * *", "UTC", "skip", since).await;
    let skip_late = schedule_row(
        &env,
        "0 9 * * *",
        "Europe/Berlin",
        "skip",
        Some(at(2026, 11, 22, 8, 0)),
    )
    .await;
    let now = at(2026, 11, 22, 12, 5);

    let summary = run_at(&env, &Llm::Offline, now).await;

    let hours = |hs: &[u32]| {
        hs.iter()
            .map(|h| at(2026, 11, 22, *h, 0))
            .collect::<Vec<_>>()
    };
    assert_eq!(posted_slots(&env, latest).await, hours(&[12]));
    let latest_ticks = ticks(&env, latest).await;
    assert_eq!(
        latest_ticks.iter().filter(|t| t.1 == "skipped").count(),
        4,
        "08..11 recorded as skipped"
    );
    assert_eq!(posted_slots(&env, all).await, hours(&[8, 9, 10, 11, 12]));
    assert_eq!(posted_slots(&env, skip_on_time).await, hours(&[12]));
    assert!(
        posted_slots(&env, skip_late).await.is_empty(),
        "09:00 Berlin (08:00 UTC) is 4 hours late"
    );
    assert_eq!(
        ticks(&env, skip_late).await,
        vec![(at(2026, 11, 22, 8, 0), "skipped".to_string())]
    );
    for id in [latest, all, skip_on_time] {
        assert_eq!(row_state(&env, id).await.0, Some(at(2026, 11, 22, 13, 0)));
    }
    assert_eq!(
        row_state(&env, skip_late).await.0,
        Some(at(2026, 11, 23, 8, 0))
    );
    assert_eq!(summary.counts["ok_count"], 7);
    assert_eq!(summary.counts["ticks_skipped"], 4 + 4 + 1);
    assert_eq!(summary.status, RunStatus::Ok, "{:?}", summary.counts);
}

#[tokio::test]
async fn a_0230_slot_on_a_spring_forward_night_fires_once() {
    let env = TestEnv::start().await;
    // New York, Sunday 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
    let id = schedule_row(&env, "30 2 * * *", "America/New_York", "latest", None).await;
    let llm = Llm::Offline;
    run_at(&env, &llm, at(2026, 3, 7, 12, 0)).await;
    assert_eq!(
        row_state(&env, id).await.0,
        Some(at(2026, 3, 8, 7, 0)),
        "03:00 EDT, right after the gap"
    );
    for now in [
        at(2026, 3, 8, 6, 0),
        at(2026, 3, 8, 7, 0),
        at(2026, 3, 8, 7, 30),
        at(2026, 3, 8, 9, 0),
    ] {
        run_at(&env, &llm, now).await;
    }
    assert_eq!(posted_slots(&env, id).await, vec![at(2026, 3, 8, 7, 0)]);
    assert_eq!(
        row_state(&env, id).await.0,
        Some(at(2026, 3, 9, 6, 30)),
        "02:30 EDT the next night"
    );
    let content: String = env
        .db
        .client
        .query_one("select content from character_posts", &[])
        .await
        .unwrap()
        .get(0);
    assert!(content.contains("Sunday 8 March 2026, 03:00"), "{content}");
}

#[tokio::test]
async fn an_invalid_row_gets_its_error_and_does_not_stop_the_others() {
    let env = TestEnv::start().await;
    let now = at(2026, 11, 22, 12, 1);
    let bad_cron = schedule_row(
        &env,
        "61 * * * *",
        "Europe/Berlin",
        "latest",
        Some(at(2026, 11, 22, 12, 0)),
    )
    .await;
    let bad_zone = schedule_row(&env, "0 * * * *", "Mars/Olympus_Mons", "latest", None).await;
    let good = schedule_row(
        &env,
        "0 * * * *",
        "UTC",
        "latest",
        Some(at(2026, 11, 22, 12, 0)),
    )
    .await;

    let summary = run_at(&env, &Llm::Offline, now).await;

    assert_eq!(summary.status, RunStatus::Partial);
    assert_eq!(
        (
            summary.counts["invalid"].clone(),
            summary.counts["ok_count"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(posted_slots(&env, good).await.len(), 1);
    let (next, error, enabled) = row_state(&env, bad_cron).await;
    assert_eq!((next, enabled), (None, true), "skipped, not disabled");
    assert!(
        error
            .unwrap()
            .contains("invalid cron expression `61 * * * *`")
    );
    assert!(
        row_state(&env, bad_zone)
            .await
            .1
            .unwrap()
            .contains("unknown time zone `Mars/Olympus_Mons`")
    );

    // Fixing the row is all it takes: the next run computes its next time and clears the error.
    env.db
        .client
        .execute(
            "update character_schedules set cron_expr = '1 * * * *' where id = $1",
            &[&bad_cron],
        )
        .await
        .unwrap();
    run_at(&env, &Llm::Offline, now).await;
    assert_eq!(
        row_state(&env, bad_cron).await,
        (Some(at(2026, 11, 22, 13, 1)), None, true)
    );
}

#[tokio::test]
async fn an_llm_failure_leaves_the_tick_retryable() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    respond(&server, ResponseTemplate::new(502)).await;
    let id = schedule_row(
        &env,
        "0 * * * *",
        "UTC",
        "latest",
        Some(at(2026, 11, 22, 12, 0)),
    )
    .await;
    let llm = llm::llm(&server);

    let failed = run_at(&env, &llm, at(2026, 11, 22, 12, 0)).await;
    assert_eq!(
        (failed.counts["failed_count"].clone(), failed.status),
        (json!(1), RunStatus::Partial)
    );
    assert_eq!(
        ticks(&env, id).await,
        vec![(at(2026, 11, 22, 12, 0), "failed".to_string())]
    );
    assert!(posted_slots(&env, id).await.is_empty());

    server.reset().await;
    respond(&server, answer("Back online.", 10, 3)).await;
    let retried = run_at(&env, &llm, at(2026, 11, 22, 12, 20)).await;
    assert_eq!(retried.counts["ok_count"], 1, "{:?}", retried.counts);
    assert_eq!(
        ticks(&env, id).await,
        vec![(at(2026, 11, 22, 12, 0), "done".to_string())]
    );
    assert_eq!(posted_slots(&env, id).await, vec![at(2026, 11, 22, 12, 0)]);
}

#[tokio::test]
async fn a_dry_run_counts_and_changes_nothing_and_calls_no_llm() {
    let env = TestEnv::start().await;
    let server = MockServer::start().await;
    let id = schedule_row(
        &env,
        "0 * * * *",
        "UTC",
        "latest",
        Some(at(2026, 11, 22, 12, 0)),
    )
    .await;
    let summary = run_with(&env, &llm::llm(&server), at(2026, 11, 22, 12, 5), true).await;
    assert_eq!(summary.counts["remaining"], 1);
    assert!(llm::requests(&server).await.is_empty());
    assert!(ticks(&env, id).await.is_empty());
    assert_eq!(row_state(&env, id).await.0, Some(at(2026, 11, 22, 12, 0)));
}

#[tokio::test]
async fn the_functions_answer_their_counts_with_the_offline_provider() {
    let env = TestEnv::start().await;
    let character = factory::character(&env.db.client, Default::default()).await;
    let conversation = factory::conversation(
        &env.db.client,
        NewConversation {
            character_id: Some(character),
            ..Default::default()
        },
    )
    .await;
    factory::messages(&env.db.client, conversation, 12).await;
    factory::schedule(
        &env.db.client,
        NewSchedule {
            character_id: Some(character),
            next_run_at: Some(
                Utc::now()
                    .duration_trunc(chrono::Duration::hours(1))
                    .unwrap(),
            ),
            ..Default::default()
        },
    )
    .await;
    let url = env.rest_url();
    let vars = [
        ("CRON_SECRET", "llm-secret-12345"),
        ("SUPABASE_URL", url.as_str()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
        ("SUPACRON_LLM_PROVIDER", "offline"),
    ];
    let client = reqwest::Client::new();
    for (index, job) in [(1, "memory"), (2, "schedule")] {
        let (path, binary) = FUNCTIONS[index];
        let function = FunctionProcess::start(binary, path, &vars);
        let auth = ("Authorization", "Bearer llm-secret-12345");
        let dry = send(
            client
                .get(format!("{}?dry_run=1", function.url))
                .header(auth.0, auth.1),
        )
        .await;
        assert_eq!(
            (
                dry.status,
                dry.body["job"].clone(),
                dry.body["dry_run"].clone(),
                dry.body["remaining"].clone()
            ),
            (200, json!(job), json!(true), json!(1)),
            "{}",
            dry.text
        );
        let real = send(client.get(&function.url).header(auth.0, auth.1)).await;
        assert_eq!(
            (
                real.status,
                real.body["status"].clone(),
                real.body["ok_count"].clone(),
                real.body["remaining"].clone()
            ),
            (200, json!("ok"), json!(1), json!(0)),
            "{}",
            real.text
        );
        for field in [
            "run_id",
            "processed",
            "failed_count",
            "duration_ms",
            "llm_calls",
        ] {
            assert!(
                !real.body[field].is_null(),
                "{job} answers {field}: {}",
                real.text
            );
        }
    }
    let models: Vec<String> = env
        .db
        .client
        .query(
            "select model from memories union all select model from character_posts",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(models, vec!["offline", "offline"]);
}

#[tokio::test]
async fn without_a_minimax_key_the_llm_functions_answer_500_naming_it() {
    let client = reqwest::Client::new();
    for index in [1, 2] {
        let (path, binary) = FUNCTIONS[index];
        let function = FunctionProcess::start(
            binary,
            path,
            &[
                ("CRON_SECRET", "llm-secret-12345"),
                ("SUPABASE_URL", "http://127.0.0.1:9"),
                ("SUPABASE_SERVICE_ROLE_KEY", "sb_secret_abc"),
            ],
        );
        let answer = send(
            client
                .get(&function.url)
                .header("Authorization", "Bearer llm-secret-12345"),
        )
        .await;
        assert_eq!(answer.status, 500, "{}", answer.text);
        assert!(
            answer.body["message"]
                .as_str()
                .unwrap()
                .contains("MINIMAX_API_KEY"),
            "{}",
            answer.text
        );
    }
}

#[tokio::test]
async fn an_hour_with_nothing_to_do_costs_one_request_and_no_lease() {
    let env = TestEnv::start().await;
    schedule_row(
        &env,
        "0 9 * * *",
        "UTC",
        "latest",
        Some(at(2026, 11, 23, 9, 0)),
    )
    .await;
    let before = env.server.request_count();
    let summary = run_at(&env, &Llm::Offline, at(2026, 11, 22, 12, 0)).await;
    assert_eq!(summary.status, RunStatus::Ok);
    assert_eq!(env.server.request_count() - before, 1);
    let leases: i64 = env
        .db
        .client
        .query_one("select count(*) from job_locks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(leases, 0);
}
