//! The schema contract as the binary knows it, for `supacron check`.
//!
//! [`SCHEMA_VERSION`] is the migration that last changed supacron's schema; the database
//! answers its own with `supacron_schema_version()` (`supabase/schemas/00_helpers.sql`). A
//! migration that changes the schema rewrites both (docs/development.md "Changing the
//! schema"); tests fail while they differ. [`APP_COLUMNS`] is `supacron_app_contract()`
//! (`supabase/schemas/10_app_contract.sql`) as Rust (a test keeps them equal); [`needs`] is,
//! per job, supacron's own tables, views and RPC functions it calls.

use crate::Job;

/// The name of the latest migration this binary's SQL calls were written against.
pub const SCHEMA_VERSION: &str = "20261204012000_run_deadline_wording";

/// One column of an app table that a job reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppColumn {
    /// The app's table (in `public`).
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// PostgreSQL type names (`pg_type.typname`) the jobs can use.
    pub types: &'static [&'static str],
    /// True when the install adds it if absent; false when the app must have it.
    pub added: bool,
    /// The jobs that use it, space-separated (`console`: the status page's console).
    pub jobs: &'static str,
}

impl AppColumn {
    /// Whether `job` (by name) uses this column.
    pub fn used_by(&self, job: &str) -> bool {
        self.jobs.split(' ').any(|j| j == job)
    }
}

