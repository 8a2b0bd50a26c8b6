//! Issue #22: the value of `CRON_SECRET`, `INTERNAL_API_KEY`, the service key and the MiniMax
//! key never reaches a log line or a stored error, wherever a caller or a row puts it and
//! whatever it is called; a shared secret shorter than 16 characters is refused like an unset
//! one. The function binaries run as their own processes, and their logs are captured.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Client;
use supacron::Job;
use supacron::config::Config;
use supacron::invocation::{RunContext, Trigger};
use supacron::jobs::training::reward_fn::RewardWeights;
use supacron::jobs::training::rewards;
use testkit::TestEnv;
use testkit::factory::{self, NewDecision, NewOutcome};
use uuid::Uuid;

use crate::support::function_process::{FUNCTIONS, FunctionProcess, send};
use crate::support::patch::supabase;

const SECRET: &str = "Leaky-cron-Secret-9071";
const INTERNAL_KEY: &str = "leaky-internal-key-6502";
const SERVICE_KEY: &str = "sb_secret_leaky-service-key-8086";
const MINIMAX_KEY: &str = "leaky-minimax-key-6809";

fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CRON_SECRET", SECRET),
        ("INTERNAL_API_KEY", INTERNAL_KEY),
        ("SUPABASE_URL", "http://127.0.0.1:9"),
        ("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY),
        ("MINIMAX_API_KEY", MINIMAX_KEY),
        ("SUPABASE_TIMEOUT_SECS", "2"),
    ]
}

fn encoded(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

fn assert_clean(text: &str) {
    for value in [SECRET, INTERNAL_KEY, SERVICE_KEY, MINIMAX_KEY] {
        assert!(!text.contains(value), "leaked {value}: {text}");
        assert!(
            !text.contains(&encoded(value)),
            "leaked {value} encoded: {text}"
        );
        // Any distinctive part of it (the digits at its end, with its last word).
        let tail = &value[value.len() - 9..];
        assert!(!text.contains(tail), "leaked {value}'s tail {tail}: {text}");
    }
}

#[tokio::test]
async fn no_secret_reaches_the_log_wherever_the_request_puts_it() {
    let client = Client::new();
    let (path, binary) = FUNCTIONS[0];
    let function = FunctionProcess::start(binary, path, &env());
    let url = &function.url;
    let partly = "Leaky-cron-%53ecret-9071".to_string(); // one letter encoded
    let twice = encoded(&encoded(SECRET));
    let placements = vec![
        format!("{url}?dry_run=1?secret={SECRET}"),
        format!("{url}?dry_run=1;secret={SECRET}"),
        format!("{url}?pw={SECRET}"),
        format!("{url}/{SECRET}"),
        format!("{url}?x=secret%3D{SECRET}"),
        format!("{url}?token={}", encoded(SECRET)),
        format!("{url}?a={partly}"),
        format!("{url}?b={twice}"),
        format!("{url}?c=+{SECRET}+"),
        format!("{url}?dry_run=1&k={INTERNAL_KEY}"),
        format!("{url}/{SERVICE_KEY}?m={MINIMAX_KEY}"),
        format!("{url}?{SECRET}"),
        format!("{url}?secret={SECRET}-wrong"),
    ];
    let mut answers = Vec::new();
    for target in &placements {
        answers.push(send(client.get(target)).await);
    }
    // Headers and bodies too (a refused credential, a body nobody reads).
    answers.push(
        send(
            client
                .post(url)
                .header("authorization", format!("Basic {SECRET}"))
                .header("x-cron-secret", format!("{SECRET}x"))
                .header("x-api-key", MINIMAX_KEY)
                .body(format!(
                    "{{\"secret\":\"{SECRET}\",\"key\":\"{SERVICE_KEY}\"}}"
                )),
        )
        .await,
    );
    // An accepted run whose failure text is logged (Supabase unreachable).
    let accepted = send(client.get(format!("{url}?secret={SECRET}&note={INTERNAL_KEY}"))).await;
    assert_eq!(accepted.status, 503, "{}", accepted.text);
    answers.push(accepted);
    for answer in &answers {
        assert_clean(&answer.text);
    }
    let log = function.finish();
    let lines: Vec<_> = log.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(
        lines.len(),
        placements.len() + 2,
        "one line per request: {log}"
    );
    assert_clean(&log);
    assert!(log.contains("[redacted]"), "{log}");
}

#[tokio::test]
async fn no_secret_reaches_a_stored_error_or_its_log_line() {
    let env = TestEnv::start().await;
    // The configuration of the process registers the secrets it holds.
    let vars = [
        ("CRON_SECRET", SECRET.to_string()),
        ("INTERNAL_API_KEY", INTERNAL_KEY.to_string()),
        ("SUPABASE_URL", env.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY.to_string()),
        ("MINIMAX_API_KEY", MINIMAX_KEY.to_string()),
    ];
    let _config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    });
    let db = &env.db.client;
    let leaky = factory::decision(
        db,
        NewDecision {
            action: format!("teleport {SECRET} and {SERVICE_KEY}"),
            ..Default::default()
        },
    )
    .await;
    factory::outcome(
        db,
        NewOutcome {
            decision_id: Some(leaky),
            ..Default::default()
        },
    )
    .await;
    let good = factory::decision(db, NewDecision::default()).await;
    factory::outcome(
        db,
        NewOutcome {
            decision_id: Some(good),
            ..Default::default()
        },
    )
    .await;
    let ctx = RunContext::new(
        Uuid::new_v4(),
        Job::Rewards,
        Trigger::Manual,
        false,
        Duration::from_secs(60),
    );
    let summary = rewards::run(&ctx, &supabase(&env), &RewardWeights::default())
        .await
        .unwrap();
    assert_eq!(
        summary.counts["ok_count"], 1,
        "the good decision still gets its reward"
    );
    let error: String = db
        .query_one("select last_error from decisions where id = $1", &[&leaky])
        .await
        .unwrap()
        .get(0);
    assert!(
        error.contains("unknown action") && error.contains("[redacted]"),
        "{error}"
    );
    assert_clean(&error);
}

#[tokio::test]
async fn a_cron_secret_shorter_than_16_characters_refuses_everything_with_a_500_naming_it() {
    let client = Client::new();
    for (path, binary) in FUNCTIONS {
        for (name, value) in [
            ("CRON_SECRET", "x"),
            ("CRON_SECRET", "fifteen-chars-1"),
            ("INTERNAL_API_KEY", "short-key"),
        ] {
            let mut vars = env();
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            if name == "INTERNAL_API_KEY" && !path.starts_with("/api/training") {
                continue;
            }
            let function = FunctionProcess::start(binary, path, &vars);
            let credential = if name == "CRON_SECRET" { value } else { SECRET };
            for request in [
                client
                    .get(&function.url)
                    .header("Authorization", format!("Bearer {credential}")),
                client
                    .get(&function.url)
                    .header("x-internal-api-key", value),
                client.get(&function.url),
            ] {
                let answer = send(request).await;
                assert_eq!(answer.status, 500, "{path} {name}={value}: {}", answer.text);
                assert_eq!(answer.body["error"], "configuration", "{}", answer.text);
                let message = answer.body["message"].as_str().unwrap();
                assert!(
                    message.contains(&format!("{name} is shorter than 16 characters")),
                    "{message}"
                );
                if value.len() >= 8 {
                    assert!(!answer.text.contains(value), "{}", answer.text);
                }
            }
            function.finish();
        }
    }
}
