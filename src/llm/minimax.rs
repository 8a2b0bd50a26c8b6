//! The MiniMax client: `POST {MINIMAX_BASE_URL}/chat/completions`, OpenAI's wire format.
//!
//! Every call has a connect timeout and a whole-call timeout (`MINIMAX_TIMEOUT_SECS`, cut to
//! what the run has left). 429, 5xx, transport errors and timeouts are retried with
//! exponential backoff and jitter, honouring `Retry-After`, but only while the run's budget
//! allows another try; a wait the budget cannot afford is
//! [`Deferred`](super::LlmErrorClass::Deferred): the item is left for a later run, not
//! failed. Other 4xx and an answer with `base_resp.status_code != 0` (MiniMax's own error
//! signal, sent with HTTP 200) are [`Rejected`](super::LlmErrorClass::Rejected). A failed
//! call the provider billed (HTTP 200 with unusable content) carries its usage
//! (`LlmError::billed`), so every billed token is counted. The key travels only in the
//! `Authorization` header; logs carry sizes, statuses and durations only.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{ChatMessage, Completion, LlmError, MIN_CALL_BUDGET, Usage};
use crate::config::LlmConfig;
use crate::retry::RetryPolicy;
use crate::secret::Secret;

/// Tries per call: the first and up to three retries.
pub const MAX_ATTEMPTS: u32 = 4;
/// The longest `Retry-After` honoured; a longer one ends the tries for this run.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A MiniMax chat-completions client (cheap to clone; connections are shared).
#[derive(Clone)]
pub struct MinimaxClient {
    http: reqwest::Client,
    url: String,
    key: Option<Secret>,
    model: String,
    timeout: Duration,
    backoff: RetryPolicy,
}

impl std::fmt::Debug for MinimaxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinimaxClient")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    max_tokens: u32,
    temperature: f32,
}

#[derive(Deserialize)]
struct ChatResponse {
    model: Option<String>,
    choices: Option<Vec<Choice>>,
    usage: Option<UsageBody>,
    base_resp: Option<BaseResp>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<AnswerMessage>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct UsageBody {
    prompt_tokens: Option<i32>,
    completion_tokens: Option<i32>,
}

#[derive(Deserialize)]
struct BaseResp {
    status_code: i64,
    status_msg: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorDetail>,
    base_resp: Option<BaseResp>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
}

impl MinimaxClient {
    /// A client for `config` (base URL, key, model, timeout).
    pub fn new(config: &LlmConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .unwrap_or_default();
        MinimaxClient {
            http,
            url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            key: config.api_key.clone(),
            model: config.model.clone(),
            timeout: config.timeout,
            backoff: RetryPolicy {
                base: Duration::from_secs(1),
                max: Duration::from_secs(30),
                jitter: 0.2,
            },
        }
    }

    /// The same client with another first backoff (tests use milliseconds).
    pub fn with_backoff(mut self, base: Duration) -> Self {
        self.backoff.base = base;
        self
    }

