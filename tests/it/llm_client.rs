//! The MiniMax client against a stub speaking MiniMax's wire format: what it sends, which
//! failures it retries, and how each failure is classed.

use std::time::{Duration, Instant};

use serde_json::json;
use supacron::llm::minimax::MAX_ATTEMPTS;
use supacron::llm::{ChatMessage, LlmErrorClass, MinimaxClient};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::llm::{self, COMPLETIONS, MINIMAX_KEY, MODEL, answer, respond};

fn prompt() -> Vec<ChatMessage> {
    vec![
        ChatMessage::system("You are terse."),
        ChatMessage::user("Say hi."),
    ]
}

const BUDGET: Duration = Duration::from_secs(60);

#[tokio::test]
async fn an_answer_comes_back_without_reasoning_and_with_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .and(header(
            "authorization",
            format!("Bearer {MINIMAX_KEY}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say hi."}
            ],
            "max_tokens": 256
        })))
        .respond_with(answer("<think>They want a greeting.</think>\n\nHi!", 21, 7))
        .expect(1)
        .mount(&server)
        .await;
    let completion = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap();
    assert_eq!(completion.content, "Hi!");
    assert_eq!(completion.model, MODEL);
    assert_eq!(
        (completion.prompt_tokens, completion.completion_tokens),
        (Some(21), Some(7))
    );
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    respond(&server, answer("Hello again", 5, 2)).await;
    let started = Instant::now();
    let completion = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap();
    assert_eq!(completion.content, "Hello again");
    assert_eq!(llm::requests(&server).await.len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured (the client's own backoff is 1 ms)"
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported_as_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"error": {"message": "overloaded"}})),
        )
        .expect(MAX_ATTEMPTS as u64)
        .mount(&server)
        .await;
    let error = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap_err();
    assert_eq!(error.class, LlmErrorClass::Retryable);
    assert_eq!(error.status, Some(503));
    assert!(error.message.contains("overloaded"), "{error}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_the_budget_stops_the_retries() {
    let server = MockServer::start().await;
    respond(
        &server,
        answer("too late", 1, 1).set_delay(Duration::from_secs(10)),
    )
    .await;
    let client = MinimaxClient::new(&llm::config(&server, Duration::from_secs(1)))
        .with_backoff(Duration::from_millis(1));
    let started = Instant::now();
    let error = client
        .chat(&prompt(), 256, Duration::from_millis(3500))
        .await
        .unwrap_err();
    assert_eq!(
        error.class,
        LlmErrorClass::Deferred,
        "the retry the budget cannot fit is deferred to a later run (issue #21): {error}"
    );
    assert!(error.message.contains("timed out"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        (1..=3).contains(&llm::requests(&server).await.len()),
        "retries stop when the budget cannot fit another call"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_a_completion_is_an_output_error() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(200).set_body_string("{\"choices\": [oops"),
    )
    .await;
    let error = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap_err();
    assert_eq!(error.class, LlmErrorClass::Output);
    assert_eq!(llm::requests(&server).await.len(), 1, "not retried");
}

#[tokio::test]
async fn base_resp_errors_sent_with_http_200_are_rejected_without_retry() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "", "choices": null,
            "base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}
        })),
    )
    .await;
    let error = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap_err();
    assert_eq!(error.class, LlmErrorClass::Rejected);
    assert!(
        error.message.contains("1008 insufficient balance"),
        "{error}"
    );
    assert_eq!(llm::requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_refused_key_is_rejected_naming_the_variable_never_the_key() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "invalid api key"}})),
    )
    .await;
    let error = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap_err();
    assert_eq!(
        (error.class, error.status),
        (LlmErrorClass::Rejected, Some(401))
    );
    let text = error.to_string();
    assert!(text.contains("MINIMAX_API_KEY"), "{text}");
    assert!(!text.contains(MINIMAX_KEY), "{text}");
    assert_eq!(llm::requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_retry_after_longer_than_a_minute_is_deferred_not_waited_for() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "120"),
    )
    .await;
    let started = Instant::now();
    let error = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap_err();
    assert_eq!(
        (error.class, error.status),
        (LlmErrorClass::Deferred, Some(429))
    );
    assert!(error.message.contains("retry deferred"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(llm::requests(&server).await.len(), 1);
    assert_eq!(error.billed.llm_calls, 0, "a 429 is not billed");
}

#[tokio::test]
async fn reasoning_only_answers_are_output_errors() {
    let server = MockServer::start().await;
    respond(
        &server,
        answer("<think>Hmm, let me think about it for a long time", 9, 900),
    )
    .await;
    let error = llm::client(&server)
        .chat(&prompt(), 256, BUDGET)
        .await
        .unwrap_err();
    assert_eq!(error.class, LlmErrorClass::Output);
    assert_eq!(
        (
            error.billed.llm_calls,
            error.billed.unusable_calls,
            error.billed.prompt_tokens,
            error.billed.completion_tokens
        ),
        (1, 1, 9, 900),
        "billed, so counted"
    );
}
