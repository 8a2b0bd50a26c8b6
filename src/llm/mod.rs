//! The LLM: MiniMax's OpenAI-compatible chat completions, or the offline stand-in.
//!
//! [`Llm`] is what the memory and schedule jobs hold. [`Llm::Minimax`] calls the API
//! ([`minimax`]: timeouts, retries of 429/5xx/timeouts within the run's budget, typed
//! errors); [`Llm::Offline`] is chosen only by `SUPACRON_LLM_PROVIDER=offline` and lets each
//! job produce deterministic, clearly labelled text (`model = 'offline'`) for local demos.
//! [`output`] cleans what a model answers (reasoning blocks, code fences, JSON).
//! Nothing here logs prompts, outputs or keys: only sizes, statuses and durations.

pub mod minimax;
pub mod output;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::config::{LlmConfig, LlmProvider};

pub use minimax::MinimaxClient;

/// Characters of a character's persona sent in one prompt; a longer persona is cut (with `…`).
pub const MAX_PERSONA_CHARS: usize = 4000;
/// Characters of a character's name sent in one prompt.
pub const MAX_NAME_CHARS: usize = 200;
/// Characters of a schedule's own `prompt` sent in one call; a longer prompt is cut.
pub const MAX_SCHEDULE_PROMPT_CHARS: usize = 4000;
/// Characters of the previous memory summary sent in one memory prompt.
pub const MAX_PREVIOUS_SUMMARY_CHARS: usize = 4000;

/// The `model` recorded on rows the offline provider wrote.
pub const OFFLINE_MODEL: &str = "offline";

/// The configured LLM.
#[derive(Clone, Debug)]
pub enum Llm {
    /// MiniMax's chat completions API.
    Minimax(MinimaxClient),
    /// Deterministic text made by the job itself, for demos without a key.
    Offline,
}

impl Llm {
    /// The LLM `config` selects.
    pub fn from_config(config: &LlmConfig) -> Llm {
        match config.provider {
            LlmProvider::Offline => Llm::Offline,
            LlmProvider::Minimax => Llm::Minimax(MinimaxClient::new(config)),
        }
    }
}

/// One chat message of a prompt.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// The text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "system",
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user",
            content: content.into(),
        }
    }
}

/// A model's answer: its text (reasoning removed) and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The answer's text, without `<think>` blocks, trimmed.
    pub content: String,
    /// The model that answered (as reported, else as requested).
    pub model: String,
    /// Prompt tokens, when reported.
    pub prompt_tokens: Option<i32>,
    /// Completion tokens, when reported.
    pub completion_tokens: Option<i32>,
}

/// Token usage of a run, summed over its billed calls: every call the provider answered
/// with a completion (HTTP 2xx), whether or not its content could be used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Billed calls (usable or not; retries included).
    pub llm_calls: u64,
    /// Prompt tokens reported.
    pub prompt_tokens: u64,
    /// Completion tokens reported.
    pub completion_tokens: u64,
    /// Billed calls whose content could not be used (garbage, reasoning only, wrong
    /// fields, or an error MiniMax billed): paid for, nothing written.
    pub unusable_calls: u64,
}

impl Usage {
    /// The usage of one billed call with these reported token counts.
    pub fn call(prompt_tokens: Option<i32>, completion_tokens: Option<i32>) -> Usage {
        Usage {
            llm_calls: 1,
            prompt_tokens: prompt_tokens.unwrap_or(0).max(0) as u64,
            completion_tokens: completion_tokens.unwrap_or(0).max(0) as u64,
            unusable_calls: 0,
        }
    }

    /// The same usage, its calls counted as unusable.
    pub fn unusable(self) -> Usage {
        Usage {
            unusable_calls: self.llm_calls,
            ..self
        }
    }

    /// Adds one completion's usage.
    pub fn add(&mut self, completion: &Completion) {
        self.add_usage(&completion.usage());
    }

    /// Adds `other`.
    pub fn add_usage(&mut self, other: &Usage) {
        self.llm_calls += other.llm_calls;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.unusable_calls += other.unusable_calls;
    }

    /// Prompt and completion tokens together (what the daily cap counts).
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

impl Completion {
    /// What this call cost.
    pub fn usage(&self) -> Usage {
        Usage::call(self.prompt_tokens, self.completion_tokens)
    }
}

/// How an LLM call failed, which decides what happens next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LlmErrorClass {
    /// 429, 5xx, a transport error or a timeout, still failing after the retries the run's
    /// budget allowed: a later run tries again.
    Retryable,
    /// Another 4xx, or MiniMax's `base_resp.status_code != 0`: this item fails this run.
    Rejected,
    /// The model answered, but not in the requested shape: this item fails this run.
    Output,
    /// The run declined a retry it cannot afford (a `Retry-After` or backoff longer than
    /// what its budget leaves, or a `Retry-After` over 60 s): not the item's failure, it is
    /// left untouched for the next run.
    Deferred,
}

impl LlmErrorClass {
    /// The name used in answers, logs and `last_error`.
    pub fn as_str(self) -> &'static str {
        match self {
            LlmErrorClass::Retryable => "retryable",
            LlmErrorClass::Rejected => "rejected",
            LlmErrorClass::Output => "output",
            LlmErrorClass::Deferred => "deferred",
        }
    }
}

/// A failed LLM call: its class, the HTTP status if any, and a message free of prompts,
/// outputs and keys.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct LlmError {
    /// What kind of failure.
    pub class: LlmErrorClass,
    /// The HTTP status, when the API answered.
    pub status: Option<u16>,
    /// What went wrong, safe to store and log.
    pub message: String,
    /// What the failed call was billed, when the provider answered and billed it (HTTP
    /// 200 with content the job cannot use): counted like any other call.
    pub billed: Usage,
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LLM {} error", self.class.as_str())?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl LlmError {
    /// An answer that could not be used.
    pub fn output(message: impl Into<String>) -> Self {
        LlmError {
            class: LlmErrorClass::Output,
            status: None,
            message: message.into(),
            billed: Usage::default(),
        }
    }

    /// The same error, with the usage the provider billed for the call (counted unusable).
    pub fn billed(self, usage: Usage) -> Self {
        LlmError {
            billed: usage.unusable(),
            ..self
        }
    }

    pub(crate) fn retryable(status: Option<u16>, message: impl Into<String>) -> Self {
        LlmError {
            class: LlmErrorClass::Retryable,
            status,
            message: message.into(),
            billed: Usage::default(),
        }
    }

    pub(crate) fn deferred(status: Option<u16>, message: impl Into<String>) -> Self {
        LlmError {
            class: LlmErrorClass::Deferred,
            status,
            message: message.into(),
            billed: Usage::default(),
        }
    }

    pub(crate) fn rejected(status: Option<u16>, message: impl Into<String>) -> Self {
        LlmError {
            class: LlmErrorClass::Rejected,
            status,
            message: message.into(),
            billed: Usage::default(),
        }
    }
}

/// The smallest budget worth starting an LLM call with: below it, the item is left for
/// the next run instead of being cut off mid-call.
pub const MIN_CALL_BUDGET: Duration = Duration::from_secs(2);
