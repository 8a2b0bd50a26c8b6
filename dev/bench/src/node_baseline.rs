//! Baseline 3: seed 000's patch cron as a TypeScript/Node developer would write it — a
//! Next.js route with `@supabase/supabase-js`, `fast-json-patch` and `json-merge-patch`
//! (`dev/bench/baseline3/app/api/cron/patch/route.js`, plain JavaScript run by `node`) —
//! against the same dev server and database as ours. `scripts/bench.sh` installs its
//! packages into `dev/bench/baseline3/node_modules` (`npm ci`, from the committed lock);
//! without `node` or without the installed packages it is skipped with the reason printed.
//!
//! `run.mjs` calls the route's `GET` as Vercel Cron would, one invocation after another,
//! and prints its elapsed time (node's start-up excluded, like ours in-process) and peak
//! memory; the benchmark counts the requests the dev server answered and verifies the
//! effects (each job once, in order). It also runs two drains overlapping (as two Vercel
//! invocations can) and reports whether the effects still hold, and times one idle
//! invocation from spawning node to its exit (the cost table's TypeScript cold start).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;
use testkit::TestEnv;

use crate::Result;
use crate::backlog;
use crate::throughput::Measured;

/// What `run.mjs` prints.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct NodeRun {
    /// Jobs the drain (or the single call) handled.
    pub processed: i64,
    /// Milliseconds inside node, module loading excluded.
    pub elapsed_ms: f64,
    /// `maxRSS` of the node process, MB.
    pub peak_rss_mb: f64,
}

/// The folder of baseline 3.
pub fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("baseline3")
}

/// `Err(reason)` when baseline 3 cannot run here.
pub fn available() -> std::result::Result<(), String> {
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => return Err("node is not installed (baseline 3 needs Node.js ≥ 20)".into()),
    }
    let modules = folder().join("node_modules/@supabase/supabase-js");
    if !modules.is_dir() {
        return Err(format!(
            "its packages are not installed: run scripts/bench.sh (it runs `npm ci` in {})",
            folder().display()
        ));
    }
    Ok(())
}

/// Handles the first `max_jobs` jobs with `runs` overlapping drains (each drains
/// `max_jobs`; overlapping ones compete for the same jobs).
pub async fn run(env: &TestEnv, max_jobs: i64, runs: usize) -> Result<(Measured, NodeRun)> {
    let requests = env.server.request_count();
    let args = vec!["drain".to_string(), max_jobs.to_string(), runs.to_string()];
    let (run, _) = blocking(env, args).await?;
    Ok((
        Measured {
            jobs: run.processed,
            elapsed: Duration::from_secs_f64(run.elapsed_ms / 1000.0),
            requests: env.server.request_count() - requests,
        },
        run,
    ))
}

/// One idle invocation in a fresh node process: the wall time from spawn to exit, the
/// requests it made, and node's peak memory.
pub async fn idle(env: &TestEnv) -> Result<(Duration, u64, NodeRun)> {
    let requests = env.server.request_count();
    let (run, wall) = blocking(env, vec!["once".to_string()]).await?;
    Ok((wall, env.server.request_count() - requests, run))
}

async fn blocking(env: &TestEnv, args: Vec<String>) -> Result<(NodeRun, Duration)> {
    // The dev server runs on this process's runtime: node must not block it.
    let node_env = NodeEnv {
        rest_url: env.rest_url(),
        key: env.service_key.clone(),
    };
    tokio::task::spawn_blocking(move || node_env.node(&args)).await?
}

struct NodeEnv {
    rest_url: String,
    key: String,
}

impl NodeEnv {
    fn node(&self, args: &[String]) -> Result<(NodeRun, Duration)> {
        let base = self.rest_url.trim_end_matches("/rest/v1").to_string();
        let started = Instant::now();
        let out = Command::new("node")
            .arg("run.mjs")
            .args(args)
            .current_dir(folder())
            .env("NEXT_PUBLIC_SUPABASE_URL", base)
            .env("SUPABASE_SERVICE_ROLE_KEY", &self.key)
            .env("CRON_SECRET", "bench-cron-secret")
            .stdin(Stdio::null())
            .output()?;
        let wall = started.elapsed();
        if !out.status.success() {
            return Err(format!(
                "baseline 3 (node run.mjs {}) failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )
            .into());
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().last().unwrap_or_default();
        let run: NodeRun = serde_json::from_str(line)
            .map_err(|e| format!("baseline 3 printed {line:?}, not its result: {e}"))?;
        Ok((run, wall))
    }
}

/// Whether two overlapping drains of `jobs` jobs applied each job once, in order: the
/// report's words for it.
pub async fn overlapping(env: &TestEnv, jobs: i64) -> Result<String> {
    let (measured, _) = run(env, jobs, 2).await?;
    let effects = backlog::effects(&env.db.client).await?;
    Ok(if effects.is_clean() {
        format!(
            "each job once, in order ({} jobs done, {:.0} requests per 1,000 jobs)",
            effects.done,
            measured.requests_per_1000()
        )
    } else {
        format!("WRONG EFFECTS: {}", effects.describe())
    })
}
