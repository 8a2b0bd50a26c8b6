//! Fixture factories: one async function per table, taking a `New…` struct whose `Default`
//! is a valid row, and returning the new row's id.
//!
//! ```ignore
//! let job = factory::patch_job(&db.client, NewPatchJob {
//!     patch: json!({"conversation": {"mood": "happy"}}),
//!     ..Default::default()
//! }).await;
//! ```
//!
//! Missing parents are created on the fly (a patch job without `conversation_id` gets a new
//! conversation, which gets a new character), so a test spells out only what it is about.
//! `None` timestamps take the column's default (`now()`), and fields that the schema's CHECKs tie
//! together are filled consistently (a `processing` job gets a lease, a `done` one a
//! `finished_at`). Factories write as the connection's user (the superuser in [`crate::TestDb`]),
//! like a seed: RLS does not apply.

mod chat;
mod ops;
mod schedules;
mod training;

pub use chat::{
    NewCharacter, NewConversation, NewMemory, NewPatchJob, character, conversation, memory,
    message, messages, patch_job,
};
pub use ops::{NewCronRun, NewJobLock, cron_run, job_lock};
pub use schedules::{NewPost, NewSchedule, NewTick, post, schedule, tick};
pub use training::{NewDecision, NewItem, NewOutcome, decision, item, outcome};

/// Panics with a readable message when a factory insert fails (fixtures are never expected to).
fn inserted(
    what: &str,
    result: Result<tokio_postgres::Row, tokio_postgres::Error>,
) -> tokio_postgres::Row {
    result.unwrap_or_else(|e| panic!("factory::{what}: {}", crate::sql::describe(&e)))
}
