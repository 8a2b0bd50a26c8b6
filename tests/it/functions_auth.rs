//! The five function binaries as Vercel Cron and people call them: credentials,
//! methods, headers, and secrets that must never show up in an answer or a log line.

use reqwest::Client;

use crate::support::function_process::{Answer, FUNCTIONS, FunctionProcess, send};

const SECRET: &str = "cr0n-Secret-value-4711";
const INTERNAL_KEY: &str = "internal-key-value-0815";
const SERVICE_KEY: &str = "sb_secret_service-key-value-1234";

/// A configuration whose Supabase is unreachable: an accepted request gets as far as
/// the job, which answers 503 (Supabase unreachable).
fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CRON_SECRET", SECRET),
        ("INTERNAL_API_KEY", INTERNAL_KEY),
        ("SUPABASE_URL", "http://127.0.0.1:9"),
        ("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY),
        ("MINIMAX_API_KEY", "minimax-key-value-5678"),
        ("SUPABASE_TIMEOUT_SECS", "2"),
    ]
}

fn accepted(answer: &Answer) -> bool {
    answer.status == 503 && answer.body["run_id"].is_string()
}

#[tokio::test]
async fn every_credential_source_is_accepted_by_every_function() {
    let client = Client::new();
    for (path, binary) in FUNCTIONS {
        let function = FunctionProcess::start(binary, path, &env());
        let url = &function.url;
        let bearer = send(
            client
                .get(url)
                .header("Authorization", format!("Bearer {SECRET}")),
        )
        .await;
        assert!(
            accepted(&bearer),
            "{path} Bearer: {} {}",
            bearer.status,
            bearer.text
        );
        let header = send(client.post(url).header("x-cron-secret", SECRET)).await;
        assert!(
            accepted(&header),
            "{path} x-cron-secret: {} {}",
            header.status,
            header.text
        );
        let query = send(client.get(format!("{url}?secret={SECRET}"))).await;
        assert!(
            accepted(&query),
            "{path} ?secret=: {} {}",
            query.status,
            query.text
        );
        let cron = send(
            client
                .get(url)
                .header("Authorization", format!("Bearer {SECRET}"))
                .header("user-agent", "vercel-cron/1.0")
                .header("x-vercel-cron-schedule", "*/2 * * * *"),
        )
        .await;
        assert!(
            accepted(&cron),
            "{path} as Vercel Cron: {} {}",
            cron.status,
            cron.text
        );
    }
}

#[tokio::test]
async fn every_bad_credential_gets_the_same_401_body() {
    let client = Client::new();
    let (path, binary) = FUNCTIONS[0];
    let function = FunctionProcess::start(binary, path, &env());
    let url = &function.url;
    let prefix = &SECRET[..SECRET.len() - 1];
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("no credential", client.get(url)),
        (
            "wrong bearer",
            client
                .get(url)
                .header("Authorization", "Bearer not-the-secret"),
        ),
        (
            "empty bearer",
            client.get(url).header("Authorization", "Bearer "),
        ),
        (
            "lowercase scheme",
            client
                .get(url)
                .header("Authorization", format!("bearer {SECRET}")),
        ),
        (
            "uppercase scheme",
            client
                .get(url)
                .header("Authorization", format!("BEARER {SECRET}")),
        ),
        (
            "two spaces",
            client
                .get(url)
                .header("Authorization", format!("Bearer  {SECRET}")),
        ),
        ("no scheme", client.get(url).header("Authorization", SECRET)),
        (
            "basic scheme",
            client
                .get(url)
                .header("Authorization", format!("Basic {SECRET}")),
        ),
        (
            "prefix bearer",
            client
                .get(url)
                .header("Authorization", format!("Bearer {prefix}")),
        ),
        (
            "longer bearer",
            client
                .get(url)
                .header("Authorization", format!("Bearer {SECRET}x")),
        ),
        (
            "prefix header",
            client.get(url).header("x-cron-secret", prefix),
        ),
        ("empty header", client.get(url).header("x-cron-secret", "")),
        ("prefix query", client.get(format!("{url}?secret={prefix}"))),
        ("empty query", client.get(format!("{url}?secret="))),
        (
            "internal key on a cron function",
            client.get(url).header("x-internal-api-key", INTERNAL_KEY),
        ),
    ];
    for (case, request) in cases {
        let answer = send(request).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.text);
        assert_eq!(answer.text, r#"{"error":"unauthorized"}"#, "{case}");
    }
}

