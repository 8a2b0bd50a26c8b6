//! Factories for character schedules, their ticks and the posts they produce.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::{NewCharacter, character, inserted};

/// A schedule. The default is an enabled hourly post in UTC with `next_run_at` not computed.
#[derive(Debug, Clone)]
pub struct NewSchedule {
    /// `None`: a new character.
    pub character_id: Option<Uuid>,
    pub kind: String,
    pub cron_expr: String,
    pub timezone: String,
    pub prompt: String,
    pub enabled: bool,
    pub catch_up: String,
    /// `None`: the column default (24 hours).
    pub catch_up_window: Option<Duration>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Default for NewSchedule {
    fn default() -> Self {
        NewSchedule {
            character_id: None,
            kind: "post".into(),
            cron_expr: "0 * * * *".into(),
            timezone: "UTC".into(),
            prompt: "Say something nice.".into(),
            enabled: true,
            catch_up: "latest".into(),
            catch_up_window: None,
            next_run_at: None,
            last_run_at: None,
            last_error: None,
        }
    }
}

/// Inserts a schedule; returns its id.
pub async fn schedule(db: &impl GenericClient, new: NewSchedule) -> Uuid {
    let character_id = match new.character_id {
        Some(id) => id,
        None => character(db, NewCharacter::default()).await,
    };
    let window_secs = new.catch_up_window.map(|d| d.as_secs_f64());
    let row = inserted(
        "schedule",
        db.query_one(
            "insert into public.character_schedules
                 (character_id, kind, cron_expr, timezone, prompt, enabled, catch_up,
                  catch_up_window, next_run_at, last_run_at, last_error)
             values ($1, $2, $3, $4, $5, $6, $7,
                     coalesce(make_interval(secs => $8), interval '24 hours'), $9, $10, $11)
             returning id",
            &[
                &character_id,
                &new.kind,
                &new.cron_expr,
                &new.timezone,
                &new.prompt,
                &new.enabled,
                &new.catch_up,
                &window_secs,
                &new.next_run_at,
                &new.last_run_at,
                &new.last_error,
            ],
        )
        .await,
    );
    row.get(0)
}

/// A tick (one slot of a schedule).
#[derive(Debug, Clone)]
pub struct NewTick {
    /// `None`: a new default schedule.
    pub schedule_id: Option<Uuid>,
    /// `None`: the start of the current hour.
    pub slot: Option<DateTime<Utc>>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

impl Default for NewTick {
    fn default() -> Self {
        NewTick {
            schedule_id: None,
            slot: None,
            status: "pending".into(),
            attempts: 0,
            last_error: None,
        }
    }
}

/// Inserts a tick; returns its id.
pub async fn tick(db: &impl GenericClient, new: NewTick) -> i64 {
    let schedule_id = match new.schedule_id {
        Some(id) => id,
        None => schedule(db, NewSchedule::default()).await,
    };
    let row = inserted(
        "tick",
        db.query_one(
            "insert into public.schedule_ticks (schedule_id, slot, status, attempts, last_error)
             values ($1, coalesce($2, date_trunc('hour', now())), $3, $4, $5)
             returning id",
            &[
                &schedule_id,
                &new.slot,
                &new.status,
                &new.attempts,
                &new.last_error,
            ],
        )
        .await,
    );
    row.get(0)
}

/// A generated post or diary entry.
#[derive(Debug, Clone)]
pub struct NewPost {
    /// `None`: the schedule's character, or a new character when there is no schedule.
    pub character_id: Option<Uuid>,
    pub schedule_id: Option<Uuid>,
    pub tick_id: Option<i64>,
    pub kind: String,
    pub content: String,
    pub model: Option<String>,
}

impl Default for NewPost {
    fn default() -> Self {
        NewPost {
            character_id: None,
            schedule_id: None,
            tick_id: None,
            kind: "post".into(),
            content: "A post made by testkit.".into(),
            model: Some("test-model".into()),
        }
    }
}

/// Inserts a post; returns its id.
pub async fn post(db: &impl GenericClient, new: NewPost) -> i64 {
    let character_id = match (new.character_id, new.schedule_id) {
        (Some(id), _) => id,
        (None, Some(schedule_id)) => inserted(
            "post (schedule's character)",
            db.query_one(
                "select character_id from public.character_schedules where id = $1",
                &[&schedule_id],
            )
            .await,
        )
        .get(0),
        (None, None) => character(db, NewCharacter::default()).await,
    };
    let row = inserted(
        "post",
        db.query_one(
            "insert into public.character_posts
                 (character_id, schedule_id, tick_id, kind, content, model)
             values ($1, $2, $3, $4, $5, $6)
             returning id",
            &[
                &character_id,
                &new.schedule_id,
                &new.tick_id,
                &new.kind,
                &new.content,
                &new.model,
            ],
        )
        .await,
    );
    row.get(0)
}
