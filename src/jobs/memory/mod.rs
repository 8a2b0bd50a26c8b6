//! Memory summarisation (`api/cron/memory`, `*/10 * * * *`): conversations with at least
//! `MEMORY_MIN_NEW_MESSAGES` new messages get a long-term memory written by the LLM.
//!
//! One run: count what is due (nothing: answer at once, one request), take the job's lease
//! ([`super::lease`]; a run that finds it held does nothing and answers `skipped`), pick up to `MEMORY_MAX_CONVERSATIONS_PER_RUN` conversations with
//! their prompt inputs in one round trip (`pick_memory_conversations`, oldest first), call
//! the LLM for them with at most `LLM_CONCURRENCY` calls in flight, and commit each memory
//! and its conversation's cursor in one SQL function (`commit_memory`, a compare-and-swap on
//! the cursor plus a unique key on the range: no second memory for the same messages).
//! An LLM failure writes nothing but the conversation's `memory_last_error` and a backoff; a
//! later run tries again. Items the time budget cannot fit are left for the next run.
//! SQL: `supabase/schemas/40_llm_jobs.sql` (the tables are the app's, `10_app_contract.sql`).

pub mod offline;
pub mod prompt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use self::prompt::Candidate;
use super::call_gate::CallGate;
use super::failure_log::FailureLog;
use super::lease::{self, Held};
use super::llm_items::{self, Generated, ItemOutcome, Tally};
use crate::config::Tunables;
use crate::error::{AppError, cap_error};
use crate::invocation::{RunContext, RunFailure, RunStatus, RunSummary};
use crate::jobs::rows::{RawRows, decode_rows};
use crate::llm::{Llm, LlmError};
use crate::supabase::Supabase;

/// How the memory job runs (from the tunables; tests set `now`).
#[derive(Clone, Debug)]
pub struct MemorySettings {
    /// New messages a conversation needs to be summarised.
    pub min_new_messages: u64,
    /// Conversations (LLM calls) per run at most.
    pub max_conversations: u64,
    /// Messages per prompt at most.
    pub max_messages: u64,
    /// Characters of messages per prompt at most.
    pub max_prompt_chars: u64,
    /// LLM calls in flight at once.
    pub concurrency: u64,
    /// `max_tokens` per call.
    pub max_tokens: u64,
    /// Tokens the job may spend per UTC day (`LLM_DAILY_TOKEN_BUDGET`; `None`: no cap).
    pub daily_token_budget: Option<u64>,
    /// The time the run acts at (`None`: the clock). Tests move time with it.
    pub now: Option<DateTime<Utc>>,
}

impl MemorySettings {
    /// Settings from the operator's tunables.
    pub fn from_tunables(t: &Tunables) -> Self {
        MemorySettings {
            min_new_messages: t.memory_min_new_messages,
            max_conversations: t.memory_max_conversations,
            max_messages: t.memory_max_messages,
            max_prompt_chars: t.memory_max_prompt_chars,
            concurrency: t.llm_concurrency,
            max_tokens: t.minimax_max_tokens,
            daily_token_budget: t.llm_daily_token_budget,
            now: None,
        }
    }
}

/// What a memory run answers.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MemoryReport {
    /// Conversations picked, and how each ended (`ok_count`: memories written,
    /// `failed_count`: the LLM call failed, `left_for_later`), with the LLM usage.
    #[serde(flatten)]
    pub items: Tally,
    /// Conversations another writer got to first (cursor moved): nothing written.
    pub skipped: usize,
    /// Conversations still due when the run ended.
    pub remaining: i64,
    /// Why the run did nothing, when it did nothing on purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
}

/// The answer of a run that finds no conversation due (most ticks; see
/// [`crate::jobs::IdleCheck`]).
pub fn idle_summary() -> RunSummary {
    RunSummary::new(RunStatus::Ok, &MemoryReport::default())
}

/// One run of the memory job.
pub async fn run(
    ctx: &RunContext,
    db: &Supabase,
    llm: &Llm,
    settings: &MemorySettings,
) -> Result<RunSummary, RunFailure> {
    let now = settings.now.unwrap_or_else(Utc::now);
    let mut report = MemoryReport::default();
    if ctx.dry_run {
        report.remaining = count_due(db, settings, now).await?;
        return Ok(RunSummary::new(RunStatus::Ok, &report));
    }
    // Nothing due (most ticks): one request, no lease (found by the benchmark: an empty run
    // took four requests — lease, pick, release, count — to the first answer).
    let due = count_due(db, settings, now).await?;
    if due == 0 {
        return Ok(idle_summary());
    }
    let work = summarise_due(ctx, db, llm, settings, now, &mut report);
    let result = match lease::hold(db, ctx, now, work).await? {
        Held::Ran(result) => result,
        Held::Busy(reason) => {
            report.skipped_reason = Some(reason);
            report.remaining = due;
            return Ok(RunSummary::new(RunStatus::Skipped, &report));
        }
    };
    // A failure midway still reports what the run did before it.
    if let Err(error) = result {
        return Err(RunFailure::with_counts(error, &report));
    }
    report.remaining = count_due(db, settings, now).await?;
    let status = llm_items::status(&report.items, 0, report.remaining);
    Ok(RunSummary::new(status, &report))
}

