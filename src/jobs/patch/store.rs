//! The patch job's calls to Supabase: one typed function per SQL function of
//! `supabase/schemas/30_patch_queue.sql`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::plan::{ClaimedJob, StateWrite, States};
use crate::jobs::rows::{RawRows, decode_rows};
use crate::supabase::{Result, Supabase};

/// A claimed batch.
#[derive(Clone, Debug, Deserialize)]
#[serde(from = "ClaimedWire")]
pub struct Claimed {
    /// The jobs, in id order; a job whose row could not be read is among them with
    /// [`ClaimedJob::unreadable`] set (it becomes `dead` in its unit's commit).
    pub jobs: Vec<ClaimedJob>,
    /// Their state rows.
    pub states: States,
    /// When no job was claimed: how many are still due (jobs this claim could not take).
    /// (Absent from an answer only on a database older than the baseline.)
    pub due: Option<i64>,
    /// Jobs the claim found past `max_attempts` and made `dead` instead of leasing them
    /// (`claim_patch_batch`, `supabase/schemas/30_patch_queue.sql`).
    pub exhausted: Vec<i64>,
}

/// The claim's answer as sent: every job and state row raw, decoded one by one (see
/// [`crate::jobs::rows`]), so one row's values cannot fail the batch.
#[derive(Deserialize)]
struct ClaimedWire {
    #[serde(default)]
    jobs: RawRows,
    #[serde(default)]
    conversation_states: RawRows,
    #[serde(default)]
    character_states: RawRows,
    #[serde(default)]
    due: Option<i64>,
    #[serde(default)]
    exhausted: Vec<i64>,
}

/// What identifies a claimed job even when the rest of its row cannot be read (the ids; the
/// attempt counts when readable). Other fields are skipped unread, so any value decodes.
#[derive(Deserialize)]
struct JobKey {
    id: i64,
    conversation_id: Uuid,
    #[serde(default)]
    character_id: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    attempts: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    max_attempts: Option<Box<serde_json::value::RawValue>>,
}

/// A key field read leniently: `None` unless it is exactly a `T`.
fn lenient<T: serde::de::DeserializeOwned>(
    raw: &Option<Box<serde_json::value::RawValue>>,
) -> Option<T> {
    serde_json::from_str(raw.as_ref()?.get()).ok()
}

impl From<ClaimedWire> for Claimed {
    fn from(wire: ClaimedWire) -> Claimed {
        let decoded = decode_rows::<ClaimedJob, JobKey>(wire.jobs);
        let mut jobs = decoded.rows;
        for refused in decoded.refused {
            match refused.key {
                Some(key) => jobs.push(ClaimedJob {
                    id: key.id,
                    conversation_id: key.conversation_id,
                    character_id: lenient(&key.character_id),
                    patch: serde_json::Value::Null,
                    attempts: lenient(&key.attempts).unwrap_or(1),
                    max_attempts: lenient(&key.max_attempts).unwrap_or(1),
                    unreadable: Some(format!("patch job cannot be read: {}", refused.reason)),
                }),
                // Never seen: SQL writes the ids. The job stays leased; its lease expires
                // and a claim past max_attempts makes it dead.
                None => {
                    tracing::error!(reason = %refused.reason, "a claimed patch job has no readable id")
                }
            }
        }
        jobs.sort_by_key(|j| j.id);
        Claimed {
            jobs,
            states: States::from_raw(wire.conversation_states, wire.character_states),
            due: wire.due,
            exhausted: wire.exhausted,
        }
    }
}

/// What to do with one unit of a batch.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum UnitAction {
    /// Compare-and-swap the rows, finish the jobs.
    Commit {
        /// Every job of the unit (the fence).
        jobs: Vec<i64>,
        /// Rows to write.
        states: Vec<StateWrite>,
        /// Jobs applied.
        done: Vec<i64>,
        /// Jobs that can never apply.
        dead: Vec<DeadJob>,
    },
    /// Give up for this run: `failed` until `run_after` (or `dead` at max attempts).
    Fail {
        /// The unit's jobs.
        jobs: Vec<i64>,
        /// `last_error`.
        error: String,
        /// When a later run may try again.
        run_after: DateTime<Utc>,
    },
    /// Hand the jobs back unstarted (`pending`, the claim's attempt returned).
    Release {
        /// The unit's jobs.
        jobs: Vec<i64>,
    },
}

/// A job marked dead with its reason.
#[derive(Clone, Debug, Serialize)]
pub struct DeadJob {
    /// Job id.
    pub id: i64,
    /// `last_error`.
    pub error: String,
}

/// The outcome of one unit.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct UnitResult {
    /// Index of the unit in the request.
    pub unit: usize,
    /// `committed`, `failed`, `released`, `conflict` or `lease_lost`.
    pub result: String,
    /// Jobs that became dead.
    pub dead: Vec<i64>,
}

/// Open jobs by status.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct QueueCounts {
    /// Due now (pending/failed past run_after, or processing with an expired lease).
    pub due: i64,
    /// `pending`.
    pub pending: i64,
    /// `processing`.
    pub processing: i64,
    /// `processing` with an expired lease.
    pub expired_leases: i64,
    /// `failed` (will be retried).
    pub failed: i64,
    /// `dead` (gave up).
    pub dead: i64,
}

/// Leases up to `max_jobs` due jobs, whole conversations, for `lease_secs`; when it takes
/// none, [`Claimed::due`] says how many are still due.
pub async fn claim(
    db: &Supabase,
    owner: &str,
    lease_secs: u64,
    max_jobs: usize,
    now: Option<DateTime<Utc>>,
) -> Result<Claimed> {
    let args = json!({ "p_owner": owner, "p_lease_seconds": lease_secs, "p_max_jobs": max_jobs, "p_now": now });
    db.rpc("claim_patch_batch", &args).await
}

/// The current state rows of the given conversations and characters.
pub async fn read_states(
    db: &Supabase,
    conversations: &[Uuid],
    characters: &[Uuid],
) -> Result<States> {
    let args = json!({ "p_conversation_ids": conversations, "p_character_ids": characters });
    db.rpc("read_patch_states", &args).await
}

/// Commits, fails or releases each unit; one result per unit.
pub async fn commit(
    db: &Supabase,
    owner: &str,
    units: &[UnitAction],
    now: Option<DateTime<Utc>>,
) -> Result<Vec<UnitResult>> {
    let args = json!({ "p_owner": owner, "p_units": units, "p_now": now });
    db.rpc("commit_patch_batch", &args).await
}

/// Open jobs by status.
pub async fn count(db: &Supabase, now: Option<DateTime<Utc>>) -> Result<QueueCounts> {
    db.rpc("count_patch_jobs", &json!({ "p_now": now })).await
}

/// Brings failed or dead jobs back to `pending`; returns how many.
pub async fn requeue(db: &Supabase, ids: &[i64]) -> Result<i64> {
    db.rpc("requeue_patch_jobs", &json!({ "p_ids": ids })).await
}