/// Every app-table column the jobs use (`supacron_app_contract()`).
pub const APP_COLUMNS: &[AppColumn] = &[
    AppColumn {
        table: "characters",
        column: "id",
        types: &["uuid"],
        added: false,
        jobs: "patch memory schedule",
    },
    AppColumn {
        table: "characters",
        column: "name",
        types: &["text", "varchar"],
        added: false,
        jobs: "memory schedule",
    },
    AppColumn {
        table: "characters",
        column: "persona",
        types: &["text", "varchar"],
        added: true,
        jobs: "memory schedule",
    },
    AppColumn {
        table: "conversations",
        column: "id",
        types: &["uuid"],
        added: false,
        jobs: "patch memory",
    },
    AppColumn {
        table: "conversations",
        column: "character_id",
        types: &["uuid"],
        added: false,
        jobs: "patch memory",
    },
    AppColumn {
        table: "conversations",
        column: "memory_cursor",
        types: &["int8", "int4"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "conversations",
        column: "memory_attempts",
        types: &["int4", "int8"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "conversations",
        column: "memory_last_error",
        types: &["text", "varchar"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "conversations",
        column: "memory_retry_after",
        types: &["timestamptz"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "messages",
        column: "id",
        types: &["int8", "int4"],
        added: false,
        jobs: "memory",
    },
    AppColumn {
        table: "messages",
        column: "conversation_id",
        types: &["uuid"],
        added: false,
        jobs: "memory",
    },
    AppColumn {
        table: "messages",
        column: "role",
        types: &["text", "varchar"],
        added: false,
        jobs: "memory",
    },
    AppColumn {
        table: "messages",
        column: "content",
        types: &["text", "varchar"],
        added: false,
        jobs: "memory",
    },
    AppColumn {
        table: "messages",
        column: "created_at",
        types: &["timestamptz"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "conversation_states",
        column: "conversation_id",
        types: &["uuid"],
        added: false,
        jobs: "patch",
    },
    AppColumn {
        table: "conversation_states",
        column: "state",
        types: &["jsonb"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "conversation_states",
        column: "run_state",
        types: &["jsonb"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "conversation_states",
        column: "version",
        types: &["int8", "int4"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "character_states",
        column: "character_id",
        types: &["uuid"],
        added: false,
        jobs: "patch",
    },
    AppColumn {
        table: "character_states",
        column: "state",
        types: &["jsonb"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "character_states",
        column: "run_state",
        types: &["jsonb"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "character_states",
        column: "version",
        types: &["int8", "int4"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "id",
        types: &["int8", "int4"],
        added: false,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "conversation_id",
        types: &["uuid"],
        added: false,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "patch",
        types: &["jsonb"],
        added: false,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "character_id",
        types: &["uuid"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "status",
        types: &["text", "varchar"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "attempts",
        types: &["int4", "int8"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "max_attempts",
        types: &["int4", "int8"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "error_kind",
        types: &["text", "varchar"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "last_error",
        types: &["text", "varchar"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "run_after",
        types: &["timestamptz"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "lease_owner",
        types: &["text", "varchar"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "lease_until",
        types: &["timestamptz"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "idempotency_key",
        types: &["text", "varchar"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "patch_jobs",
        column: "created_at",
        types: &["timestamptz"],
        added: true,
        jobs: "console",
    },
    AppColumn {
        table: "patch_jobs",
        column: "updated_at",
        types: &["timestamptz"],
        added: true,
        jobs: "console",
    },
    AppColumn {
        table: "patch_jobs",
        column: "finished_at",
        types: &["timestamptz"],
        added: true,
        jobs: "patch",
    },
    AppColumn {
        table: "memories",
        column: "conversation_id",
        types: &["uuid"],
        added: false,
        jobs: "memory",
    },
    AppColumn {
        table: "memories",
        column: "summary",
        types: &["text", "varchar"],
        added: false,
        jobs: "memory schedule",
    },
    AppColumn {
        table: "memories",
        column: "character_id",
        types: &["uuid"],
        added: true,
        jobs: "memory schedule",
    },
    AppColumn {
        table: "memories",
        column: "from_message_id",
        types: &["int8", "int4"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "memories",
        column: "to_message_id",
        types: &["int8", "int4"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "memories",
        column: "facts",
        types: &["jsonb"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "memories",
        column: "model",
        types: &["text", "varchar"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "memories",
        column: "prompt_tokens",
        types: &["int4", "int8"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "memories",
        column: "completion_tokens",
        types: &["int4", "int8"],
        added: true,
        jobs: "memory",
    },
    AppColumn {
        table: "memories",
        column: "created_at",
        types: &["timestamptz"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "id",
        types: &["uuid"],
        added: false,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "character_id",
        types: &["uuid"],
        added: false,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "kind",
        types: &["text", "varchar"],
        added: false,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "cron_expr",
        types: &["text", "varchar"],
        added: false,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "timezone",
        types: &["text", "varchar"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "prompt",
        types: &["text", "varchar"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "enabled",
        types: &["bool"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "catch_up",
        types: &["text", "varchar"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "catch_up_window",
        types: &["interval"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "next_run_at",
        types: &["timestamptz"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "last_run_at",
        types: &["timestamptz"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "last_error",
        types: &["text", "varchar"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_schedules",
        column: "created_at",
        types: &["timestamptz"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "character_id",
        types: &["uuid"],
        added: false,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "content",
        types: &["text", "varchar"],
        added: false,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "schedule_id",
        types: &["uuid"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "tick_id",
        types: &["int8"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "kind",
        types: &["text", "varchar"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "model",
        types: &["text", "varchar"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "prompt_tokens",
        types: &["int4", "int8"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "completion_tokens",
        types: &["int4", "int8"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "character_posts",
        column: "created_at",
        types: &["timestamptz"],
        added: true,
        jobs: "schedule",
    },
    AppColumn {
        table: "items",
        column: "id",
        types: &["uuid"],
        added: false,
        jobs: "outcomes",
    },
    AppColumn {
        table: "items",
        column: "status",
        types: &["text", "varchar"],
        added: false,
        jobs: "outcomes",
    },
    AppColumn {
        table: "items",
        column: "status_changed_at",
        types: &["timestamptz"],
        added: false,
        jobs: "outcomes",
    },
    AppColumn {
        table: "decisions",
        column: "id",
        types: &["uuid"],
        added: false,
        jobs: "outcomes rewards",
    },
    AppColumn {
        table: "decisions",
        column: "item_id",
        types: &["uuid"],
        added: false,
        jobs: "outcomes",
    },
    AppColumn {
        table: "decisions",
        column: "action",
        types: &["text", "varchar"],
        added: false,
        jobs: "rewards",
    },
    AppColumn {
        table: "decisions",
        column: "decided_at",
        types: &["timestamptz"],
        added: false,
        jobs: "outcomes rewards",
    },
    AppColumn {
        table: "decisions",
        column: "confidence",
        types: &["float8", "float4", "numeric"],
        added: true,
        jobs: "rewards",
    },
    AppColumn {
        table: "decisions",
        column: "reward",
        types: &["float8", "float4", "numeric"],
        added: true,
        jobs: "rewards",
    },
    AppColumn {
        table: "decisions",
        column: "reward_details",
        types: &["jsonb"],
        added: true,
        jobs: "rewards",
    },
    AppColumn {
        table: "decisions",
        column: "reward_version",
        types: &["int4", "int8"],
        added: true,
        jobs: "rewards",
    },
    AppColumn {
        table: "decisions",
        column: "reward_computed_at",
        types: &["timestamptz"],
        added: true,
        jobs: "rewards",
    },
    AppColumn {
        table: "decisions",
        column: "last_error",
        types: &["text", "varchar"],
        added: true,
        jobs: "outcomes rewards",
    },
    AppColumn {
        table: "decisions",
        column: "updated_at",
        types: &["timestamptz"],
        added: true,
        jobs: "console",
    },
    AppColumn {
        table: "outcomes",
        column: "decision_id",
        types: &["uuid"],
        added: false,
        jobs: "outcomes rewards",
    },
    AppColumn {
        table: "outcomes",
        column: "item_id",
        types: &["uuid"],
        added: true,
        jobs: "outcomes",
    },
    AppColumn {
        table: "outcomes",
        column: "terminal_status",
        types: &["text", "varchar"],
        added: true,
        jobs: "outcomes rewards",
    },
    AppColumn {
        table: "outcomes",
        column: "reached_at",
        types: &["timestamptz"],
        added: true,
        jobs: "outcomes rewards",
    },
    AppColumn {
        table: "outcomes",
        column: "resolution_seconds",
        types: &["float8", "float4", "numeric"],
        added: true,
        jobs: "outcomes rewards",
    },
    AppColumn {
        table: "outcomes",
        column: "created_at",
        types: &["timestamptz"],
        added: true,
        jobs: "rewards",
    },
];

/// What one job (or, for `None`, the status function) needs of supacron's own schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// supacron's own tables.
    pub tables: &'static [&'static str],
    /// Views.
    pub views: &'static [&'static str],
    /// RPC functions it calls.
    pub functions: &'static [&'static str],
}

/// Every run records itself with these (`src/function/record.rs`).
const RUN_HISTORY: &[&str] = &["begin_cron_run", "finish_cron_run"];

/// What `job` needs (`None`: the status function and its console).
pub fn needs(job: Option<Job>) -> Needs {
    match job {
        Some(Job::Patch) => Needs {
            tables: &["cron_runs", "cron_schedules"],
            views: &[],
            functions: &[
                "claim_patch_batch",
                "read_patch_states",
                "commit_patch_batch",
                "count_patch_jobs",
                "enqueue_patch_job",
            ],
        },
        Some(Job::Memory) => Needs {
            tables: &["cron_runs", "cron_schedules", "job_locks", "llm_spend_days"],
            views: &[],
            functions: &[
                "acquire_job_lock",
                "renew_job_lock",
                "release_job_lock",
                "reserve_llm_tokens",
                "settle_llm_tokens",
                "count_memory_candidates",
                "pick_memory_conversations",
                "commit_memory",
                "fail_memory",
            ],
        },
        Some(Job::Schedule) => Needs {
            tables: &[
                "cron_runs",
                "cron_schedules",
                "job_locks",
                "schedule_ticks",
                "llm_spend_days",
            ],
            views: &[],
            functions: &[
                "acquire_job_lock",
                "renew_job_lock",
                "release_job_lock",
                "reserve_llm_tokens",
                "settle_llm_tokens",
                "due_schedules",
                "advance_schedules",
                "open_schedule_ticks",
                "complete_schedule_tick",
                "fail_schedule_tick",
                "count_schedule_work",
            ],
        },
        Some(Job::Outcomes) => Needs {
            tables: &["cron_runs", "cron_schedules"],
            views: &[],
            functions: &["record_outcomes", "count_pending_outcomes"],
        },
        Some(Job::Rewards) => Needs {
            tables: &["cron_runs", "cron_schedules"],
            views: &[],
            functions: &["pending_rewards", "write_rewards", "count_pending_rewards"],
        },
        None => Needs {
            tables: &["cron_runs", "cron_schedules", "console_actions"],
            views: &["queue_health", "cron_run_summary"],
            functions: &[
                "status_report",
                "requeue_patch_jobs",
                "console_sign_in",
                "console_sign_out",
                "console_act",
                "console_action_finished",
                "console_overview",
                "console_list",
                "console_patch_job",
            ],
        },
    }
}

/// Every function a run records itself with, whatever the job.
pub fn run_history_functions() -> &'static [&'static str] {
    RUN_HISTORY
}

/// supacron's own tables and views, and the patch queue: nothing of them may be readable or
/// callable by `anon` or `authenticated`.
pub const PRIVATE_RELATIONS: &[&str] = &[
    "cron_runs",
    "cron_schedules",
    "job_locks",
    "schedule_ticks",
    "cron_incidents",
    "console_actions",
    "queue_health",
    "cron_run_summary",
    "patch_jobs",
];
