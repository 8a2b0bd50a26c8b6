//! Helpers for the patch pipeline tests: a client for a test environment, in-process
//! runs, bulk fixtures, and reading back what the runs did.

use std::time::Duration;

use serde_json::{Value, json};
use supacron::Job;
use supacron::config::SupabaseConfig;
use supacron::invocation::{RunContext, RunSummary, Trigger};
use supacron::jobs::patch::{self, PatchSettings};
use supacron::secret::Secret;
use supacron::supabase::Supabase;
use testkit::TestEnv;
use uuid::Uuid;

/// A Supabase client for the test environment's server, with the service key.
pub fn supabase(env: &TestEnv) -> Supabase {
    Supabase::new(&SupabaseConfig {
        rest_url: env.rest_url(),
        key: Secret::new(env.service_key.clone()),
        timeout: Duration::from_secs(30),
    })
}

/// Production settings, with a 1 ms conflict backoff so tests stay fast.
pub fn settings() -> PatchSettings {
    PatchSettings {
        batch_size: 100,
        conflict_retries: 5,
        conflict_backoff: Duration::from_millis(1),
        now: None,
    }
}

/// One in-process run of the patch job (the same code the function runs).
pub async fn run(env: &TestEnv, settings: &PatchSettings, budget: Duration) -> RunSummary {
    let ctx = RunContext::new(Uuid::new_v4(), Job::Patch, Trigger::Manual, false, budget);
    patch::run(&ctx, &supabase(env), settings)
        .await
        .expect("patch run completes")
}

/// Creates `characters` characters, `conversations` conversations (round-robin over the
/// characters) and `jobs` jobs (round-robin over the conversations, ids in order of `n`).
/// Every state starts as `{"log": []}`. Job `n`'s patch appends `n` to its conversation's
/// log (and, for even `n`, to its character's log) with RFC 6902, or, for every third
/// `n`, sets `last` and `k<n % 7>` with an RFC 7396 merge patch.
pub async fn bulk_jobs(env: &TestEnv, characters: i64, conversations: i64, jobs: i64) {
    env.db
        .client
        .batch_execute(&format!(
            "insert into characters (name) select 'bulk ' || k from generate_series(0, {characters} - 1) k;
             insert into conversations (character_id, title)
               select c.id, 'bulk ' || g from generate_series(0, {conversations} - 1) g
               join characters c on c.name = 'bulk ' || (g % {characters});
             update conversation_states set state = '{{\"log\": []}}';
             update character_states set state = '{{\"log\": []}}';
             insert into patch_jobs (conversation_id, patch)
               select cv.id,
                      case when g % 3 = 2 then jsonb_build_object('conversation',
                               jsonb_build_object('last', g, 'k' || (g % 7), g))
                           when g % 2 = 0 then jsonb_build_object(
                               'conversation', jsonb_build_array(jsonb_build_object('op', 'add', 'path', '/log/-', 'value', g)),
                               'character', jsonb_build_array(jsonb_build_object('op', 'add', 'path', '/log/-', 'value', g)))
                           else jsonb_build_object(
                               'conversation', jsonb_build_array(jsonb_build_object('op', 'add', 'path', '/log/-', 'value', g)))
                      end
               from generate_series(0, {jobs} - 1) g
               join conversations cv on cv.title = 'bulk ' || (g % {conversations})
               order by g;"
        ))
        .await
        .expect("bulk fixtures");
}

/// Checks that every job of [`bulk_jobs`] took effect exactly once and in order: each
/// conversation's state is the fold of its jobs in id order, each character's log holds
/// each of its jobs' values exactly once (in id order per conversation), every ledger
/// holds exactly the jobs that touched its row, and every job is `done`.
pub async fn assert_bulk_applied_exactly_once(
    env: &TestEnv,
    characters: i64,
    conversations: i64,
    jobs: i64,
) {
    let client = &env.db.client;
    let open: i64 = client
        .query_one(
            "select count(*) from patch_jobs where status <> 'done'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, 0, "every job done: {:?}", status_counts(env).await);
    let conv_rows = client
        .query(
            "select substring(c.title from 6)::bigint, s.state, s.run_state from conversations c
             join conversation_states s on s.conversation_id = c.id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(conv_rows.len() as i64, conversations);
    for row in conv_rows {
        let (n, state, run_state): (i64, Value, Value) = (row.get(0), row.get(1), row.get(2));
        let mine: Vec<i64> = (0..jobs).filter(|g| g % conversations == n).collect();
        let log: Vec<i64> = mine.iter().copied().filter(|g| g % 3 != 2).collect();
        let mut expected = json!({ "log": log });
        for g in mine.iter().filter(|g| *g % 3 == 2) {
            expected["last"] = json!(g);
            expected[format!("k{}", g % 7)] = json!(g);
        }
        assert_eq!(state, expected, "conversation #{n}");
        assert_eq!(
            run_state["applied_patch_job_ids"].as_array().map(Vec::len),
            Some(mine.len()),
            "ledger #{n}"
        );
    }
    let char_rows = client
        .query(
            "select substring(c.name from 6)::bigint, s.state from characters c
             join character_states s on s.character_id = c.id",
            &[],
        )
        .await
        .unwrap();
    for row in char_rows {
        let (n, state): (i64, Value) = (row.get(0), row.get(1));
        let mut log: Vec<i64> = state["log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        for conversation in (0..conversations).filter(|c| c % characters == n) {
            let order: Vec<i64> = log
                .iter()
                .copied()
                .filter(|g| g % conversations == conversation)
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "character #{n}: conversation order {order:?}"
            );
        }
        log.sort();
        let expected: Vec<i64> = (0..jobs)
            .filter(|g| g % 3 != 2 && g % 2 == 0 && (g % conversations) % characters == n)
            .collect();
        assert_eq!(log, expected, "character #{n}: each job exactly once");
    }
}

/// How many patch jobs have `status`.
pub async fn jobs_with_status(db: &tokio_postgres::Client, status: &str) -> i64 {
    db.query_one(
        "select count(*) from patch_jobs where status = $1",
        &[&status],
    )
    .await
    .unwrap()
    .get(0)
}

/// `status -> count` of all jobs.
pub async fn status_counts(env: &TestEnv) -> Vec<(String, i64)> {
    let rows = env
        .db
        .client
        .query(
            "select status, count(*) from patch_jobs group by 1 order by 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}
