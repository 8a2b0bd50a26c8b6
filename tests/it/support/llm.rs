//! A MiniMax stand-in for tests: wiremock speaking the real chat-completions wire format,
//! and clients of it with millisecond backoff.

use std::time::Duration;

use serde_json::{Value, json};
use supacron::config::{LlmConfig, LlmProvider};
use supacron::llm::{Llm, MinimaxClient};
use supacron::secret::Secret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The key the stub expects.
pub const MINIMAX_KEY: &str = "test-minimax-key-0042";
/// The model the clients ask for.
pub const MODEL: &str = "MiniMax-M2";
/// The path of chat completions under the stub's base URL.
pub const COMPLETIONS: &str = "/v1/chat/completions";

/// The client configuration for `server` with a per-call `timeout`.
pub fn config(server: &MockServer, timeout: Duration) -> LlmConfig {
    LlmConfig {
        provider: LlmProvider::Minimax,
        api_key: Some(Secret::new(MINIMAX_KEY)),
        base_url: format!("{}/v1", server.uri()),
        model: MODEL.into(),
        timeout,
    }
}

/// A client of `server` (60 s timeout, 1 ms backoff).
pub fn client(server: &MockServer) -> MinimaxClient {
    MinimaxClient::new(&config(server, Duration::from_secs(60)))
        .with_backoff(Duration::from_millis(1))
}

/// The LLM the jobs use, pointed at `server`.
pub fn llm(server: &MockServer) -> Llm {
    Llm::Minimax(client(server))
}

/// A chat-completions answer with `content` and usage, as MiniMax sends it.
pub fn answer(content: &str, prompt_tokens: i64, completion_tokens: i64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "0401bd3bd4a2d1f0b5c6d7e8",
        "object": "chat.completion",
        "created": 1_763_800_000,
        "model": MODEL,
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": content}
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        },
        "base_resp": {"status_code": 0, "status_msg": ""}
    }))
}

/// Mounts `response` for every chat-completions call.
pub async fn respond(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(COMPLETIONS))
        .respond_with(response)
        .mount(server)
        .await;
}

/// The JSON bodies of the chat-completions calls the stub received.
pub async fn requests(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == COMPLETIONS)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}
