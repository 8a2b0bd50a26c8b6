//! What the two LLM jobs (memory, schedule) share per item: making its text with the
//! configured LLM or the offline stand-in ([`generate`]), running items with bounded
//! concurrency and tallying how each ended ([`run_items`]) into the counts both jobs answer
//! ([`Tally`]), and the status those counts give a run ([`status`]). Every call goes through
//! the run's [`CallGate`], which counts what it was billed.

use std::future::Future;

use futures_util::StreamExt;
use serde::Serialize;

use super::call_gate::{self, CallGate};
use crate::error::AppError;
use crate::invocation::RunStatus;
use crate::llm::{
    ChatMessage, Completion, Llm, LlmError, LlmErrorClass, MIN_CALL_BUDGET, OFFLINE_MODEL, Usage,
};

/// How one item ended.
pub enum ItemOutcome {
    /// Its row was written (with the call that paid for it, unless offline).
    Written(Option<Completion>),
    /// Someone else wrote it first; nothing written (the call, if any, was still paid).
    NotWritten(Option<Completion>),
    /// The LLM call failed; the failure is recorded on the row for a later run.
    Failed,
    /// Not started or cut off: the run's budget was spent.
    Left,
}

/// The items of a run, counted by how they ended: the counts both jobs answer (flattened
/// into their reports).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    /// Items picked.
    pub processed: usize,
    /// Rows written.
    pub ok_count: usize,
    /// Items whose LLM call failed (nothing written; retried by a later run).
    pub failed_count: usize,
    /// Items picked but not started: the time budget was spent.
    pub left_for_later: usize,
    /// Items someone else wrote first (the memory job answers them as `skipped`).
    #[serde(skip)]
    pub not_written: usize,
    /// Paid calls whose result was thrown away because someone else wrote the item first
    /// (their tokens are counted all the same).
    pub discarded: usize,
    /// Why the run stopped starting paid calls before its work was done (`lease_lost`,
    /// `daily_token_budget`), if it did: its remaining items are in `left_for_later`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<&'static str>,
    /// What stopped it, and what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// What the provider billed: every billed call, usable or not (`unusable_calls`).
    #[serde(flatten)]
    pub usage: Usage,
}

/// Runs `work` (one future per item, made by the caller so that no closure is held across an
/// await, which would defeat the `Send` proof of the function's handler) with at most
/// `concurrency` in flight, its calls through `gate`. Returns the tally (with everything
/// `gate` counted as billed) and the first Supabase error, if any.
pub async fn run_items<F>(
    gate: &CallGate<'_>,
    work: Vec<F>,
    concurrency: u64,
) -> (Tally, Option<AppError>)
where
    F: Future<Output = Result<ItemOutcome, AppError>>,
{
    let mut tally = Tally {
        processed: work.len(),
        ..Tally::default()
    };
    let outcomes: Vec<Result<ItemOutcome, AppError>> = futures_util::stream::iter(work)
        .buffer_unordered(concurrency.max(1) as usize)
        .collect()
        .await;
    let mut first_error = None;
    tally.usage = gate.usage();
    if let Some(stop) = gate.stopped() {
        tally.stopped_by = Some(stop.by);
        tally.stopped_reason = Some(stop.reason);
    }
    for outcome in outcomes {
        match outcome {
            Ok(ItemOutcome::Written(_)) => tally.ok_count += 1,
            Ok(ItemOutcome::NotWritten(completion)) => {
                tally.not_written += 1;
                tally.discarded += usize::from(completion.is_some());
            }
            Ok(ItemOutcome::Failed) => tally.failed_count += 1,
            Ok(ItemOutcome::Left) => tally.left_for_later += 1,
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    (tally, first_error)
}

/// How a run that held the lease ended: `partial` when an item failed, was left for later,
/// a paid call was discarded, or `others` (job-specific: invalid rows) happened, or work is
/// still `remaining`.
pub fn status(tally: &Tally, others: usize, remaining: i64) -> RunStatus {
    if tally.failed_count + tally.left_for_later + tally.discarded + others > 0 || remaining > 0 {
        RunStatus::Partial
    } else {
        RunStatus::Ok
    }
}

/// What [`generate`] made of one item.
pub enum Generated<T> {
    /// The parsed text, and the call that made it (`None` offline).
    Done(T, Option<Completion>),
    /// Not started, or its retry deferred: leave the item untouched for the next run.
    Left,
    /// The call failed, or its answer was unusable.
    Failed(LlmError),
}

/// Makes one item's text: offline, `offline()`; else a call with `messages()` whose answer
/// `parse` reads. A paid call starts only with at least [`MIN_CALL_BUDGET`] left and once
/// `gate` admits it (the run still holds its lease, the day's token budget has room); a
/// retry the
/// budget cannot afford ([`LlmErrorClass::Deferred`]) or a retryable failure that used up
/// the budget leaves the item instead of failing it. Whatever the provider billed is counted
/// in `gate`, unusable answers included.
pub async fn generate<T>(
    gate: &CallGate<'_>,
    llm: &Llm,
    max_tokens: u64,
    messages: impl FnOnce() -> Vec<ChatMessage>,
    parse: impl FnOnce(&str) -> Result<T, LlmError>,
    offline: impl FnOnce() -> T,
) -> Result<Generated<T>, AppError> {
    let ctx = gate.ctx;
    if ctx.remaining() < MIN_CALL_BUDGET {
        return Ok(Generated::Left);
    }
    let client = match llm {
        Llm::Offline => return Ok(Generated::Done(offline(), None)),
        Llm::Minimax(client) => client,
    };
    let messages = messages();
    let worst_case = call_gate::worst_case_tokens(&messages, max_tokens);
    let Some(admission) = gate.admit(worst_case).await? else {
        return Ok(Generated::Left);
    };
    let answered = match client
        .chat(&messages, max_tokens as u32, ctx.remaining())
        .await
    {
        Ok(completion) => match parse(&completion.content) {
            Ok(text) => Ok((text, completion)),
            Err(error) => Err(error.billed(completion.usage())),
        },
        Err(error) => Err(error),
    };
    let billed = match &answered {
        Ok((_, completion)) => completion.usage(),
        Err(error) => error.billed,
    };
    gate.settle(admission, &billed).await?;
    Ok(match answered {
        Ok((text, completion)) => Generated::Done(text, Some(completion)),
        Err(error) => {
            let cut_by_budget =
                error.class == LlmErrorClass::Retryable && ctx.remaining() < MIN_CALL_BUDGET;
            if error.class == LlmErrorClass::Deferred || cut_by_budget {
                tracing::info!(
                    http_status = error.status,
                    error = %error,
                    "item left for the next run, untouched: its retry does not fit this run"
                );
                Generated::Left
            } else {
                Generated::Failed(error)
            }
        }
    })
}

/// The `model`, `prompt_tokens` and `completion_tokens` to store with a row.
pub fn provenance(completion: &Option<Completion>) -> (&str, Option<i32>, Option<i32>) {
    match completion {
        Some(c) => (c.model.as_str(), c.prompt_tokens, c.completion_tokens),
        None => (OFFLINE_MODEL, None, None),
    }
}