    /// The configured model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Sends `messages` and returns the answer, retrying retryable failures while `budget`
    /// (the time this call may take in all) allows.
    pub async fn chat(
        &self,
        messages: &[ChatMessage],
        max_tokens: u32,
        budget: Duration,
    ) -> Result<Completion, LlmError> {
        let started = Instant::now();
        let body = serde_json::to_vec(&ChatRequest {
            model: &self.model,
            messages,
            max_tokens,
            temperature: 0.7,
        })
        .map_err(|e| LlmError::output(format!("could not encode the request: {e}")))?;
        let mut attempt = 0;
        loop {
            let left = budget.saturating_sub(started.elapsed());
            if left < MIN_CALL_BUDGET {
                return Err(LlmError::deferred(
                    None,
                    "the run's time budget is spent; a later run tries again",
                ));
            }
            let (error, retry_after) = match self.attempt(&body, self.timeout.min(left)).await {
                Ok(completion) => return Ok(completion),
                Err(failure) => failure,
            };
            attempt += 1;
            if error.class != super::LlmErrorClass::Retryable || attempt >= MAX_ATTEMPTS {
                return Err(error);
            }
            let delay =
                retry_after.unwrap_or_else(|| self.backoff.delay(attempt - 1, fastrand::f64()));
            let after_wait = budget.saturating_sub(started.elapsed() + delay);
            // A wait this run cannot afford is not the item's failure: it is deferred,
            // and the job leaves the item untouched for the next run (issue #21).
            if delay > MAX_RETRY_AFTER || after_wait < MIN_CALL_BUDGET {
                let why = if delay > MAX_RETRY_AFTER {
                    "longer than the 60 s this run waits at most"
                } else {
                    "more than the run's budget leaves"
                };
                return Err(LlmError::deferred(
                    error.status,
                    format!(
                        "{}; retry deferred to a later run: waiting {} ms is {why}",
                        error.message,
                        delay.as_millis()
                    ),
                ));
            }
            tracing::debug!(
                status = error.status,
                attempt,
                delay_ms = delay.as_millis() as u64,
                "LLM call will be retried"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One HTTP exchange. A failure comes with the server's `Retry-After`, if any.
    async fn attempt(
        &self,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Completion, (LlmError, Option<Duration>)> {
        let started = Instant::now();
        let mut request = self
            .http
            .post(&self.url)
            .timeout(timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| (transport_error(&e), None))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| (transport_error(&e), retry_after))?;
        tracing::debug!(
            http_status = status,
            request_bytes = body.len(),
            response_bytes = bytes.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "LLM call answered"
        );
        if !(200..300).contains(&status) {
            let detail = error_detail(&bytes);
            let message = format!("MiniMax answered HTTP {status}{detail}");
            let error = if status == 429 || status >= 500 {
                LlmError::retryable(Some(status), message)
            } else {
                LlmError::rejected(Some(status), format!("{message}{}", advice(status)))
            };
            return Err((error, retry_after));
        }
        // An HTTP 2xx answer is a call the provider may have billed: whatever happens to
        // its content, its usage is counted (an unreadable body counts as one call).
        let answer: ChatResponse = serde_json::from_slice(&bytes).map_err(|e| {
            (
                LlmError::output(format!(
                    "MiniMax's answer is not a chat completion ({} bytes): {e}",
                    bytes.len()
                ))
                .billed(Usage::call(None, None)),
                None,
            )
        })?;
        let usage = answer.usage.as_ref();
        let billed = Usage::call(
            usage.and_then(|u| u.prompt_tokens),
            usage.and_then(|u| u.completion_tokens),
        );
        if let Some(base) = answer.base_resp.as_ref().filter(|b| b.status_code != 0) {
            // MiniMax's own error signal: billed only when it reports tokens.
            let billed = if billed.tokens() > 0 {
                billed
            } else {
                Usage::default()
            };
            return Err((
                LlmError::rejected(
                    Some(status),
                    format!(
                        "MiniMax refused the call: base_resp.status_code {} {}",
                        base.status_code,
                        base.status_msg
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(200)
                            .collect::<String>()
                    )
                    .trim_end()
                    .to_string(),
                )
                .billed(billed),
                None,
            ));
        }
        let content = answer
            .choices
            .unwrap_or_default()
            .into_iter()
            .next()
            .and_then(|c| c.message)
            .and_then(|m| m.content)
            .map(|c| super::output::strip_think(&c))
            .unwrap_or_default();
        if content.is_empty() {
            return Err((
                LlmError::output(
                    "MiniMax's answer has no content besides reasoning \
                     (often: max_tokens ran out inside <think>; raise MINIMAX_MAX_TOKENS)",
                )
                .billed(billed),
                None,
            ));
        }
        Ok(Completion {
            content,
            model: answer.model.unwrap_or_else(|| self.model.clone()),
            prompt_tokens: usage.and_then(|u| u.prompt_tokens),
            completion_tokens: usage.and_then(|u| u.completion_tokens),
        })
    }
}

fn transport_error(error: &reqwest::Error) -> LlmError {
    let what = if error.is_timeout() {
        "the call timed out (MINIMAX_TIMEOUT_SECS or the run's budget)"
    } else if error.is_connect() {
        "could not connect to MINIMAX_BASE_URL"
    } else {
        "the connection failed"
    };
    LlmError::retryable(None, what)
}

/// `: <message>` from an OpenAI-style or MiniMax error body, at most 200 characters.
fn error_detail(body: &[u8]) -> String {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return String::new();
    };
    let message = parsed
        .error
        .and_then(|e| e.message)
        .or_else(|| parsed.base_resp.and_then(|b| b.status_msg));
    match message {
        Some(m) if !m.trim().is_empty() => format!(": {}", m.chars().take(200).collect::<String>()),
        _ => String::new(),
    }
}

fn advice(status: u16) -> &'static str {
    match status {
        401 | 403 => " (check MINIMAX_API_KEY)",
        404 => " (check MINIMAX_BASE_URL and MINIMAX_MODEL)",
        _ => "",
    }
}
