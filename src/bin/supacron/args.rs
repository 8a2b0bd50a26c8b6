//! The command line of `supacron`: subcommands, flags and their `--help` texts.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use supacron::Job;

/// The job names `run` accepts, for help and errors.
pub const JOB_NAMES: &str = "patch, memory, schedule, outcomes, rewards";

#[derive(Debug, Parser)]
#[command(
    name = "supacron",
    version,
    about = "Runs supacron's jobs without Vercel: the same handlers, auth and SQL as the functions.",
    long_about = "Runs supacron's jobs without Vercel: the same handlers, auth and SQL as the Vercel \
functions, configured by the same environment variables (see .env.example).\n\n\
Logs are JSON lines on stdout (stderr for `run`), human-readable when that is a terminal \
or with --pretty; SUPACRON_LOG_FORMAT sets the default.",
    after_help = "Examples:\n  supacron run patch\n  supacron run rewards --dry-run\n  \
supacron serve --port 3000\n  supacron scheduler --serve"
)]
pub struct Cli {
    /// Human-readable log lines.
    #[arg(long, global = true, conflicts_with = "json")]
    pub pretty: bool,
    /// One JSON object per log line.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one job once, here and now, and print its JSON answer (for a person or a crontab).
    #[command(
        long_about = "Run one job once in this process and print its JSON answer on stdout \
(logs go to stderr).\n\nExit codes: 0 the run completed (status ok, partial or skipped); \
1 it could not (Supabase unreachable or erroring, configuration missing or invalid); \
2 usage error (also a malformed ./.env).\n\nNo CRON_SECRET is needed: the process is trusted, it already holds the \
service-role key. The run is recorded with trigger `manual`, or `scheduler` with \
--scheduled (crontab lines: the status page's missing-tick check counts only scheduled runs).",
        after_help = "Examples:\n  supacron run patch\n  supacron run --job=rewards\n  \
supacron run outcomes --dry-run\n  supacron run patch --scheduled   # from a crontab line"
    )]
    Run(RunArgs),
    /// Serve every function path on one port, with the functions' auth (like `vercel dev`).
    #[command(
        long_about = "Serve every function path (/api/cron/patch, /api/cron/memory, \
/api/cron/schedule, /api/training/outcomes, /api/training/calculate-pending, \
/api/cron/status) on one port, \
with the same credentials (CRON_SECRET; INTERNAL_API_KEY for the training paths), answers \
and logs as on Vercel. Unknown paths get a JSON 404. SIGTERM or Ctrl-C stops accepting and \
lets requests in progress finish.",
        after_help = "Example:\n  supacron serve --port 3000\n  \
curl -H \"Authorization: Bearer $CRON_SECRET\" localhost:3000/api/cron/patch"
    )]
    Serve(ServeArgs),
    /// Run each job at its vercel.json times, in this process (systemd, PM2, a VPS).
    #[command(
        long_about = "Run each job at the times of vercel.json's `crons` (5-field UTC \
expressions) and `schedules` (array form, in their `timezone`): the same file Vercel reads, \
in this process. A job never overlaps \
itself: a tick that comes while its previous run is still going is skipped (logged). \
SIGTERM or Ctrl-C: no new runs; runs in progress get --shutdown-grace-secs to finish; \
exit 0. A schedule's `jitter` delays each firing by a random 0 to jitter × 60 s.\n\nvercel.json is read from --vercel-json, else ./vercel.json, else the copy \
built into this binary. Runs are in-process (no CRON_SECRET needed, trigger `scheduler`); \
--serve also serves the functions over HTTP, which does need CRON_SECRET.\n\nWith --target URL (or API_BASE_URL) each tick is instead a request to the deployed function: POST URL + path + ?scheduled=1, empty body, Authorization: Bearer $CRON_SECRET (or x-internal-api-key: $INTERNAL_API_KEY for the training jobs when no CRON_SECRET is set). The job waits for the answer (up to its maxDuration + 30 s) and is not started again meanwhile; a 5xx, a timeout or a connection failure is retried after 10 s, 30 s, 90 s while the retry can start before the job's next tick. Each answer is one log line (HTTP status, run id, status, counts). No Supabase variables are needed then: this is a clock, the deployment does the work.",
        after_help = "Examples:\n  supacron scheduler\n  \
supacron scheduler --serve --port 3000\n  supacron scheduler --run-on-start\n  \
supacron scheduler --target https://my-app.vercel.app   # a Hobby project's clock"
    )]
    Scheduler(SchedulerArgs),
    /// Before deploying: is the Supabase project ready for every job? One line per finding.
    #[command(
        long_about = "Check the Supabase project of SUPABASE_URL with the service-role key \
(SUPABASE_SERVICE_ROLE_KEY) before deploying: every table, column, view and RPC function each \
job needs (read from PostgREST's OpenAPI description at /rest/v1/, with the app columns' \
types), the schema version this binary expects against the installed one, that anon and \
authenticated can neither read supacron's tables nor call its functions, and that the jobs' \
variables set here are valid (those not set here are notes: set them in Vercel). One line per \
finding, `error:` or `note:`, each saying what to do, then a summary line.\n\nExit codes: 0 \
ready (notes only); 1 not ready (at least one error: a job cannot run, or supacron's data is \
open to anon / authenticated); 2 usage error (SUPABASE_URL or the key missing or invalid, a \
malformed ./.env); 3 Supabase could not be asked (unreachable, key refused, no OpenAPI \
description).\n\nvercel.json (--vercel-json, else ./vercel.json, else the copy built into this \
binary) is checked as Vercel reads it (expressions, time zones, jitter) and against \
SUPACRON_PRIVATE_FUNCTIONS: every job named there needs its function's `schedule/v1beta` \
trigger, and every function with the trigger needs its job named.",
        after_help = "Example:\n  SUPABASE_URL=https://<project>.supabase.co \
SUPABASE_SERVICE_ROLE_KEY=... supacron check"
    )]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The vercel.json to check private functions in [default: ./vercel.json, else built in].
    #[arg(long, value_name = "FILE")]
    pub vercel_json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job: patch, memory, schedule, outcomes, rewards (also calculate-pending or a path).
    #[arg(value_parser = parse_job, value_name = "JOB")]
    pub job: Option<Job>,
    /// The job, seed 002 style (`--job=rewards`); the same as the positional JOB.
    #[arg(
        long = "job",
        value_parser = parse_job,
        value_name = "JOB",
        conflicts_with = "job"
    )]
    pub job_flag: Option<Job>,
    /// Report what the run would do and change nothing (like `?dry_run=1`).
    #[arg(long)]
    pub dry_run: bool,
    /// Started by a scheduler such as cron: record the run with trigger `scheduler`, not
    /// `manual`, so the status page counts it as the job's scheduled run.
    #[arg(long)]
    pub scheduled: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (0 picks a free one; the log's first line names it).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// The address to listen on; 0.0.0.0 to accept connections from other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Seconds that requests (and runs) in progress get to finish after SIGTERM or Ctrl-C.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Also serve every function over HTTP (needs CRON_SECRET), like `supacron serve`.
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub server: ServeArgs,
    /// The vercel.json to read the schedules from [default: ./vercel.json, else built in].
    #[arg(long, value_name = "FILE")]
    pub vercel_json: Option<PathBuf>,
    /// Also run every scheduled job once right at start, then follow the schedule.
    #[arg(long)]
    pub run_on_start: bool,
    /// Send each tick to the deployed functions at URL (POST URL+path?scheduled=1 with
    /// Bearer CRON_SECRET) instead of running the job here [env: API_BASE_URL].
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
}

fn parse_job(name: &str) -> Result<Job, String> {
    Job::from_name(name).ok_or_else(|| format!("unknown job; the jobs are {JOB_NAMES}"))
}

/// The answer as printed: indented on a terminal, else one line (for logs and `jq`).
pub fn format_answer(body: &str) -> String {
    if !std::io::stdout().is_terminal() {
        return body.to_string();
    }
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| body.to_string())
}
