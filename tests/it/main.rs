//! supacron's integration tests: one test binary (fast to link on small machines) with
//! one module per area. Tests speak HTTP to the real function binaries and, where a
//! database is involved, to real PostgreSQL through the PostgREST-compatible dev server.

mod check;
mod cli_run;
mod cli_scheduler;
mod cli_scheduler_target;
mod cli_serve;
mod console;
mod console_browser;
mod dev_script;
mod existing_app;
mod functions_auth;
mod heartbeats_alerts;
mod llm_client;
mod llm_spend;
mod memory;
mod patch_concurrency;
mod patch_pipeline;
mod poison_patch;
mod poison_rows;
mod row_decoders;
mod run_history;
mod schedule;
mod schema_version;
mod secrets_in_logs;
mod status_page;
mod status_views;
mod support;
mod training;
mod vercel_config;
mod vercel_schedules;
