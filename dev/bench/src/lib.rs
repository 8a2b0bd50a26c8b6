//! bench: supacron's benchmark, as ratios measured in one run (issue #8).
//!
//! Absolute times drift on shared machines, so every number that matters is a ratio to a
//! baseline measured in the same run, on the same database and the same local PostgREST
//! server (`dev/postgrest-dev`, with its added latency at 0 ms and 2 ms per request):
//!
//! - [`throughput`]: the real patch job in-process ([`supacron::jobs::patch::run`]) against
//!   baseline 1, seed 000 as written ([`seed_baseline`]: one job at a time, one request per
//!   step), and baseline 2, the same transitions in batched SQL on a plain connection
//!   ([`sql_baseline`]), and baseline 3, seed 000 as a Next.js route with supabase-js on
//!   Node ([`node_baseline`]); jobs per second and requests per 1,000 jobs.
//! - [`scale_out`]: 1, 2, 4, 8 overlapping patch runs draining one backlog.
//! - [`process`]: cold start of each function binary against a minimal `vercel_runtime`
//!   hello-world (`hello-fn`, same profile), binary sizes, peak memory of a real run.
//! - [`scale`]: the claim's cost with 10,000 vs 1,000,000 and 10,000,000 rows in
//!   `patch_jobs`, and its plan.
//! - [`cost`]: what a day costs (invocations, GB-seconds, Supabase requests), from the
//!   measured durations and memory.
//!
//! [`report`] turns the measurements into the table (PASS / FALL SHORT per target).
//! `scripts/bench.sh` builds the release binaries and runs the whole thing; `--smoke` runs
//! tiny sizes (part of the test suite: it checks that everything runs and that ours
//! processes every job).

pub mod backlog;
pub mod cost;
pub mod machine;
pub mod node_baseline;
pub mod options;
pub mod process;
pub mod report;
pub mod scale;
pub mod scale_out;
pub mod seed_baseline;
pub mod sql_baseline;
pub mod throughput;

pub use options::{Options, Section};
pub use report::Report;

/// Any failure of the benchmark (it stops and says what went wrong).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs the selected sections and returns their report.
pub async fn run(options: &Options) -> Result<Report> {
    let mut report = Report::new(options);
    if options.runs(Section::Throughput) {
        throughput::run(options, &mut report).await?;
    }
    if options.runs(Section::ScaleOut) {
        scale_out::run(options, &mut report).await?;
    }
    if options.runs(Section::Process) {
        process::run(options, &mut report).await?;
    }
    if options.runs(Section::Scale) {
        scale::run(options, &mut report).await?;
    }
    cost::add_table(&mut report);
    Ok(report)
}
