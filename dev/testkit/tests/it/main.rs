//! testkit's own integration tests, against real PostgreSQL: the migrations, the security model,
//! the bootstrap roles, the seed, the factories and (through dev/postgrest-dev) the Data API's
//! view of the schema. One test binary, several modules, to keep link time down.

mod bootstrap;
mod catalog;
mod factory;
mod postgrest;
mod schema;
mod security;
mod seed;
mod triggers;

/// Every table the migrations create, in the `public` schema.
pub const TABLES: &[&str] = &[
    "characters",
    "conversations",
    "messages",
    "conversation_states",
    "character_states",
    "patch_jobs",
    "memories",
    "character_schedules",
    "schedule_ticks",
    "character_posts",
    "items",
    "decisions",
    "outcomes",
    "cron_runs",
    "job_locks",
    "cron_schedules",
    "console_actions",
    "llm_spend_days",
    "cron_incidents",
];

/// Every view the migrations create, in the `public` schema.
pub const VIEWS: &[&str] = &["queue_health", "cron_run_summary"];
