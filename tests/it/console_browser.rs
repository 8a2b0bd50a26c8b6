//! The console in a real browser: headless Chromium (Debian's) driven through the DevTools
//! protocol by playwright-core (`tests/browser/console.mjs`) signs in, requeues a dead patch
//! job, sees it pending, runs the patch job, sees it done, and signs out; the page loads
//! nothing from elsewhere and raises no error. The rows are then checked here.

use serde_json::json;
use testkit::TestEnv;
use testkit::factory::{self, NewPatchJob};

use crate::support::browser;
use crate::support::console::{SECRET, status_function};

#[tokio::test]
async fn an_operator_signs_in_requeues_a_dead_job_runs_the_patch_job_and_signs_out_in_chromium() {
    const TEST: &str = "console_browser";
    if !browser::tools(TEST) {
        return;
    }
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let dead = factory::patch_job(
        db,
        NewPatchJob {
            patch: json!({"conversation": {"mood": "cosy"}}),
            status: "dead".into(),
            attempts: 25,
            error_kind: Some("conflict".into()),
            last_error: Some("conflicts on every retry".into()),
            ..Default::default()
        },
    )
    .await;
    let function = status_function(&env);
    let output = tokio::process::Command::new("node")
        .arg(browser::project().join("console.mjs"))
        .args(["walk", &function.url, SECRET, &dead.to_string()])
        .env("CHROMIUM", browser::chromium())
        .output()
        .await
        .expect("node runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "the browser walk failed:\n{printed}"
    );
    for step in [
        "ok: signed in",
        "ok: the job is pending",
        "ok: the run notice",
        "ok: the job is done",
        "ok: signed out",
    ] {
        assert!(printed.contains(step), "{step}:\n{printed}");
    }

    let state = db
        .query_one(
            "select j.status, s.state->>'mood' from patch_jobs j
             join conversation_states s using (conversation_id) where j.id = $1",
            &[&dead],
        )
        .await
        .unwrap();
    assert_eq!(
        (state.get::<_, String>(0), state.get::<_, Option<String>>(1)),
        ("done".into(), Some("cosy".into()))
    );
    let runs = db
        .query(
            "select trigger, status from cron_runs where job = 'patch'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].get::<_, String>(0), runs[0].get::<_, String>(1)),
        ("manual".into(), "ok".into())
    );
    let audit: Vec<(String, String, i32)> = db
        .query(
            "select action, outcome, rows from console_actions order by id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        audit,
        [
            ("sign_in".into(), "done".into(), 0),
            ("requeue_dead_patch_jobs".into(), "done".into(), 1),
            ("run_job_now".into(), "done".into(), 1),
            ("sign_out".into(), "done".into(), 0),
        ]
    );
    let log = function.finish();
    assert!(!log.contains(SECRET), "{log}");
}
