//! Planning a batch (pure): which jobs commit together, and what each commit writes.
//!
//! A claimed batch is split into **units**: the connected groups of jobs that share a state
//! row (a conversation's jobs share its row; conversations of the same character share the
//! character's row). Each unit commits atomically with a compare-and-swap on every row it
//! changes, so a conflict on one row retries only its unit.
//!
//! Within a unit, jobs apply in `id` order. A job already in a row's ledger
//! (`run_state.applied_patch_job_ids`, seed 000) is not applied to that row again. The
//! ledger keeps the last [`LEDGER_CAPACITY`] ids per row. The bound is safe because the
//! ledger is a second line of defence, not the first: a job is marked `done` in the same
//! transaction that appends it to the ledger, `done` is final (requeueing refuses it), and
//! every commit is fenced by the job's lease — so a job can only meet a row again while
//! its commit is in flight, and the ledger only needs the ids of the last few commits.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::document::{PatchDocument, apply_part};
use crate::jobs::rows::{MAX_DOCUMENT_DEPTH, RawRows, decode_rows, value_depth};

/// Ids kept in each row's ledger.
pub const LEDGER_CAPACITY: usize = 256;

/// A job as claimed.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ClaimedJob {
    /// Job id (the order of application).
    pub id: i64,
    /// The conversation whose state the `conversation` part patches.
    pub conversation_id: Uuid,
    /// The character whose state the `character` part patches (the job's own, else the
    /// conversation's).
    pub character_id: Option<Uuid>,
    /// The patch document.
    pub patch: Value,
    /// Attempts so far, this claim included.
    pub attempts: i32,
    /// Attempts allowed in total.
    pub max_attempts: i32,
    /// Why the job's row could not be read (its patch too deep, ...): it can never apply
    /// and becomes `dead` with this reason. Set by the decoder, never sent.
    #[serde(skip)]
    pub unreadable: Option<String>,
}

/// A state row as read.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct StateRow {
    /// Conversation or character id.
    pub id: Uuid,
    /// The state object.
    pub state: Value,
    /// Pipeline bookkeeping (holds the ledger).
    pub run_state: Value,
    /// Version for compare-and-swap.
    pub version: i64,
}

/// The current state rows of a batch.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(from = "StatesWire")]
pub struct States {
    /// `conversation_states` rows.
    pub conversation_states: Vec<StateRow>,
    /// `character_states` rows.
    pub character_states: Vec<StateRow>,
    /// Rows that exist but cannot be read (a state nested too deep), with why: their jobs
    /// become `dead` with that reason.
    pub unreadable: Vec<(RowKind, Uuid, String)>,
}

/// The state rows as sent, each decoded on its own ([`crate::jobs::rows`]).
#[derive(Deserialize)]
struct StatesWire {
    #[serde(default)]
    conversation_states: RawRows,
    #[serde(default)]
    character_states: RawRows,
}

#[derive(Deserialize)]
struct RowKey {
    id: Uuid,
}

impl From<StatesWire> for States {
    fn from(wire: StatesWire) -> States {
        States::from_raw(wire.conversation_states, wire.character_states)
    }
}

impl States {
    /// Decodes each state row on its own; unreadable rows are kept with their reason.
    pub fn from_raw(conversations: RawRows, characters: RawRows) -> States {
        let mut states = States::default();
        for (kind, raw) in [
            (RowKind::Conversation, conversations),
            (RowKind::Character, characters),
        ] {
            let decoded = decode_rows::<StateRow, RowKey>(raw);
            match kind {
                RowKind::Conversation => states.conversation_states = decoded.rows,
                RowKind::Character => states.character_states = decoded.rows,
            }
            for refused in decoded.refused {
                match refused.key {
                    Some(key) => states.unreadable.push((kind, key.id, refused.reason)),
                    None => {
                        tracing::error!(reason = %refused.reason, "a state row has no readable id")
                    }
                }
            }
        }
        states
    }
}

/// Which table a row lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// `conversation_states`.
    Conversation,
    /// `character_states`.
    Character,
}

/// Jobs that commit together.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// The unit's jobs, in id order.
    pub jobs: Vec<ClaimedJob>,
}

/// One compare-and-swap write of a state row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateWrite {
    /// Which table.
    pub kind: RowKind,
    /// Row id.
    pub id: Uuid,
    /// The version read; the write fails if the row has moved on.
    pub expected_version: i64,
    /// The new state.
    pub state: Value,
    /// The new run_state (ledger appended).
    pub run_state: Value,
}

/// What committing a unit writes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitPlan {
    /// Rows to compare-and-swap.
    pub writes: Vec<StateWrite>,
    /// Jobs applied (or found in the ledger already).
    pub done: Vec<i64>,
    /// Jobs that can never apply, with the reason.
    pub dead: Vec<(i64, String)>,
}

