//! supacron: reliable cron jobs for Vercel + Supabase apps, on Vercel's Rust runtime.
//!
//! Each Vercel Function under `api/` is a few lines calling [`function::vercel::respond`]
//! with its function (a job's entry, or the status). Everything else lives here:
//!
//! - [`config`]: the environment, read once, validated, secrets redacted;
//! - [`auth`]: `CRON_SECRET` / `INTERNAL_API_KEY` checks in constant time;
//! - [`function`]: the front door of every function (methods, auth, answers, errors, logs);
//! - [`supabase`]: the PostgREST client with the service-role key;
//! - [`jobs`]: the jobs themselves, and their catalog ([`jobs::catalog`]: names, paths,
//!   schedules);
//! - [`status`]: the run history and queues as a report, verdicts and a page;
//! - [`console`]: the status page's operator console (sign-in, actions, drill-downs);
//! - [`check`]: what a database must hold for the jobs (schema version, app contract);
//! - [`notify`]: heartbeat pings and alert webhooks after runs;
//! - [`schedules`]: when each job runs and who wakes it (`vercel.json`'s crons and schedules);
//! - [`invocation`], [`error`], [`logging`], [`secret`]: the shared vocabulary (one run of
//!   one job, what it reports, its errors, logs and secrets).

pub mod auth;
pub mod check;
pub mod cli;
pub mod config;
pub mod console;
pub mod error;
pub mod function;
pub mod invocation;
pub mod jobs;
pub mod llm;
pub mod logging;
pub mod notify;
pub mod redact;
pub mod retry;
pub mod schedules;
pub mod secret;
pub mod status;
pub mod supabase;

pub use jobs::catalog::Job;
