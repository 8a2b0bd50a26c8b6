//! The migrations: they apply to an empty database, keep the column names later code depends
//! on, enforce the documented CHECKs, maintain timestamps and state rows with triggers, and have
//! indexes the queue's queries can use.

use testkit::TestDb;
use tokio_postgres::error::SqlState;

use crate::{TABLES, VIEWS};

/// The public contract: table -> columns (name and type) in order. Later code (SQL functions,
/// Rust row types) is written against exactly these names; a change here is a breaking change.
const COLUMNS: &[(&str, &str)] = &[
    (
        "character_posts",
        "id int8, character_id uuid, content text, schedule_id uuid, tick_id int8, kind text, model text, prompt_tokens int4, completion_tokens int4, created_at timestamptz",
    ),
    (
        "character_schedules",
        "id uuid, character_id uuid, kind text, cron_expr text, updated_at timestamptz, timezone text, prompt text, enabled bool, catch_up text, catch_up_window interval, next_run_at timestamptz, last_run_at timestamptz, last_error text, created_at timestamptz",
    ),
    (
        "character_states",
        "character_id uuid, created_at timestamptz, updated_at timestamptz, state jsonb, run_state jsonb, version int8",
    ),
    (
        "characters",
        "id uuid, name text, timezone text, created_at timestamptz, updated_at timestamptz, persona text",
    ),
    (
        "console_actions",
        "id int8, form_key uuid, session_id text, client text, action text, target jsonb, outcome text, rows int4, notice text, run_id uuid, answer jsonb, created_at timestamptz, finished_at timestamptz",
    ),
    (
        "conversation_states",
        "conversation_id uuid, created_at timestamptz, updated_at timestamptz, state jsonb, run_state jsonb, version int8",
    ),
    (
        "conversations",
        "id uuid, character_id uuid, user_id uuid, title text, created_at timestamptz, updated_at timestamptz, memory_cursor int8, memory_attempts int4, memory_last_error text, memory_retry_after timestamptz",
    ),
    (
        "cron_incidents",
        "id int8, job text, reason text, opened_at timestamptz, closed_at timestamptz, alert_posted_at timestamptz, recovery_posted_at timestamptz, post_claimed_until timestamptz",
    ),
    (
        "cron_run_summary",
        "job text, schedule text, last_run_id uuid, last_status text, last_trigger text, last_started_at timestamptz, last_finished_at timestamptz, last_duration_ms int4, last_error text, last_counts jsonb, last_success_at timestamptz, running bool, runs_24h int8, failures_24h int8, skipped_24h int8, p50_duration_ms_24h int4, p95_duration_ms_24h int4, last_expected_tick timestamptz, last_tick_missing bool",
    ),
    (
        "cron_runs",
        "id int8, run_id uuid, job text, trigger text, status text, started_at timestamptz, finished_at timestamptz, duration_ms int4, counts jsonb, error text, deployment_id text, dry_run bool, schedule_name text, execution_id text, scheduled_at timestamptz, deadline_at timestamptz",
    ),
    (
        "cron_schedules",
        "job text, path text, schedule text, max_duration_secs int4, tick_grace interval, created_at timestamptz, updated_at timestamptz, timezone text, jitter_minutes int4, schedule_name text",
    ),
    (
        "decisions",
        "id uuid, item_id uuid, action text, policy_version text, context jsonb, decided_at timestamptz, created_at timestamptz, confidence float8, reward float8, reward_details jsonb, reward_version int4, reward_computed_at timestamptz, last_error text, updated_at timestamptz",
    ),
    (
        "items",
        "id uuid, title text, status text, status_changed_at timestamptz, created_at timestamptz, updated_at timestamptz",
    ),
    (
        "job_locks",
        "job text, lease_owner text, lease_until timestamptz, acquired_at timestamptz, updated_at timestamptz",
    ),
    (
        "llm_spend_days",
        "job text, day date, spent_tokens int8, reserved_tokens int8, llm_calls int8, unusable_calls int8, cap_tokens int8, cap_reached_at timestamptz, updated_at timestamptz, reserved_until timestamptz",
    ),
    (
        "memories",
        "id int8, conversation_id uuid, summary text, character_id uuid, from_message_id int8, to_message_id int8, facts jsonb, model text, prompt_tokens int4, completion_tokens int4, created_at timestamptz",
    ),
    (
        "messages",
        "id int8, conversation_id uuid, role text, content text, created_at timestamptz",
    ),
    (
        "outcomes",
        "id int8, decision_id uuid, item_id uuid, terminal_status text, reached_at timestamptz, resolution_seconds float8, created_at timestamptz",
    ),
    (
        "patch_jobs",
        "id int8, conversation_id uuid, patch jsonb, character_id uuid, status text, attempts int4, max_attempts int4, error_kind text, last_error text, run_after timestamptz, lease_owner text, lease_until timestamptz, idempotency_key text, created_at timestamptz, updated_at timestamptz, finished_at timestamptz",
    ),
    (
        "queue_health",
        "job text, pending int8, due int8, processing int8, expired_leases int8, failed int8, dead int8, oldest_due_at timestamptz, oldest_due_age_seconds int8",
    ),
    (
        "schedule_ticks",
        "id int8, schedule_id uuid, slot timestamptz, status text, attempts int4, last_error text, created_at timestamptz, updated_at timestamptz",
    ),
];