async fn count_due(
    db: &Supabase,
    settings: &MemorySettings,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    Ok(db
        .rpc(
            "count_memory_candidates",
            &json!({ "p_min_new": settings.min_new_messages, "p_now": now }),
        )
        .await?)
}

async fn summarise_due(
    ctx: &RunContext,
    db: &Supabase,
    llm: &Llm,
    settings: &MemorySettings,
    now: DateTime<Utc>,
    report: &mut MemoryReport,
) -> Result<(), AppError> {
    let raw: RawRows = db
        .rpc(
            "pick_memory_conversations",
            &json!({
                "p_min_new": settings.min_new_messages,
                "p_limit": settings.max_conversations,
                "p_max_messages": settings.max_messages,
                "p_now": now,
            }),
        )
        .await?;
    let decoded = decode_rows::<Candidate, ConversationKey>(raw);
    let failures = FailureLog::default();
    // A conversation whose row cannot be read is failed like a failed call (its
    // memory_last_error, a backoff); the others go on.
    for refused in &decoded.refused {
        let Some(key) = &refused.key else { continue };
        let error = format!("conversation cannot be read: {}", refused.reason);
        if failures.admit() {
            tracing::warn!(conversation_id = %key.conversation_id, error = %error, "memory not written");
        }
        fail_conversation(db, key.conversation_id, &error, now).await?;
    }
    let gate = CallGate::new(ctx, db, now, settings.daily_token_budget);
    let work: Vec<_> = decoded
        .rows
        .iter()
        .map(|candidate| summarise_one(&gate, db, llm, settings, now, candidate, &failures))
        .collect();
    let (mut tally, error) = llm_items::run_items(&gate, work, settings.concurrency).await;
    tally.processed += decoded.refused.len();
    tally.failed_count += decoded.refused.len();
    report.skipped = tally.not_written;
    report.items = tally;
    error.map_or(Ok(()), Err)
}

async fn summarise_one(
    gate: &CallGate<'_>,
    db: &Supabase,
    llm: &Llm,
    settings: &MemorySettings,
    now: DateTime<Utc>,
    candidate: &Candidate,
    failures: &FailureLog,
) -> Result<ItemOutcome, AppError> {
    let max_chars = settings.max_prompt_chars as usize;
    let Some(input) = prompt::select(candidate, max_chars) else {
        return Ok(ItemOutcome::Left);
    };
    let generated = llm_items::generate(
        gate,
        llm,
        settings.max_tokens,
        || prompt::messages(&input, max_chars),
        prompt::parse,
        || offline::summarise(&input),
    )
    .await?;
    let (draft, completion) = match generated {
        Generated::Done(draft, completion) => (draft, completion),
        Generated::Left => {
            tracing::info!(conversation_id = %candidate.conversation_id, "left for the next run: the time budget is spent");
            return Ok(ItemOutcome::Left);
        }
        Generated::Failed(error) => {
            record_failure(db, candidate, &error, now, failures).await?;
            return Ok(ItemOutcome::Failed);
        }
    };
    let (model, prompt_tokens, completion_tokens) = llm_items::provenance(&completion);
    let committed: String = db
        .rpc(
            "commit_memory",
            &json!({
                "p_conversation_id": candidate.conversation_id,
                "p_expected_cursor": candidate.memory_cursor,
                "p_from": input.from_id,
                "p_to": input.to_id,
                "p_summary": draft.summary,
                "p_facts": draft.facts,
                "p_model": model,
                "p_prompt_tokens": prompt_tokens,
                "p_completion_tokens": completion_tokens,
            }),
        )
        .await?;
    Ok(if committed == "committed" {
        ItemOutcome::Written(completion)
    } else {
        tracing::info!(
            conversation_id = %candidate.conversation_id,
            result = %committed,
            "memory not written: another writer moved the conversation's cursor first"
        );
        ItemOutcome::NotWritten(completion)
    })
}

async fn record_failure(
    db: &Supabase,
    candidate: &Candidate,
    error: &LlmError,
    now: DateTime<Utc>,
    failures: &FailureLog,
) -> Result<(), AppError> {
    if failures.admit() {
        tracing::warn!(
            conversation_id = %candidate.conversation_id,
            class = error.class.as_str(),
            http_status = error.status,
            error = %error,
            "memory not written: the LLM call failed; a later run retries"
        );
    }
    fail_conversation(db, candidate.conversation_id, &error.to_string(), now).await
}

/// `fail_memory`: the conversation's `memory_last_error` (capped) and a backoff.
async fn fail_conversation(
    db: &Supabase,
    conversation_id: uuid::Uuid,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let _: serde_json::Value = db
        .rpc(
            "fail_memory",
            &json!({
                "p_conversation_id": conversation_id,
                "p_error": cap_error(error),
                "p_now": now,
            }),
        )
        .await?;
    Ok(())
}

/// What identifies a picked conversation even when the rest of its row cannot be read.
#[derive(serde::Deserialize)]
struct ConversationKey {
    conversation_id: uuid::Uuid,
}
