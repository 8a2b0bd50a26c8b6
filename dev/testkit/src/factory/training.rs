//! Factories for the training tables: items, decisions and outcomes.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::inserted;

/// An item. The default is a fresh `INBOX` item.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub title: String,
    pub status: String,
    /// `None`: now().
    pub status_changed_at: Option<DateTime<Utc>>,
}

impl Default for NewItem {
    fn default() -> Self {
        NewItem {
            title: "Test item".into(),
            status: "INBOX".into(),
            status_changed_at: None,
        }
    }
}

/// Inserts an item; returns its id.
pub async fn item(db: &impl GenericClient, new: NewItem) -> Uuid {
    let row = inserted(
        "item",
        db.query_one(
            "insert into public.items (title, status, status_changed_at)
             values ($1, $2, coalesce($3, now()))
             returning id",
            &[&new.title, &new.status, &new.status_changed_at],
        )
        .await,
    );
    row.get(0)
}

/// A decision. The default is a `do_now` decision (confidence 0.8) on a new `INBOX` item,
/// without a reward.
#[derive(Debug, Clone)]
pub struct NewDecision {
    /// `None`: a new default item.
    pub item_id: Option<Uuid>,
    pub action: String,
    pub confidence: Option<f64>,
    pub policy_version: Option<String>,
    pub context: Value,
    /// `None`: now().
    pub decided_at: Option<DateTime<Utc>>,
    pub reward: Option<f64>,
    pub reward_details: Option<Value>,
    pub reward_version: Option<i32>,
    pub reward_computed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Default for NewDecision {
    fn default() -> Self {
        NewDecision {
            item_id: None,
            action: "do_now".into(),
            confidence: Some(0.8),
            policy_version: Some("test".into()),
            context: json!({}),
            decided_at: None,
            reward: None,
            reward_details: None,
            reward_version: None,
            reward_computed_at: None,
            last_error: None,
        }
    }
}

/// Inserts a decision; returns its id.
pub async fn decision(db: &impl GenericClient, new: NewDecision) -> Uuid {
    let item_id = match new.item_id {
        Some(id) => id,
        None => item(db, NewItem::default()).await,
    };
    let row = inserted(
        "decision",
        db.query_one(
            "insert into public.decisions
                 (item_id, action, confidence, policy_version, context, decided_at, reward,
                  reward_details, reward_version, reward_computed_at, last_error)
             values ($1, $2, $3, $4, $5, coalesce($6, now()), $7, $8, $9, $10, $11)
             returning id",
            &[
                &item_id,
                &new.action,
                &new.confidence,
                &new.policy_version,
                &new.context,
                &new.decided_at,
                &new.reward,
                &new.reward_details,
                &new.reward_version,
                &new.reward_computed_at,
                &new.last_error,
            ],
        )
        .await,
    );
    row.get(0)
}

/// An outcome. The default records `DONE` now for the given decision's item.
#[derive(Debug, Clone)]
pub struct NewOutcome {
    /// `None`: a new decision on a new item (the item itself is not changed).
    pub decision_id: Option<Uuid>,
    pub terminal_status: String,
    /// `None`: now().
    pub reached_at: Option<DateTime<Utc>>,
    /// `None`: reached_at - decided_at, in seconds.
    pub resolution_seconds: Option<f64>,
}

impl Default for NewOutcome {
    fn default() -> Self {
        NewOutcome {
            decision_id: None,
            terminal_status: "DONE".into(),
            reached_at: None,
            resolution_seconds: None,
        }
    }
}

/// Inserts an outcome for a decision (its item is the decision's); returns its id.
pub async fn outcome(db: &impl GenericClient, new: NewOutcome) -> i64 {
    let decision_id = match new.decision_id {
        Some(id) => id,
        None => decision(db, NewDecision::default()).await,
    };
    let row = inserted(
        "outcome",
        db.query_one(
            "insert into public.outcomes
                 (decision_id, item_id, terminal_status, reached_at, resolution_seconds)
             select d.id, d.item_id, $2, r.reached_at,
                    coalesce($4, extract(epoch from r.reached_at - d.decided_at)::double precision)
             from public.decisions d
             cross join lateral (select coalesce($3, now()) as reached_at) r
             where d.id = $1
             returning id",
            &[
                &decision_id,
                &new.terminal_status,
                &new.reached_at,
                &new.resolution_seconds,
            ],
        )
        .await,
    );
    row.get(0)
}