/// Splits a batch into units: connected components of jobs over their state rows.
pub fn group_units(jobs: &[ClaimedJob]) -> Vec<Unit> {
    let mut parent: Vec<usize> = (0..jobs.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: HashMap<(RowKind, Uuid), usize> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let rows = [
            Some((RowKind::Conversation, job.conversation_id)),
            job.character_id.map(|c| (RowKind::Character, c)),
        ];
        for row in rows.into_iter().flatten() {
            match owner.get(&row) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a] = b;
                }
                None => {
                    owner.insert(row, i);
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<ClaimedJob>> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(job.clone());
    }
    let mut units: Vec<Unit> = groups
        .into_values()
        .map(|mut jobs| {
            jobs.sort_by_key(|j| j.id);
            Unit { jobs }
        })
        .collect();
    units.sort_by_key(|u| u.jobs[0].id);
    units
}

struct Working {
    row: StateRow,
    applied: Vec<i64>,
}

/// Applies a unit's jobs, in id order, to the current `states`.
pub fn plan_unit(unit: &Unit, states: &States) -> UnitPlan {
    let mut rows: HashMap<(RowKind, Uuid), Working> = HashMap::new();
    let lookup = |kind, id: Uuid| {
        let list = match kind {
            RowKind::Conversation => &states.conversation_states,
            RowKind::Character => &states.character_states,
        };
        list.iter().find(|r| r.id == id).cloned()
    };
    let unreadable = |kind, id: Uuid| {
        states
            .unreadable
            .iter()
            .find(|(k, i, _)| *k == kind && *i == id)
            .map(|(_, _, reason)| reason.clone())
    };
    let mut plan = UnitPlan::default();
    for job in &unit.jobs {
        if let Some(reason) = &job.unreadable {
            plan.dead.push((job.id, reason.clone()));
            continue;
        }
        let document = match PatchDocument::parse(&job.patch) {
            Ok(document) => document,
            Err(e) => {
                plan.dead.push((job.id, e.0));
                continue;
            }
        };
        let parts = [
            (
                "conversation",
                RowKind::Conversation,
                Some(job.conversation_id),
                &document.conversation,
            ),
            (
                "character",
                RowKind::Character,
                job.character_id,
                &document.character,
            ),
        ];
        // Compute every part first; write nothing unless all of them apply.
        let mut results = Vec::new();
        let mut failure = None;
        for (name, kind, id, part) in parts {
            let Some(part) = part else { continue };
            let Some(id) = id else {
                failure = Some(format!(
                    "the patch has a `{name}` part but the job has no {name}"
                ));
                break;
            };
            let working = match rows.entry((kind, id)) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => match lookup(kind, id) {
                    Some(row) => entry.insert(Working {
                        row,
                        applied: Vec::new(),
                    }),
                    None => {
                        failure = Some(match unreadable(kind, id) {
                            Some(reason) => format!(
                                "the {name}_states row of {id} cannot be read ({reason}); fix or reset that state"
                            ),
                            None => format!(
                                "unknown {name} {id}: it has no {name}_states row (deleted, or never created)"
                            ),
                        });
                        break;
                    }
                },
            };
            if in_ledger(&working.row.run_state, job.id) {
                continue;
            }
            match apply_part(name, &working.row.state, part) {
                Ok(next) if value_depth(&next) > MAX_DOCUMENT_DEPTH => {
                    failure = Some(format!(
                        "`{name}` patch would nest the state deeper than {MAX_DOCUMENT_DEPTH} levels"
                    ));
                    break;
                }
                Ok(next) => results.push(((kind, id), next)),
                Err(e) => {
                    failure = Some(e.0);
                    break;
                }
            }
        }
        if let Some(reason) = failure {
            plan.dead.push((job.id, reason));
            continue;
        }
        for (key, next) in results {
            let working = rows.get_mut(&key).expect("row loaded above");
            working.row.state = next;
            working.applied.push(job.id);
        }
        plan.done.push(job.id);
    }
    let mut keys: Vec<_> = rows.keys().copied().collect();
    keys.sort();
    for key in keys {
        let working = &rows[&key];
        if working.applied.is_empty() {
            continue;
        }
        plan.writes.push(StateWrite {
            kind: key.0,
            id: key.1,
            expected_version: working.row.version,
            state: working.row.state.clone(),
            run_state: with_ledger(&working.row.run_state, &working.applied),
        });
    }
    plan
}

fn ledger(run_state: &Value) -> impl Iterator<Item = i64> + '_ {
    run_state
        .get("applied_patch_job_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
}

fn in_ledger(run_state: &Value, job_id: i64) -> bool {
    ledger(run_state).any(|id| id == job_id)
}

/// `run_state` with `applied` appended to its ledger, keeping the newest
/// [`LEDGER_CAPACITY`] ids.
pub fn with_ledger(run_state: &Value, applied: &[i64]) -> Value {
    let mut ids: Vec<i64> = ledger(run_state).collect();
    let seen: BTreeSet<i64> = ids.iter().copied().collect();
    ids.extend(applied.iter().copied().filter(|id| !seen.contains(id)));
    let start = ids.len().saturating_sub(LEDGER_CAPACITY);
    let mut next = match run_state {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    next.insert("applied_patch_job_ids".into(), json!(ids[start..]));
    Value::Object(next)
}

#[cfg(test)]
mod tests;
