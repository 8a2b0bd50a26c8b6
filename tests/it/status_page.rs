//! The status function: the same front door as the jobs (credentials, methods), JSON of
//! both views with a verdict per job, and a page that is well-formed, self-contained,
//! escapes every value from the database and shows a failing job in red.

use chrono::{Duration, Utc};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use supacron::function::{handle, status};
use testkit::TestEnv;
use testkit::factory::{self, NewCronRun, NewPatchJob};

use crate::support::front_door::{SECRET, config, request};
use crate::support::function_process::{FunctionProcess, STATUS, send};

const HOSTILE: &str = r#"<script>alert("pwned")</script> & 'quoted' <img src=x onerror=alert(1)>"#;

/// A database where patch's last scheduled run failed with a hostile error text, other
/// jobs ran fine, a dead job carries a hostile `last_error`, and an unknown job name is
/// itself markup.
async fn prepared() -> TestEnv {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    db.execute(
        "update cron_schedules set created_at = now() - interval '2 days'",
        &[],
    )
    .await
    .unwrap();
    let run = |job: &str, status: &str, minutes_ago: i64| NewCronRun {
        job: job.into(),
        trigger: "vercel_cron".into(),
        status: status.into(),
        started_at: Some(Utc::now() - Duration::minutes(minutes_ago)),
        finished_at: Some(Utc::now() - Duration::minutes(minutes_ago)),
        error: (status == "error").then(|| format!("supabase_error: {HOSTILE}")),
        ..Default::default()
    };
    for minutes_ago in (1..600).step_by(2) {
        factory::cron_run(
            db,
            run(
                "patch",
                if minutes_ago == 1 { "error" } else { "ok" },
                minutes_ago,
            ),
        )
        .await;
    }
    factory::cron_run(db, run("outcomes", "ok", 3)).await;
    factory::cron_run(db, run("<b>evil</b>", "partial", 30)).await;
    factory::patch_job(
        db,
        NewPatchJob {
            status: "dead".into(),
            error_kind: Some("permanent".into()),
            last_error: Some(HOSTILE.into()),
            ..Default::default()
        },
    )
    .await;
    env
}

