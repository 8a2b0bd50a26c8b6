//! `supacron check` (the real binary) with only `SUPABASE_URL` and the service-role key, against
//! real PostgreSQL through the dev server's OpenAPI description: a ready database (exit 0), an
//! empty one (every missing object named), one with a missing column, one where anon can read
//! `patch_jobs` (exit 1 each), an unreachable project (exit 3) and no key (exit 2); private
//! functions (`SUPACRON_PRIVATE_FUNCTIONS`) against `vercel.json`'s `schedule/v1beta`
//! triggers; and the Rust contract equals the database's `supacron_app_contract()`.

use supacron::check::contract::{APP_COLUMNS, SCHEMA_VERSION, needs};
use supacron::check::{EXIT_NOT_READY, EXIT_READY, EXIT_UNREACHABLE, EXIT_USAGE};
use testkit::{TestDb, TestEnv};

use crate::support::front_door::{SECRET, config, request};
use crate::support::supacron::{RunOutput, borrowed, run};

/// `supacron check` against a server over `db`, with only the Supabase variables.
async fn check_on(db: TestDb) -> RunOutput {
    check_with(&TestEnv::start_on(db).await, &["check"], &[]).await
}

/// `supacron <args>` against `test`'s server, with the Supabase variables and `extra`.
async fn check_with(test: &TestEnv, args: &[&str], extra: &[(&'static str, &str)]) -> RunOutput {
    let mut env = vec![
        ("SUPABASE_URL", test.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", test.secret_key.clone()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    run(args, &borrowed(&env)).await
}

/// A `vercel.json` where only the memory job's function has the `schedule/v1beta` trigger.
const MEMORY_PRIVATE: &str = r#"{
  "crons": [{"path": "/api/cron/patch", "schedule": "*/2 * * * *"}],
  "schedules": [{"name": "cron-memory", "schedule": "*/10 * * * *", "function": "api/cron/memory"}],
  "functions": {"api/cron/memory.rs": {"maxDuration": 300, "experimentalTriggers": [{"type": "schedule/v1beta"}]}}
}"#;

#[tokio::test]
async fn private_functions_must_match_the_triggers_of_vercel_json() {
    let dir = std::env::temp_dir().join(format!("supacron-check-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vercel.json");
    std::fs::write(&file, MEMORY_PRIVATE).unwrap();
    let path = file.to_str().unwrap();
    let args = ["check", "--vercel-json", path];
    let test = TestEnv::start_on(TestDb::new().await).await;

    // memory is private and has its trigger: ready, with a note saying so.
    let output = check_with(&test, &args, &[("SUPACRON_PRIVATE_FUNCTIONS", "memory")]).await;
    assert_eq!(output.code, i32::from(EXIT_READY), "{}", output.stdout);
    assert!(
        output.stdout.contains(&format!(
            "note: private functions: memory (SUPACRON_PRIVATE_FUNCTIONS, with the schedule/v1beta trigger in {path})"
        )),
        "{}",
        output.stdout
    );

    // patch named private without its trigger: a public function that would run for anyone.
    let output = check_with(
        &test,
        &args,
        &[("SUPACRON_PRIVATE_FUNCTIONS", "memory,patch")],
    )
    .await;
    assert_eq!(output.code, i32::from(EXIT_NOT_READY), "{}", output.stdout);
    let found = errors(&output);
    assert_eq!(found.len(), 1, "{}", output.stdout);
    assert!(
        found[0].starts_with(&format!(
            "error: SUPACRON_PRIVATE_FUNCTIONS names `patch`, but {path} does not declare `\"functions\": {{\"api/cron/patch.rs\": {{\"experimentalTriggers\": [{{\"type\": \"schedule/v1beta\"}}]}}}}`"
        )),
        "{}",
        output.stdout
    );

    // The trigger without the variable naming memory: its dispatches would be refused.
    let output = check_with(&test, &args, &[("SUPACRON_PRIVATE_FUNCTIONS", "schedule")]).await;
    assert_eq!(output.code, i32::from(EXIT_NOT_READY), "{}", output.stdout);
    assert!(
        errors(&output).iter().any(|e| e.contains(
            "declares the schedule/v1beta trigger for api/cron/memory.rs, but SUPACRON_PRIVATE_FUNCTIONS does not name `memory`"
        )),
        "{}",
        output.stdout
    );

    // A schedule Vercel would refuse is an error too (here: jitter over the 2-minute gap).
    let refused = dir.join("jitter.json");
    std::fs::write(
        &refused,
        r#"{"schedules": [{"path": "/api/cron/patch", "schedule": "*/2 * * * *", "jitter": 3}]}"#,
    )
    .unwrap();
    let output = check_with(
        &test,
        &["check", "--vercel-json", refused.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(output.code, i32::from(EXIT_NOT_READY), "{}", output.stdout);
    assert!(
        errors(&output).iter().any(|e| e.contains(
            "schedule of `/api/cron/patch`: jitter 3 min is longer than the shortest gap between its firings (2 min)"
        )),
        "{}",
        output.stdout
    );

    // A vercel.json that cannot be read is a usage error naming the file.
    let missing = dir.join("nope.json");
    let output = check_with(
        &test,
        &["check", "--vercel-json", missing.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(output.code, i32::from(EXIT_USAGE), "{}", output.stdout);
    assert!(output.stdout.contains("cannot read"), "{}", output.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn errors(output: &RunOutput) -> Vec<&str> {
    output
        .stdout
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect()
}

#[tokio::test]
async fn a_ready_database_passes_with_exit_0() {
    let output = check_on(TestDb::new().await).await;
    assert_eq!(
        output.code,
        i32::from(EXIT_READY),
        "{}\n{}",
        output.stdout,
        output.stderr
    );
    assert!(errors(&output).is_empty(), "{}", output.stdout);
    assert!(
        output.stdout.contains(&format!(
            "note: schema version {SCHEMA_VERSION}: what this binary expects"
        )),
        "{}",
        output.stdout
    );
    // Variables the deployment sets in Vercel are notes here, not errors.
    assert!(
        output.stdout.contains(
            "note: MINIMAX_API_KEY is not set here: set it in Vercel (Production) before deploying; the memory, schedule jobs need it"
        ),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .ends_with("supacron check: ready: every job can run on this project\n"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn an_empty_database_names_every_missing_object() {
    let mut db = TestDb::empty().await;
    db.bootstrap().await;
    let output = check_on(db).await;
    assert_eq!(output.code, i32::from(EXIT_NOT_READY), "{}", output.stdout);
    let text = &output.stdout;
    assert!(
        text.contains("error: schema version unknown (supacron_schema_version() missing"),
        "{text}"
    );
    for job in supacron::Job::ALL
        .iter()
        .map(|j| Some(*j))
        .chain(std::iter::once(None))
    {
        let needs = needs(job);
        for table in needs.tables.iter().chain(needs.views) {
            assert!(
                text.contains(&format!("error: table or view {table} missing: apply the migrations up to {SCHEMA_VERSION}")),
                "{table} not named:\n{text}"
            );
        }
        for function in needs.functions {
            assert!(
                text.contains(&format!("error: function {function}() missing: apply")),
                "{function} not named:\n{text}"
            );
        }
    }
    for table in ["patch_jobs", "conversation_states", "decisions", "messages"] {
        assert!(
            text.contains(&format!("error: table {table} missing: apply the migrations up to {SCHEMA_VERSION} (supabase/migrations: `supabase db push`): it creates it")),
            "{table}:\n{text}"
        );
    }
    assert!(
        text.contains("error: anon / authenticated access cannot be checked"),
        "{text}"
    );
    assert!(text.contains("supacron check: not ready:"), "{text}");
}

#[tokio::test]
async fn a_missing_column_is_named_with_what_to_do() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "alter table patch_jobs drop column lease_owner;
             alter table decisions drop column decided_at cascade;
             alter table conversation_states drop constraint conversation_states_version_check,
                 alter column version type text;",
        )
        .await
        .unwrap();
    let output = check_on(db).await;
    assert_eq!(output.code, i32::from(EXIT_NOT_READY), "{}", output.stdout);
    let errors = errors(&output);
    assert_eq!(
        errors,
        [
            format!(
                "error: conversation_states.version is text, needs int8 or int4: change the column's type (docs/app-contract.md); the patch job needs it"
            ),
            format!(
                "error: decisions.decided_at missing: add it to your table (timestamptz; docs/app-contract.md), then apply the migrations; the outcomes, rewards jobs need it"
            ),
            format!(
                "error: patch_jobs.lease_owner missing: apply the migrations up to {SCHEMA_VERSION} (supabase/migrations: `supabase db push`): it adds it; the patch job needs it"
            ),
        ],
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn anon_reading_patch_jobs_is_an_error() {
    let db = TestDb::new().await;
    db.client
        .batch_execute(
            "grant select on patch_jobs to anon;
             grant execute on function claim_patch_batch(text, integer, integer, timestamptz) to authenticated;",
        )
        .await
        .unwrap();
    let output = check_on(db).await;
    assert_eq!(output.code, i32::from(EXIT_NOT_READY), "{}", output.stdout);
    assert_eq!(
        errors(&output),
        [
            "error: claim_patch_batch: authenticated can EXECUTE (supacron's data is for the service role only): revoke all on function public.claim_patch_batch from public, anon, authenticated",
            "error: patch_jobs: anon can SELECT (supacron's data is for the service role only): revoke all on table public.patch_jobs from public, anon, authenticated",
        ],
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn no_key_is_a_usage_error_and_an_unreachable_project_exit_3() {
    let output = run(
        &["check"],
        &[("SUPABASE_URL", "http://127.0.0.1:9/rest/v1")],
    )
    .await;
    assert_eq!(output.code, i32::from(EXIT_USAGE), "{}", output.stdout);
    assert!(
        output.stdout.contains("SUPABASE_SERVICE_ROLE_KEY"),
        "{}",
        output.stdout
    );
    let output = run(
        &["check"],
        &[
            ("SUPABASE_URL", "http://127.0.0.1:9/rest/v1"),
            ("SUPABASE_SERVICE_ROLE_KEY", testkit::SECRET_API_KEY),
        ],
    )
    .await;
    assert_eq!(
        output.code,
        i32::from(EXIT_UNREACHABLE),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("supacron check: could not check this project"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn the_rust_contract_is_the_databases() {
    let db = TestDb::new().await;
    let rows = db
        .client
        .query(
            "select table_name, column_name, types, added is not null, jobs from supacron_app_contract()",
            &[],
        )
        .await
        .unwrap();
    let sql: Vec<(String, String, Vec<String>, bool, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let rust: Vec<(String, String, Vec<String>, bool, String)> = APP_COLUMNS
        .iter()
        .map(|c| {
            (
                c.table.to_string(),
                c.column.to_string(),
                c.types.iter().map(|t| t.to_string()).collect(),
                c.added,
                c.jobs.to_string(),
            )
        })
        .collect();
    assert_eq!(
        rust, sql,
        "src/check/contract.rs APP_COLUMNS must equal supacron_app_contract()"
    );
}

#[tokio::test]
async fn the_status_function_answers_the_check_with_check_1() {
    use http::Method;
    use supacron::function::{handle, status};
    let db = TestDb::new().await;
    db.client
        .batch_execute("grant select on patch_jobs to anon")
        .await
        .unwrap();
    let env = TestEnv::start_on(db).await;
    let response = handle(
        status::FUNCTION,
        request(Method::GET, "/api/cron/status?check=1", Some(SECRET), false),
        &config(&env, &[]),
    )
    .await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    let body: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(body["ready"], false, "{body}");
    assert_eq!(body["schema_version_expected"], SCHEMA_VERSION);
    let findings = body["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["severity"] == "error"
            && f["finding"]
                .as_str()
                .unwrap()
                .starts_with("patch_jobs: anon can SELECT")),
        "{body}"
    );
    // Without the secret: the API's 401, nothing checked.
    let response = handle(
        status::FUNCTION,
        request(Method::GET, "/api/cron/status?check=1", None, false),
        &config(&env, &[]),
    )
    .await;
    assert_eq!(response.status.as_u16(), 401, "{}", response.body);
}
