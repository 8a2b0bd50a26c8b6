//! The console's database calls, one SQL function each (`supabase/schemas/70_console.sql`):
//! sign-in and its throttle, sign-out, the actions (idempotent per form key, audited in
//! `console_actions`), and the reads of the drill-down pages.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::supabase::{Result, Supabase};

/// Rows per page of a drill-down list.
pub const PAGE_SIZE: u32 = 25;

/// Latest actions shown on the main page.
pub const ACTIONS_SHOWN: u32 = 10;

/// What `console_sign_in` decided.
#[derive(Clone, Debug, Deserialize)]
pub struct SignIn {
    /// False while too many sign-ins from this address failed recently.
    pub allowed: bool,
    /// When it is allowed again.
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
}

/// One row of the audit log (`console_actions`), as `console_act` and the lists answer it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Action {
    /// Row id (the `?done=` of the page after the action).
    #[serde(default)]
    pub id: i64,
    /// Who: the console session (empty for a refused sign-in).
    #[serde(default)]
    pub session_id: String,
    /// `sign_in`, `sign_out`, `requeue_dead_patch_jobs`, ...
    #[serde(default)]
    pub action: String,
    /// What it was about (`ids`, `all`, `job`).
    #[serde(default)]
    pub target: Map<String, Value>,
    /// `done`, `refused`, `running` or `failed`.
    #[serde(default)]
    pub outcome: String,
    /// How many rows it changed.
    #[serde(default)]
    pub rows: i64,
    /// The one line shown after it.
    #[serde(default)]
    pub notice: String,
    /// The run it started.
    #[serde(default)]
    pub run_id: Option<Uuid>,
    /// That run's answer.
    #[serde(default)]
    pub answer: Option<Value>,
    /// When.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// True when this form had been submitted before (nothing was done again).
    #[serde(default)]
    pub repeated: bool,
    /// True when the session had signed out (nothing was done).
    #[serde(default)]
    pub signed_out: bool,
}

/// An expired `job_locks` lease.
#[derive(Clone, Debug, Deserialize)]
pub struct ExpiredLock {
    /// The job holding it.
    pub job: String,
    /// The run that held it.
    pub lease_owner: Option<String>,
    /// When it expired.
    pub lease_until: Option<DateTime<Utc>>,
}

/// What the signed-in main page shows besides the status report.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Overview {
    /// The session signed out: its cookie no longer signs in.
    pub signed_out: bool,
    /// The action named by `?done=`.
    pub notice: Option<Action>,
    /// The latest actions.
    pub actions: Vec<Action>,
    /// Expired job locks (clearable).
    pub expired_locks: Vec<ExpiredLock>,
    /// Schedule ticks given up on.
    pub given_up_ticks: i64,
    /// Decisions the outcomes job refused.
    pub refused_outcomes: i64,
    /// Decisions the rewards job refused.
    pub refused_rewards: i64,
    /// Conversations whose first open patch job failed.
    pub held_conversations: i64,
}

/// One page of a drill-down list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Page {
    /// Rows in the whole list.
    pub total: i64,
    /// This page's rows, as the SQL function answers them.
    pub rows: Vec<Map<String, Value>>,
}

/// Records a sign-in attempt (`ok`: the secret matched) unless the address is throttled.
pub async fn sign_in(db: &Supabase, session: &str, client: &str, ok: bool) -> Result<SignIn> {
    let args = json!({ "p_session": session, "p_client": client, "p_ok": ok });
    db.rpc("console_sign_in", &args).await
}

/// Records that `session` signed out.
pub async fn sign_out(db: &Supabase, session: &str, client: &str) -> Result<()> {
    let args = json!({ "p_session": session, "p_client": client });
    db.rpc::<Option<Value>>("console_sign_out", &args)
        .await
        .map(|_| ())
}

/// Performs one action once per `form_key`, and records it.
pub async fn act(
    db: &Supabase,
    session: &str,
    form_key: Uuid,
    action: &str,
    target: &Value,
) -> Result<Action> {
    let args = json!({
        "p_session": session,
        "p_form_key": form_key,
        "p_action": action,
        "p_target": target,
    });
    db.rpc("console_act", &args).await
}

/// Records how a run started by `run_job_now` ended.
pub async fn finished(
    db: &Supabase,
    id: i64,
    outcome: &str,
    rows: i64,
    run_id: Option<Uuid>,
    answer: &Value,
    notice: &str,
) -> Result<()> {
    let args = json!({
        "p_id": id,
        "p_outcome": outcome,
        "p_rows": rows,
        "p_run_id": run_id,
        "p_answer": answer,
        "p_notice": notice,
    });
    db.rpc::<Option<Value>>("console_action_finished", &args)
        .await
        .map(|_| ())
}

/// The signed-in page's extras for `session`, with the notice of action `done`.
pub async fn overview(
    db: &Supabase,
    session: &str,
    done: Option<i64>,
    max_tick_attempts: i32,
) -> Result<Overview> {
    let args = json!({
        "p_session": session,
        "p_done": done,
        "p_limit": ACTIONS_SHOWN,
        "p_max_attempts": max_tick_attempts,
    });
    db.rpc("console_overview", &args).await
}

/// Page `page` (from 1) of the list `view` with `args`.
pub async fn list(db: &Supabase, view: &str, args: &Value, page: u32) -> Result<Page> {
    let body = json!({
        "p_view": view,
        "p_args": args,
        "p_limit": PAGE_SIZE,
        "p_offset": (page.max(1) - 1) * PAGE_SIZE,
    });
    db.rpc("console_list", &body).await
}

/// One patch job's history (None: no such job).
pub async fn patch_job(db: &Supabase, id: i64) -> Result<Option<Map<String, Value>>> {
    db.rpc("console_patch_job", &json!({ "p_id": id })).await
}