async fn relation_names(db: &TestDb, kind: &str) -> Vec<String> {
    let rows = db
        .client
        .query(
            "select relname::text from pg_class
             where relnamespace = 'public'::regnamespace and relkind::text = $1 order by 1",
            &[&kind],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn migrations_apply_to_an_empty_database() {
    let mut db = TestDb::empty().await;
    db.bootstrap().await;
    db.migrate().await;
    assert_eq!(relation_names(&db, "r").await, sorted(TABLES));
    assert_eq!(relation_names(&db, "v").await, sorted(VIEWS));
}

#[tokio::test]
async fn template_holds_every_table_and_view() {
    let db = TestDb::new().await;
    assert_eq!(relation_names(&db, "r").await, sorted(TABLES));
    assert_eq!(relation_names(&db, "v").await, sorted(VIEWS));
}

#[tokio::test]
async fn columns_keep_their_documented_names_and_types() {
    let db = TestDb::new().await;
    let rows = db
        .client
        .query(
            "select table_name::text,
                    string_agg(column_name || ' ' || udt_name, ', ' order by ordinal_position)
             from information_schema.columns where table_schema = 'public'
             group by table_name order by table_name",
            &[],
        )
        .await
        .unwrap();
    let actual: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(String, String)> = COLUMNS
        .iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect();
    assert_eq!(actual, expected);
}

/// Runs `sql` and returns the SQLSTATE it failed with (panics if it succeeded).
async fn rejected(db: &TestDb, sql: &str) -> SqlState {
    match db.client.batch_execute(sql).await {
        Ok(()) => panic!("expected the schema to reject: {sql}"),
        Err(e) => e.code().cloned().unwrap_or_else(|| panic!("{sql}: {e}")),
    }
}

#[tokio::test]
async fn checks_reject_invalid_rows() {
    let db = TestDb::new().await;
    let conversation = testkit::factory::conversation(&db.client, Default::default()).await;
    // A patch job with one column set to `value` (SQL literal), everything else valid.
    let job = |column: &str, value: &str| {
        format!(
            "insert into patch_jobs (conversation_id, patch, {column})
             values ('{conversation}', '{{}}', {value})"
        )
    };
    let check = SqlState::CHECK_VIOLATION;
    assert_eq!(rejected(&db, &job("status", "'running'")).await, check);
    assert_eq!(
        rejected(&db, &job("status", "'processing'")).await,
        check,
        "processing needs a lease"
    );
    assert_eq!(
        rejected(&db, &job("status", "'done'")).await,
        check,
        "done needs finished_at"
    );
    assert_eq!(rejected(&db, &job("max_attempts", "0")).await, check);
    assert_eq!(rejected(&db, &job("error_kind", "'oops'")).await, check);
    let not_an_object =
        format!("insert into patch_jobs (conversation_id, patch) values ('{conversation}', '42')");
    assert_eq!(
        rejected(&db, &not_an_object).await,
        check,
        "a patch document is an object"
    );
    assert_eq!(
        rejected(
            &db,
            "insert into patch_jobs (conversation_id, patch) values (gen_random_uuid(), '{}')"
        )
        .await,
        SqlState::FOREIGN_KEY_VIOLATION
    );
    assert_eq!(rejected(&db, &format!("insert into messages (conversation_id, role, content) values ('{conversation}', 'robot', 'hi')")).await, check);
    assert_eq!(
        rejected(
            &db,
            "insert into items (title, status) values ('x', 'LOST')"
        )
        .await,
        check
    );
    assert_eq!(rejected(&db, "insert into character_schedules (character_id, kind, cron_expr) select id, 'tweet', '* * * * *' from characters limit 1").await, check);
    assert_eq!(rejected(&db, "insert into cron_runs (run_id, job, trigger) values (gen_random_uuid(), 'patch', 'cosmic_ray')").await, check);
    let decision = testkit::factory::decision(&db.client, Default::default()).await;
    assert_eq!(
        rejected(
            &db,
            &format!("update decisions set confidence = 1.5 where id = '{decision}'")
        )
        .await,
        check
    );
    assert_eq!(
        rejected(&db, &format!("insert into memories (conversation_id, character_id, from_message_id, to_message_id, summary) select id, character_id, 5, 4, 's' from conversations where id = '{conversation}'")).await,
        check
    );
}

#[tokio::test]
async fn unique_keys_make_duplicates_conflict() {
    let db = TestDb::new().await;
    let factory_job = testkit::factory::NewPatchJob {
        idempotency_key: Some("k1".into()),
        ..Default::default()
    };
    testkit::factory::patch_job(&db.client, factory_job.clone()).await;
    let conversation: uuid::Uuid = db
        .client
        .query_one("select conversation_id from patch_jobs", &[])
        .await
        .unwrap()
        .get(0);
    let dup = format!(
        "insert into patch_jobs (conversation_id, patch, idempotency_key) values ('{conversation}', '{{}}', 'k1')"
    );
    assert_eq!(rejected(&db, &dup).await, SqlState::UNIQUE_VIOLATION);

    let tick = testkit::factory::tick(&db.client, Default::default()).await;
    let dup = format!(
        "insert into schedule_ticks (schedule_id, slot) select schedule_id, slot from schedule_ticks where id = {tick}"
    );
    assert_eq!(rejected(&db, &dup).await, SqlState::UNIQUE_VIOLATION);

    let outcome = testkit::factory::outcome(&db.client, Default::default()).await;
    let dup = format!(
        "insert into outcomes (decision_id, item_id, terminal_status, reached_at, resolution_seconds) select decision_id, item_id, 'DONE', now(), 1 from outcomes where id = {outcome}"
    );
    assert_eq!(rejected(&db, &dup).await, SqlState::UNIQUE_VIOLATION);
}
