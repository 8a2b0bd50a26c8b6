//! The `supacron` command's modes: the jobs without Vercel, through the very same
//! [`crate::function`] wrapper (so answers, logs and — with `cron_runs` — run history are
//! identical to the functions').
//!
//! - [`serve`]: every function path on one port, with the functions' auth (like `vercel dev`);
//! - [`run`]: one run of one job in this process, its answer and an exit code for crontab;
//! - [`scheduler`]: runs each job at its `vercel.json` times ([`vercel_json`], [`cron`]),
//!   never overlapping a job with itself, stopping gracefully on a signal ([`shutdown`]).
//!
//! Argument parsing lives in the binary (`src/bin/supacron/`), so none of this needs a
//! command-line parser and the function binaries link none of it.

pub mod cron;
pub mod progress;
pub mod run;
pub mod scheduler;
pub mod serve;
pub mod shutdown;
pub mod vercel_json;
