//! `supacron serve` answers every function path exactly as the function binaries do:
//! the same statuses, headers and bodies for the same requests (credentials, methods,
//! dry runs against a real database), and a JSON 404 for anything else.

use reqwest::{Client, Method, RequestBuilder};
use serde_json::Value;
use testkit::TestEnv;

use crate::support::function_process::{Answer, FUNCTIONS, FunctionProcess, STATUS, send};
use crate::support::supacron::{Supacron, borrowed};

const SECRET: &str = "serve-Secret-value-2718";
const INTERNAL_KEY: &str = "serve-internal-key-3141";

fn env(test: &TestEnv) -> Vec<(&'static str, String)> {
    vec![
        ("CRON_SECRET", SECRET.into()),
        ("INTERNAL_API_KEY", INTERNAL_KEY.into()),
        ("SUPABASE_URL", test.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", test.secret_key.clone()),
        ("SUPACRON_LLM_PROVIDER", "offline".into()),
    ]
}

/// The requests of the auth matrix, by name, for a function at `url`.
fn matrix(client: &Client, url: &str) -> Vec<(&'static str, RequestBuilder)> {
    vec![
        (
            "bearer",
            client
                .get(format!("{url}?dry_run=1"))
                .header("Authorization", format!("Bearer {SECRET}")),
        ),
        (
            "x-cron-secret",
            client
                .post(format!("{url}?dry_run=1"))
                .header("x-cron-secret", SECRET),
        ),
        (
            "query secret",
            client.get(format!("{url}?secret={SECRET}&dry_run=1")),
        ),
        (
            "internal key",
            client
                .post(format!("{url}?dry_run=1"))
                .header("x-internal-api-key", INTERNAL_KEY),
        ),
        ("no credential", client.get(url)),
        (
            "wrong bearer",
            client.get(url).header("Authorization", "Bearer nope"),
        ),
        (
            "lowercase scheme",
            client
                .get(url)
                .header("Authorization", format!("bearer {SECRET}")),
        ),
        (
            "PUT",
            client
                .request(Method::PUT, url)
                .header("Authorization", format!("Bearer {SECRET}")),
        ),
    ]
}

/// An answer without what differs between any two runs (run id, timing).
fn comparable(answer: &Answer) -> (u16, Value, Vec<(String, String)>) {
    let mut body = answer.body.clone();
    if let Some(body) = body.as_object_mut() {
        for key in ["run_id", "duration_ms"] {
            if let Some(value) = body.get_mut(key) {
                *value = Value::String("<varies>".into());
            }
        }
    }
    let headers = ["content-type", "cache-control", "allow"]
        .iter()
        .filter_map(|name| {
            answer
                .headers
                .get(*name)
                .map(|v| (name.to_string(), v.to_str().unwrap().to_string()))
        })
        .collect();
    (answer.status, body, headers)
}

#[tokio::test]
async fn serve_answers_every_path_like_its_function_binary() {
    let test = TestEnv::start().await;
    let env = env(&test);
    let mut serve = Supacron::start(&["serve", "--port", "0", "--json"], &borrowed(&env));
    let base = serve.url().await;
    let client = Client::new();
    for (path, binary) in FUNCTIONS {
        let function = FunctionProcess::start(binary, path, &borrowed(&env));
        let served = format!("{base}{path}");
        let cases = matrix(&client, &function.url)
            .into_iter()
            .zip(matrix(&client, &served));
        for ((case, direct), (_, via_serve)) in cases {
            let direct = send(direct).await;
            let via_serve = send(via_serve).await;
            assert_eq!(
                comparable(&via_serve),
                comparable(&direct),
                "{path} {case}: serve answered {} {}, the function {} {}",
                via_serve.status,
                via_serve.text,
                direct.status,
                direct.text
            );
            assert_eq!(
                via_serve.headers.contains_key("x-supacron-run-id"),
                direct.headers.contains_key("x-supacron-run-id"),
                "{path} {case}"
            );
        }
    }
    // The status function: the same statuses and the same shape of answer (its content
    // moves with every run recorded, so only the keys are compared).
    let (path, binary) = STATUS;
    let function = FunctionProcess::start(binary, path, &borrowed(&env));
    let served = format!("{base}{path}");
    let keys = |answer: &Answer| {
        let mut keys: Vec<String> = answer
            .body
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    for (case, bearer) in [
        ("bearer", Some(SECRET)),
        ("no credential", None),
        ("wrong", Some("x")),
    ] {
        let request = |url: &str| match bearer {
            Some(secret) => client
                .get(url)
                .header("Authorization", format!("Bearer {secret}")),
            None => client.get(url),
        };
        let direct = send(request(&function.url)).await;
        let via_serve = send(request(&served)).await;
        assert_eq!(
            via_serve.status, direct.status,
            "{path} {case}: {}",
            via_serve.text
        );
        assert_eq!(keys(&via_serve), keys(&direct), "{path} {case}");
    }
    // The dry runs really reached the database through serve (not just the auth layer).
    let patch = send(
        client
            .get(format!("{base}/api/cron/patch?dry_run=1"))
            .header("Authorization", format!("Bearer {SECRET}")),
    )
    .await;
    assert_eq!(patch.status, 200, "{}", patch.text);
    assert_eq!(patch.body["dry_run"], true);
    assert!(patch.body["queue"].is_object(), "{}", patch.text);
    let log = serve.output();
    assert!(
        !log.contains(SECRET) && !log.contains(INTERNAL_KEY),
        "{log}"
    );
    assert!(log.contains("secret=[redacted]"), "{log}");
}

#[tokio::test]
async fn serve_refuses_everything_without_a_cron_secret_like_the_functions() {
    let env = [
        ("SUPABASE_URL", "http://127.0.0.1:9"),
        ("SUPABASE_SERVICE_ROLE_KEY", "sb_secret_x"),
    ];
    let mut serve = Supacron::start(&["serve", "--port", "0"], &env);
    let base = serve.url().await;
    let client = Client::new();
    for (path, _) in FUNCTIONS {
        let answer = send(
            client
                .get(format!("{base}{path}"))
                .header("Authorization", "Bearer anything"),
        )
        .await;
        assert_eq!(answer.status, 500, "{path}: {}", answer.text);
        assert_eq!(answer.body["error"], "configuration");
        assert!(
            answer.body["message"]
                .as_str()
                .unwrap()
                .contains("CRON_SECRET")
        );
    }
}

#[tokio::test]
async fn unknown_paths_get_a_json_404_listing_the_functions() {
    let env = [("CRON_SECRET", SECRET)];
    let mut serve = Supacron::start(&["serve", "--port", "0"], &env);
    let base = serve.url().await;
    let client = Client::new();
    for path in [
        "/",
        "/api/cron",
        "/api/cron/nope",
        "/api/cron/patch/x",
        "/favicon.ico",
    ] {
        let answer = send(
            client
                .get(format!("{base}{path}"))
                .header("Authorization", format!("Bearer {SECRET}")),
        )
        .await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text);
        assert_eq!(answer.body["error"], "not_found");
        let message = answer.body["message"].as_str().unwrap();
        assert!(
            message.contains("/api/cron/patch") && message.contains("/api/training/outcomes"),
            "{message}"
        );
    }
    // A trailing slash still reaches the function (auth first: no credential, 401).
    let answer = send(client.get(format!("{base}/api/cron/patch/"))).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
}

#[tokio::test]
async fn serve_stops_on_sigterm_with_exit_0() {
    let env = [("CRON_SECRET", SECRET)];
    let mut serve = Supacron::start(&["serve", "--port", "0"], &env);
    serve.url().await;
    serve.terminate();
    let status = serve.exit().await;
    assert_eq!(status.code(), Some(0), "{}", serve.output());
    assert!(
        serve.output().contains("SIGTERM received"),
        "{}",
        serve.output()
    );
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut serve = Supacron::start(&["serve", "--port", &port], &[]);
    let status = serve.exit().await;
    assert_eq!(status.code(), Some(1));
    let output = serve.output();
    assert!(
        output.contains(&format!("cannot listen on 127.0.0.1:{port}")) && output.contains("--port"),
        "{output}"
    );
}
