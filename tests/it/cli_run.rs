//! `supacron run <job>`: one in-process run, the function's JSON answer on stdout, logs on
//! stderr, and an exit code a crontab can act on — 0 completed, 1 could not, 2 usage.

use testkit::TestEnv;

use crate::support::patch::jobs_with_status;
use crate::support::supacron::{borrowed, run, run_in};

/// A database with the demo seed behind the dev server; no `CRON_SECRET` on purpose: an
/// in-process run is trusted.
async fn seeded() -> TestEnv {
    let mut env = TestEnv::start().await;
    env.db.seed().await;
    env
}

fn env(test: &TestEnv) -> Vec<(&'static str, String)> {
    vec![
        ("SUPABASE_URL", test.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", test.secret_key.clone()),
    ]
}

#[tokio::test]
async fn a_completed_run_prints_its_answer_and_exits_0() {
    let test = seeded().await;
    let env = env(&test);
    let output = run(&["run", "patch"], &borrowed(&env)).await;
    assert_eq!(output.code, 0, "{}\n{}", output.stdout, output.stderr);
    let answer = output.answer();
    assert_eq!(answer["job"], "patch");
    assert_eq!(answer["dry_run"], false);
    // The seed's queue: 9 jobs apply, its malformed job is dead, one is not due yet.
    assert_eq!(answer["ok_count"], 9, "{answer}");
    assert_eq!(answer["dead_count"], 1, "{answer}");
    assert_eq!(
        answer["status"], "partial",
        "a dead job makes the run partial"
    );
    assert_eq!(
        output.stdout.lines().count(),
        1,
        "only the answer on stdout"
    );
    assert!(
        output.stderr.contains("\"trigger\":\"manual\""),
        "the run's log line is on stderr: {}",
        output.stderr
    );
    let done = jobs_with_status(&test.db.client, "done").await;
    assert_eq!(done, 9);
    // Recorded in the run history like a function invocation, as a manual run.
    let run = test
        .db
        .client
        .query_one(
            "select run_id::text, trigger, status from cron_runs where job = 'patch'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(run.get::<_, String>(0), answer["run_id"].as_str().unwrap());
    assert_eq!(run.get::<_, String>(1), "manual");
    assert_eq!(run.get::<_, String>(2), "partial");
}

#[tokio::test]
async fn seed_002_names_and_dry_runs_work() {
    let test = seeded().await;
    let env = env(&test);
    let outcomes = run(&["run", "--job=outcomes"], &borrowed(&env)).await;
    assert_eq!(outcomes.code, 0, "{}", outcomes.stderr);
    assert_eq!(outcomes.answer()["job"], "outcomes");
    let pending: i64 = test
        .db
        .client
        .query_one(
            "select count(*) from decisions d join outcomes o on o.decision_id = d.id where d.reward is null",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for args in [
        &["run", "rewards", "--dry-run"][..],
        &["run", "--job=calculate-pending", "--dry-run"],
        &["run", "/api/training/calculate-pending", "--dry-run"],
    ] {
        let output = run(args, &borrowed(&env)).await;
        assert_eq!(output.code, 0, "{args:?}: {}", output.stderr);
        let answer = output.answer();
        assert_eq!(answer["job"], "rewards", "{args:?}");
        assert_eq!(answer["dry_run"], true, "{args:?}");
        assert_eq!(answer["remaining"], pending, "{args:?}: {answer}");
    }
    let rewards = run(&["run", "--job=rewards"], &borrowed(&env)).await;
    assert_eq!(rewards.code, 0, "{}", rewards.stderr);
    let answer = rewards.answer();
    // The seed holds one decision with an action the reward function does not know.
    assert_eq!(answer["processed"], pending, "{answer}");
    assert_eq!(answer["failed_count"], 1, "{answer}");
    assert_eq!(answer["ok_count"], pending - 1, "{answer}");
}

#[tokio::test]
async fn an_unreachable_supabase_exits_non_zero_with_the_503_answer() {
    let env = [
        ("SUPABASE_URL", "http://127.0.0.1:9"),
        ("SUPABASE_SERVICE_ROLE_KEY", "sb_secret_unreachable-key-1"),
        ("SUPABASE_TIMEOUT_SECS", "2"),
    ];
    let output = run(&["run", "outcomes"], &env).await;
    assert_eq!(output.code, 1, "{}\n{}", output.stdout, output.stderr);
    let answer = output.answer();
    assert_eq!(answer["error"], "supabase_unavailable", "{answer}");
    assert!(!output.stdout.contains("unreachable-key-1"));
    assert!(!output.stderr.contains("unreachable-key-1"));
}

#[tokio::test]
async fn missing_configuration_exits_non_zero_naming_the_variables() {
    let output = run(&["run", "patch"], &[]).await;
    assert_eq!(output.code, 1);
    let message = output.answer()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("SUPABASE_URL") && message.contains("SUPABASE_SERVICE_ROLE_KEY"),
        "{message}"
    );
    assert!(
        !message.contains("CRON_SECRET"),
        "in-process runs need no secret: {message}"
    );
}

#[tokio::test]
async fn an_unknown_job_is_a_usage_error_and_runs_nothing() {
    for args in [
        &["run", "teleport"][..],
        &["run"],
        &["run", "--job", "nope"],
    ] {
        let output = run(args, &[]).await;
        assert_eq!(output.code, 2, "{args:?}: {}", output.stderr);
        assert!(output.stdout.is_empty(), "{args:?}: {}", output.stdout);
        assert!(
            output
                .stderr
                .contains("patch, memory, schedule, outcomes, rewards"),
            "{args:?}: {}",
            output.stderr
        );
    }
    let output = run(&["frobnicate"], &[]).await;
    assert_eq!(output.code, 2);
}

#[tokio::test]
async fn a_crontab_run_with_scheduled_is_recorded_as_a_scheduler_run() {
    let test = seeded().await;
    let env = env(&test);
    let output = run(&["run", "patch", "--scheduled"], &borrowed(&env)).await;
    assert_eq!(output.code, 0, "{}", output.stderr);
    let trigger: String = test
        .db
        .client
        .query_one("select trigger from cron_runs where job = 'patch'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        trigger, "scheduler",
        "the status page's missing-tick check counts it"
    );
}

/// A fresh working directory holding `dotenv` as its `.env`.
fn dir_with_dotenv(dotenv: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("supacron-dotenv-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), dotenv).unwrap();
    dir
}

#[tokio::test]
async fn run_reads_dotenv_from_the_working_directory_and_the_environment_wins() {
    let test = seeded().await;
    let dir = dir_with_dotenv(&format!(
        "# copied from .env.example\nSUPABASE_URL=http://127.0.0.1:9\n\
         SUPABASE_SERVICE_ROLE_KEY={}\nSUPABASE_TIMEOUT_SECS=2\n",
        test.secret_key
    ));
    // The key comes from .env; the URL set in the environment wins over .env's.
    let url = test.rest_url();
    let output = run_in(
        &dir,
        &["run", "outcomes"],
        &[("SUPABASE_URL", url.as_str())],
    )
    .await;
    assert_eq!(output.code, 0, "{}\n{}", output.stdout, output.stderr);
    // Only .env: its (unreachable) URL is the one used.
    let output = run_in(&dir, &["run", "outcomes"], &[]).await;
    assert_eq!(output.code, 1, "{}", output.stdout);
    assert_eq!(output.answer()["error"], "supabase_unavailable");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_malformed_dotenv_is_refused_without_quoting_it() {
    let dir =
        dir_with_dotenv("SUPABASE_SERVICE_ROLE_KEY=sb_secret_do-not-print\nnot a setting at all\n");
    let output = run_in(&dir, &["run", "patch"], &[]).await;
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(output.stdout.is_empty(), "nothing ran: {}", output.stdout);
    assert!(
        output.stderr.contains("./.env has a line"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("do-not-print"), "{}", output.stderr);
    assert!(
        !output.stderr.contains("not a setting"),
        "{}",
        output.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}
