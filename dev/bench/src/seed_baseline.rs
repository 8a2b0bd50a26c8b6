//! Baseline 1: the patch job as seed 000 describes it, one job at a time, each step its own
//! PostgREST request, through the same client supacron uses:
//!
//! 1. list the `pending | failed` jobs (a page at a time, oldest first);
//! 2. for each job: read its `conversation_states` row and its `character_states` row with
//!    their `version`; apply the patch (skipping a row whose `run_state.applied_patch_job_ids`
//!    has the job already), with the same pure code as ours;
//! 3. write each changed row with its version check (`version=eq.<read>`), ledger appended;
//! 4. mark the job `done`.
//!
//! Nothing else writes during the benchmark, so seed 000's conflict path (mark `processing`,
//! sleep 80 ms × 2^k, retry) never runs: a version conflict here is an error.

use std::time::Instant;

use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use supacron::jobs::patch::document::{PartPatch, PatchDocument, apply_part};
use supacron::jobs::patch::plan::with_ledger;
use supacron::supabase::Supabase;
use testkit::TestEnv;
use uuid::Uuid;

use crate::Result;
use crate::throughput::{Measured, supabase};

/// Jobs listed per request.
const PAGE: usize = 100;

#[derive(Debug, Deserialize)]
struct ListedJob {
    id: i64,
    conversation_id: Uuid,
    character_id: Option<Uuid>,
    patch: Value,
}

#[derive(Debug, Deserialize)]
struct Row {
    state: Value,
    run_state: Value,
    version: i64,
}

/// Handles the first `max_jobs` jobs of the backlog, one by one.
pub async fn run(env: &TestEnv, max_jobs: i64) -> Result<Measured> {
    let db = supabase(env);
    let requests = env.server.request_count();
    let started = Instant::now();
    let mut jobs = 0;
    while jobs < max_jobs {
        let page: Vec<ListedJob> = db
            .fetch(
                db.from("patch_jobs")
                    .select("id,conversation_id,character_id,patch")
                    .in_("status", ["pending", "failed"])
                    .order("id.asc")
                    .limit(PAGE.min((max_jobs - jobs) as usize)),
                "list jobs",
            )
            .await?;
        if page.is_empty() {
            break;
        }
        for job in &page {
            apply_one(&db, job).await?;
            jobs += 1;
        }
    }
    Ok(Measured {
        jobs,
        elapsed: started.elapsed(),
        requests: env.server.request_count() - requests,
    })
}

async fn apply_one(db: &Supabase, job: &ListedJob) -> Result<()> {
    let conversation = read(
        db,
        "conversation_states",
        "conversation_id",
        job.conversation_id,
    )
    .await?;
    let character = match job.character_id {
        Some(id) => Some((id, read(db, "character_states", "character_id", id).await?)),
        None => None,
    };
    let document = PatchDocument::parse(&job.patch).map_err(|e| e.0)?;
    if let Some(part) = &document.conversation {
        write(
            db,
            "conversation_states",
            "conversation_id",
            job.conversation_id,
            &conversation,
            part,
            job.id,
        )
        .await?;
    }
    if let (Some(part), Some((id, row))) = (&document.character, &character) {
        write(
            db,
            "character_states",
            "character_id",
            *id,
            row,
            part,
            job.id,
        )
        .await?;
    }
    let done = json!({ "status": "done", "finished_at": Utc::now(), "attempts": 1 });
    let marked: Vec<Value> = db
        .fetch(
            db.from("patch_jobs")
                .eq("id", job.id.to_string())
                .update(done.to_string()),
            "mark job done",
        )
        .await?;
    if marked.len() != 1 {
        return Err(format!("job {} was not marked done", job.id).into());
    }
    Ok(())
}

async fn read(db: &Supabase, table: &str, key: &str, id: Uuid) -> Result<Row> {
    let mut rows: Vec<Row> = db
        .fetch(
            db.from(table)
                .select("state,run_state,version")
                .eq(key, id.to_string()),
            "read state",
        )
        .await?;
    rows.pop()
        .ok_or_else(|| format!("no {table} row for {id}").into())
}

#[allow(clippy::too_many_arguments)]
async fn write(
    db: &Supabase,
    table: &str,
    key: &str,
    id: Uuid,
    row: &Row,
    part: &PartPatch,
    job_id: i64,
) -> Result<()> {
    let in_ledger = row.run_state["applied_patch_job_ids"]
        .as_array()
        .is_some_and(|ids| ids.iter().any(|v| v.as_i64() == Some(job_id)));
    if in_ledger {
        return Ok(());
    }
    let state = apply_part(key.trim_end_matches("_id"), &row.state, part).map_err(|e| e.0)?;
    let body = json!({
        "state": state,
        "run_state": with_ledger(&row.run_state, &[job_id]),
        "version": row.version + 1,
    });
    let written: Vec<Value> = db
        .fetch(
            db.from(table)
                .select("version")
                .eq(key, id.to_string())
                .eq("version", row.version.to_string())
                .update(body.to_string()),
            "write state",
        )
        .await?;
    if written.is_empty() {
        return Err(format!("version conflict on {table} {id}, but nothing else writes").into());
    }
    Ok(())
}
