//! Factories for the chat tables: characters, conversations (and their state rows), messages,
//! patch jobs and memories.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::inserted;

/// A character; its `character_states` row is created by the schema's trigger.
#[derive(Debug, Clone)]
pub struct NewCharacter {
    pub name: String,
    pub persona: String,
    pub timezone: String,
    /// Written to `character_states.state` when set.
    pub state: Option<Value>,
    /// Written to `character_states.version` when set.
    pub version: Option<i64>,
}

impl Default for NewCharacter {
    fn default() -> Self {
        NewCharacter {
            name: "Test Character".into(),
            persona: "A character made by testkit.".into(),
            timezone: "UTC".into(),
            state: None,
            version: None,
        }
    }
}

/// Inserts a character (and sets its state row if asked); returns its id.
pub async fn character(db: &impl GenericClient, new: NewCharacter) -> Uuid {
    let row = inserted(
        "character",
        db.query_one(
            "insert into public.characters (name, persona, timezone) values ($1, $2, $3)
             returning id",
            &[&new.name, &new.persona, &new.timezone],
        )
        .await,
    );
    let id: Uuid = row.get(0);
    if new.state.is_some() || new.version.is_some() {
        inserted(
            "character state",
            db.query_one(
                "update public.character_states
                 set state = coalesce($2, state), version = coalesce($3, version)
                 where character_id = $1 returning character_id",
                &[&id, &new.state, &new.version],
            )
            .await,
        );
    }
    id
}

/// A conversation; its `conversation_states` row is created by the schema's trigger.
#[derive(Debug, Clone, Default)]
pub struct NewConversation {
    /// `None`: a new default character.
    pub character_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub title: Option<String>,
    pub memory_cursor: i64,
    /// Written to `conversation_states.state` when set.
    pub state: Option<Value>,
    /// Written to `conversation_states.run_state` when set.
    pub run_state: Option<Value>,
    /// Written to `conversation_states.version` when set.
    pub version: Option<i64>,
}

/// Inserts a conversation (and sets its state row if asked); returns its id.
pub async fn conversation(db: &impl GenericClient, new: NewConversation) -> Uuid {
    let character_id = match new.character_id {
        Some(id) => id,
        None => character(db, NewCharacter::default()).await,
    };
    let row = inserted(
        "conversation",
        db.query_one(
            "insert into public.conversations (character_id, user_id, title, memory_cursor)
             values ($1, $2, $3, $4) returning id",
            &[&character_id, &new.user_id, &new.title, &new.memory_cursor],
        )
        .await,
    );
    let id: Uuid = row.get(0);
    if new.state.is_some() || new.run_state.is_some() || new.version.is_some() {
        inserted(
            "conversation state",
            db.query_one(
                "update public.conversation_states
                 set state = coalesce($2, state), run_state = coalesce($3, run_state),
                     version = coalesce($4, version)
                 where conversation_id = $1 returning conversation_id",
                &[&id, &new.state, &new.run_state, &new.version],
            )
            .await,
        );
    }
    id
}

/// Inserts one message; returns its id.
pub async fn message(
    db: &impl GenericClient,
    conversation_id: Uuid,
    role: &str,
    content: &str,
) -> i64 {
    let row = inserted(
        "message",
        db.query_one(
            "insert into public.messages (conversation_id, role, content) values ($1, $2, $3)
             returning id",
            &[&conversation_id, &role, &content],
        )
        .await,
    );
    row.get(0)
}

/// Inserts `count` messages alternating user / assistant ("message 1", "message 2", ...);
/// returns their ids in order.
pub async fn messages(db: &impl GenericClient, conversation_id: Uuid, count: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    for n in 1..=count {
        let role = if n % 2 == 1 { "user" } else { "assistant" };
        ids.push(message(db, conversation_id, role, &format!("message {n}")).await);
    }
    ids
}

/// A patch job. The default is a due, pending merge patch of a new conversation.
#[derive(Debug, Clone)]
pub struct NewPatchJob {
    /// `None`: a new conversation (with a new character).
    pub conversation_id: Option<Uuid>,
    pub character_id: Option<Uuid>,
    pub patch: Value,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub error_kind: Option<String>,
    pub last_error: Option<String>,
    /// `None`: now().
    pub run_after: Option<DateTime<Utc>>,
    /// `None` with status `processing`: "testkit".
    pub lease_owner: Option<String>,
    /// `None` with status `processing`: now() + 5 minutes.
    pub lease_until: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    /// `None` with status `done` / `dead`: now().
    pub finished_at: Option<DateTime<Utc>>,
}

impl Default for NewPatchJob {
    fn default() -> Self {
        NewPatchJob {
            conversation_id: None,
            character_id: None,
            patch: json!({"conversation": {"touched_by": "testkit"}}),
            status: "pending".into(),
            attempts: 0,
            max_attempts: 25,
            error_kind: None,
            last_error: None,
            run_after: None,
            lease_owner: None,
            lease_until: None,
            idempotency_key: None,
            finished_at: None,
        }
    }
}

/// Inserts a patch job; returns its id.
pub async fn patch_job(db: &impl GenericClient, new: NewPatchJob) -> i64 {
    let conversation_id = match new.conversation_id {
        Some(id) => id,
        None => conversation(db, NewConversation::default()).await,
    };
    let processing = new.status == "processing";
    let lease_owner = new
        .lease_owner
        .or_else(|| processing.then(|| "testkit".to_string()));
    let row = inserted(
        "patch_job",
        db.query_one(
            "insert into public.patch_jobs
                 (conversation_id, character_id, patch, status, attempts, max_attempts,
                  error_kind, last_error, run_after, lease_owner, lease_until, idempotency_key,
                  finished_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()), $10,
                     coalesce($11, case when $4 = 'processing' then now() + interval '5 minutes' end),
                     $12,
                     coalesce($13, case when $4 in ('done', 'dead') then now() end))
             returning id",
            &[
                &conversation_id,
                &new.character_id,
                &new.patch,
                &new.status,
                &new.attempts,
                &new.max_attempts,
                &new.error_kind,
                &new.last_error,
                &new.run_after,
                &lease_owner,
                &new.lease_until,
                &new.idempotency_key,
                &new.finished_at,
            ],
        )
        .await,
    );
    row.get(0)
}

/// A memory (summary of a message range).
#[derive(Debug, Clone)]
pub struct NewMemory {
    /// `None`: a new conversation. The character is always the conversation's.
    pub conversation_id: Option<Uuid>,
    pub from_message_id: i64,
    pub to_message_id: i64,
    pub summary: String,
    pub facts: Value,
    pub model: Option<String>,
}

impl Default for NewMemory {
    fn default() -> Self {
        NewMemory {
            conversation_id: None,
            from_message_id: 1,
            to_message_id: 1,
            summary: "A summary made by testkit.".into(),
            facts: json!([]),
            model: Some("test-model".into()),
        }
    }
}

/// Inserts a memory; returns its id.
pub async fn memory(db: &impl GenericClient, new: NewMemory) -> i64 {
    let conversation_id = match new.conversation_id {
        Some(id) => id,
        None => conversation(db, NewConversation::default()).await,
    };
    let row = inserted(
        "memory",
        db.query_one(
            "insert into public.memories
                 (conversation_id, character_id, from_message_id, to_message_id, summary, facts, model)
             select c.id, c.character_id, $2, $3, $4, $5, $6
             from public.conversations c where c.id = $1
             returning id",
            &[
                &conversation_id,
                &new.from_message_id,
                &new.to_message_id,
                &new.summary,
                &new.facts,
                &new.model,
            ],
        )
        .await,
    );
    row.get(0)
}