#[tokio::test]
async fn the_function_answers_json_with_both_views_and_a_tile_per_job_to_the_cron_secret_only() {
    let env = prepared().await;
    let url = env.rest_url();
    let vars = [
        ("CRON_SECRET", SECRET),
        ("SUPABASE_URL", url.as_str()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.as_str()),
    ];
    let function = FunctionProcess::start(STATUS.1, STATUS.0, &vars);
    let client = reqwest::Client::new();
    let answer = send(
        client
            .get(&function.url)
            .header("Authorization", format!("Bearer {SECRET}")),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = &answer.body;
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "cron_run_summary",
            "dead_jobs",
            "generated_at",
            "llm_spend",
            "queue_health",
            "tiles"
        ]
    );
    let jobs = |key: &str| -> Vec<String> {
        body[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["job"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        jobs("tiles"),
        [
            "patch",
            "memory",
            "schedule",
            "outcomes",
            "rewards",
            "<b>evil</b>"
        ]
    );
    assert_eq!(
        jobs("queue_health"),
        ["patch", "memory", "schedule", "outcomes", "rewards"]
    );
    assert_eq!(jobs("cron_run_summary").len(), 6);
    let patch = body["cron_run_summary"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["job"] == "patch")
        .unwrap();
    for key in [
        "last_run_id",
        "last_status",
        "last_started_at",
        "last_error",
        "last_success_at",
        "runs_24h",
        "failures_24h",
        "p50_duration_ms_24h",
        "p95_duration_ms_24h",
        "last_expected_tick",
        "last_tick_missing",
    ] {
        assert!(patch.get(key).is_some(), "cron_run_summary.{key}");
    }
    assert_eq!(
        (&patch["last_status"], &patch["runs_24h"]),
        (&json!("error"), &json!(300))
    );
    let tile = &body["tiles"][0];
    assert_eq!(
        (&tile["job"], &tile["level"]),
        (&json!("patch"), &json!("red"))
    );
    assert_eq!(body["dead_jobs"][0]["last_error"], HOSTILE);

    let html = client
        .get(&function.url)
        .header("Authorization", format!("Bearer {SECRET}"))
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    assert!(html.text().await.unwrap().starts_with("<!DOCTYPE html>"));

    let wrong = send(
        client
            .get(&function.url)
            .header("Authorization", "Bearer not-the-secret-123"),
    )
    .await;
    assert_eq!(
        (wrong.status, &wrong.body),
        (401, &json!({"error": "unauthorized"}))
    );
    let put = send(
        client
            .put(&function.url)
            .header("Authorization", format!("Bearer {SECRET}")),
    )
    .await;
    assert_eq!(put.status, 405);
    let runs: i64 = env
        .db
        .client
        .query_one("select count(*) from cron_runs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(runs, 302, "looking at the status is not a run");
    let log = function.finish();
    assert!(
        !log.contains(SECRET) && !log.contains(&env.service_key),
        "{log}"
    );
}

#[tokio::test]
async fn the_page_is_well_formed_self_contained_escaped_and_shows_the_failing_job_in_red() {
    let env = prepared().await;
    let mut browser = request(Method::GET, "/api/cron/status", Some(SECRET), false);
    browser
        .headers
        .insert("accept", HeaderValue::from_static("text/html,*/*;q=0.8"));
    let response = handle(status::FUNCTION, browser, &config(&env, &[])).await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.body);
    let csp = response.headers["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(response.headers["referrer-policy"], "no-referrer");
    let page = &response.body;

    let xml = page
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("an HTML5 doctype first");
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not well-formed: {e}"));
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(
            ![
                "script", "link", "img", "iframe", "object", "embed", "base", "form"
            ]
            .contains(&name),
            "no <{name}> on a self-contained page"
        );
        for attribute in node.attributes() {
            let attr = attribute.name();
            assert!(
                !["src", "href", "srcset", "action"].contains(&attr) && !attr.starts_with("on"),
                "<{name} {attr}>"
            );
        }
    }
    assert!(
        !page.contains("http:") && !page.contains("https:") && !page.contains("url("),
        "no external URL"
    );
    assert!(
        !page.contains("<script") && !page.contains("<b>evil"),
        "database values are escaped"
    );

    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        text.contains(HOSTILE),
        "the dead job's last_error is shown as text"
    );
    let tile = |job: &str| {
        doc.descendants()
            .find(|n| n.attribute("data-job") == Some(job))
            .unwrap_or_else(|| panic!("no tile for {job}"))
    };
    let patch = tile("patch");
    assert_eq!(patch.attribute("data-level"), Some("red"));
    assert!(
        patch
            .attribute("class")
            .unwrap()
            .split(' ')
            .any(|c| c == "red")
    );
    let patch_text: String = patch.descendants().filter_map(|n| n.text()).collect();
    assert!(
        patch_text.contains("last run failed") && patch_text.contains("<script>alert"),
        "{patch_text}"
    );
    assert_eq!(tile("outcomes").attribute("data-level"), Some("green"));
    assert_eq!(
        tile("memory").attribute("data-level"),
        Some("red"),
        "no run for its last tick"
    );
    assert_eq!(tile("<b>evil</b>").attribute("data-level"), Some("amber"));

    let svg = doc
        .descendants()
        .find(|n| n.tag_name().name() == "svg")
        .expect("an inline SVG timeline");
    let marks = |class: &str| {
        svg.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .count()
    };
    assert_eq!(
        (marks("ok"), marks("error"), marks("partial")),
        (299 + 1, 1, 1)
    );
}

#[tokio::test]
async fn without_supabase_configured_the_status_names_the_missing_variables() {
    let env = TestEnv::start().await;
    let config = supacron::config::Config::from_lookup(|name| {
        (name == "CRON_SECRET").then(|| SECRET.to_string())
    });
    let response = handle(
        status::FUNCTION,
        request(Method::GET, "/api/cron/status", Some(SECRET), false),
        &config,
    )
    .await;
    let body: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(response.status.as_u16(), 500);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("SUPABASE_URL") && message.contains("SUPABASE_SERVICE_ROLE_KEY"),
        "{message}"
    );
    drop(env);
}