#[tokio::test]
async fn the_internal_api_key_opens_only_the_training_functions() {
    let client = Client::new();
    for (path, binary) in FUNCTIONS {
        let function = FunctionProcess::start(binary, path, &env());
        let answer = send(
            client
                .post(&function.url)
                .header("x-internal-api-key", INTERNAL_KEY),
        )
        .await;
        if path.starts_with("/api/training/") {
            assert!(
                accepted(&answer),
                "{path}: {} {}",
                answer.status,
                answer.text
            );
            let wrong = send(
                client
                    .post(&function.url)
                    .header("x-internal-api-key", "nope"),
            )
            .await;
            assert_eq!(wrong.status, 401, "{path}");
        } else {
            assert_eq!(answer.status, 401, "{path}: {}", answer.text);
        }
    }
    // Without INTERNAL_API_KEY configured, the header opens nothing (not even an empty one).
    let (path, binary) = FUNCTIONS[4];
    let env: Vec<_> = env()
        .into_iter()
        .filter(|(k, _)| *k != "INTERNAL_API_KEY")
        .collect();
    let function = FunctionProcess::start(binary, path, &env);
    for key in ["", INTERNAL_KEY] {
        let answer = send(client.post(&function.url).header("x-internal-api-key", key)).await;
        assert_eq!(answer.status, 401, "key {key:?}: {}", answer.text);
    }
}

#[tokio::test]
async fn an_unset_or_empty_cron_secret_refuses_everything_with_a_500_naming_it() {
    let client = Client::new();
    for cron_secret in [None, Some("")] {
        let mut env: Vec<_> = env()
            .into_iter()
            .filter(|(k, _)| *k != "CRON_SECRET")
            .collect();
        if let Some(value) = cron_secret {
            env.push(("CRON_SECRET", value));
        }
        for (path, binary) in FUNCTIONS {
            let function = FunctionProcess::start(binary, path, &env);
            for request in [
                client.get(&function.url),
                client.get(&function.url).header("Authorization", "Bearer "),
                client
                    .get(&function.url)
                    .header("Authorization", format!("Bearer {SECRET}")),
                client
                    .get(&function.url)
                    .header("x-internal-api-key", INTERNAL_KEY),
            ] {
                let answer = send(request).await;
                assert_eq!(answer.status, 500, "{path}: {}", answer.text);
                assert_eq!(answer.body["error"], "configuration");
                assert!(
                    answer.body["message"]
                        .as_str()
                        .unwrap()
                        .contains("CRON_SECRET"),
                    "{}",
                    answer.text
                );
                for value in [INTERNAL_KEY, SERVICE_KEY, SECRET] {
                    assert!(
                        !answer.text.contains(value),
                        "{path} leaked a secret: {}",
                        answer.text
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn missing_supabase_settings_are_all_named_without_values() {
    let client = Client::new();
    let (path, binary) = FUNCTIONS[1];
    let env = [("CRON_SECRET", SECRET), ("MINIMAX_API_KEY", "mm-value-9")];
    let function = FunctionProcess::start(binary, path, &env);
    let answer = send(
        client
            .get(&function.url)
            .header("Authorization", format!("Bearer {SECRET}")),
    )
    .await;
    assert_eq!(answer.status, 500, "{}", answer.text);
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.contains("SUPABASE_URL") && message.contains("SUPABASE_SERVICE_ROLE_KEY"),
        "{message}"
    );
    assert!(
        !message.contains("MINIMAX_API_KEY") && !answer.text.contains("mm-value-9"),
        "{message}"
    );
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let client = Client::new();
    let (path, binary) = FUNCTIONS[3];
    let function = FunctionProcess::start(binary, path, &env());
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let answer = send(
            client
                .request(method.clone(), &function.url)
                .header("Authorization", format!("Bearer {SECRET}")),
        )
        .await;
        assert_eq!(answer.status, 405, "{method}: {}", answer.text);
        assert_eq!(answer.headers["allow"], "GET, POST");
    }
}

#[tokio::test]
async fn secrets_never_reach_the_log_even_from_the_query_string() {
    let client = Client::new();
    let (path, binary) = FUNCTIONS[0];
    let function = FunctionProcess::start(binary, path, &env());
    let ok = send(client.get(format!("{}?secret={SECRET}&dry_run=1", function.url))).await;
    assert!(accepted(&ok), "{}", ok.text);
    let wrong = send(client.get(format!("{}?secret={SECRET}-wrong", function.url))).await;
    assert_eq!(wrong.status, 401);
    send(
        client
            .get(&function.url)
            .header("Authorization", format!("Bearer {SECRET}")),
    )
    .await;
    let run_id = ok.body["run_id"].as_str().unwrap().to_string();
    let log = function.finish();
    assert!(log.contains(&run_id), "the run id is logged: {log}");
    assert!(log.contains("secret=[redacted]"), "{log}");
    for value in [SECRET, INTERNAL_KEY, SERVICE_KEY, "minimax-key-value-5678"] {
        assert!(!log.contains(value), "log leaked {value}: {log}");
    }
    // One line per invocation, each carrying its run id.
    let lines: Vec<_> = log.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines.iter().all(|l| l.contains("\"run_id\"")), "{log}");
}
