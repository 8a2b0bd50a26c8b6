//! Cold start, size and memory of the real function binaries, each run as its own process
//! the way `vercel dev` runs them (`VERCEL_DEV_PORT`), against the dev server.
//!
//! - Cold start: from just before the process is spawned to the end of its first
//!   successful answer (connecting as soon as the port accepts), the median of many starts,
//!   binaries interleaved; the reference is `hello-fn`, the smallest `vercel_runtime`
//!   function built with the same profile. The functions do their real work on an empty
//!   database: one request (`begin_cron_run` finds nothing pending and records the run).
//! - For reference, the patch job's empty-queue run in-process with a warm client: the
//!   database's share of `cron-patch`'s first answer (one request).
//! - Size: the file size of each binary.
//! - Peak memory: `VmHWM` of `cron-patch` after one invocation that applies a backlog of
//!   `memory_jobs` jobs (read from `/proc/<pid>/status` before the process is stopped).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use supacron::Job;
use supacron::config::Tunables;
use supacron::invocation::{RunContext, Trigger};
use supacron::jobs::patch::{self, PatchSettings};
use testkit::TestEnv;
use uuid::Uuid;

use crate::backlog::{self, Backlog};
use crate::report::{IdleRun, Report, Target, ratio};
use crate::{Options, Result, node_baseline};

/// The function binaries (Cargo.toml `[[bin]]` names) and the paths they serve.
pub const FUNCTIONS: [(&str, &str); 6] = [
    ("cron-patch", "/api/cron/patch"),
    ("cron-memory", "/api/cron/memory"),
    ("cron-schedule", "/api/cron/schedule"),
    (
        "training-calculate-pending",
        "/api/training/calculate-pending",
    ),
    ("training-outcomes", "/api/training/outcomes"),
    ("cron-status", "/api/cron/status"),
];

/// The reference function.
pub const HELLO: (&str, &str) = ("hello-fn", "/api/hello");

const CRON_SECRET: &str = "bench-cron-secret-0123456789abcdef";
const MB: f64 = 1_000_000.0;

/// One binary to start.
#[derive(Clone)]
struct Binary {
    name: &'static str,
    path: PathBuf,
    url_path: &'static str,
}

/// An answer read off the wire.
struct Answer {
    status: u16,
    body: String,
    /// Since the spawn, when the port first accepted a connection.
    listening: Duration,
}

/// Measures and reports the process section.
pub async fn run(options: &Options, report: &mut Report) -> Result<()> {
    let dir = bin_dir(options)?;
    let binaries: Vec<Binary> = std::iter::once(HELLO)
        .chain(FUNCTIONS)
        .map(|(name, url_path)| Binary {
            name,
            path: dir.join(name),
            url_path,
        })
        .collect();
    if let Some(missing) = binaries.iter().find(|b| !b.path.is_file()) {
        return Err(format!(
            "{} not found: build the binaries first (scripts/bench.sh does: cargo build --release \
             -p supacron --bins && cargo build --release -p bench), or pass --bin-dir",
            missing.path.display()
        )
        .into());
    }
    eprintln!("process: binaries from {}", dir.display());

    let env = TestEnv::start().await;
    let vars = function_env(&env);
    let starts = options.cold_starts;
    let list = binaries.clone();
    let measured = tokio::task::spawn_blocking(move || cold_starts(&list, &vars, starts)).await??;
    let hello = &measured[0];
    report.row(
        format!("cold start: hello-fn, the vercel_runtime hello-world (median of {starts})"),
        format!(
            "{:.2} ms (listening at {:.2} ms)",
            ms(hello.answered()),
            ms(hello.listening())
        ),
    );
    for (binary, starts) in binaries.iter().zip(&measured).skip(1) {
        let r = ms(starts.answered()) / ms(hello.answered());
        let value = format!(
            "{:.2} ms (listening at {:.2} ms), {}",
            ms(starts.answered()),
            ms(starts.listening()),
            ratio(r)
        );
        let value = format!(
            "{value}, {:+.2} ms over hello-fn",
            ms(starts.answered()) - ms(hello.answered())
        );
        let measure = format!("cold start: {} / hello-fn", binary.name);
        if (200..300).contains(&starts.status) {
            report.check(measure, value, Target::at_most(r, 1.5, "≤ 1.5×"));
        } else {
            let status = starts.status;
            report.row(
                measure,
                format!("{value} (answers {status}: not a success yet)"),
            );
        }
    }
    // One more idle invocation of each function: its memory and its requests (the cost
    // table's idle day), with the cold start's median as its duration.
    for (binary, starts) in binaries.iter().zip(&measured).skip(1) {
        let vars = function_env(&env);
        let before = env.server.request_count();
        let (path, url) = (binary.path.clone(), binary.url_path);
        let (peak, _) =
            tokio::task::spawn_blocking(move || peak_memory(&path, url, &vars)).await??;
        report.idle.push(IdleRun {
            name: binary.name.to_string(),
            path: binary.url_path.to_string(),
            wall_ms: ms(starts.answered()),
            peak_mb: peak,
            requests: env.server.request_count() - before,
        });
    }
    match node_baseline::available() {
        Ok(()) => {
            let mut walls = Vec::new();
            let mut last = None;
            for _ in 0..options.cold_starts.min(5) {
                let (wall, requests, run) = node_baseline::idle(&env).await?;
                walls.push(wall);
                last = Some((requests, run));
            }
            if let Some((requests, run)) = last {
                let wall = median(&walls);
                report.row(
                    format!(
                        "cold start: baseline 3, node running its route once on an empty queue (median of {})",
                        walls.len()
                    ),
                    format!("{:.1} ms, {:.1} MB", ms(wall), run.peak_rss_mb),
                );
                report.typescript_idle = Some(IdleRun {
                    name: "baseline 3".into(),
                    path: "/api/cron/patch".into(),
                    wall_ms: ms(wall),
                    peak_mb: run.peak_rss_mb,
                    requests,
                });
            }
        }
        Err(reason) => eprintln!("process: baseline 3's idle invocation skipped: {reason}"),
    }
    let empty_run = empty_patch_run(&env, starts).await?;
    report.row(
        format!(
            "for reference: the patch job's empty-queue run in-process, warm (median of {starts})"
        ),
        format!("{:.2} ms", ms(empty_run)),
    );
    for binary in &binaries {
        let size = std::fs::metadata(&binary.path)?.len() as f64 / MB;
        let measure = format!("binary size: {}", binary.name);
        let value = format!("{size:.1} MB");
        if binary.name == HELLO.0 {
            report.row(measure, value);
        } else {
            report.check(measure, value, Target::at_most(size, 15.0, "≤ 15 MB"));
        }
    }
    drop(env);

    let jobs = options.memory_jobs;
    let patch = dir.join("cron-patch");
    let hello_path = dir.join(HELLO.0);
    let backlog = Backlog {
        characters: (jobs / 200).max(1),
        conversations: (jobs / 20).max(1),
        jobs,
    };
    let env = backlog.start(Duration::ZERO).await?;
    let vars = function_env(&env);
    let (peak, answer) = tokio::task::spawn_blocking(move || -> Result<(f64, Answer)> {
        peak_memory(&patch, "/api/cron/patch", &vars)
    })
    .await??;
    let body: Value = serde_json::from_str(&answer.body).map_err(|e| {
        format!(
            "cron-patch answered {}: {e}: {}",
            answer.status, answer.body
        )
    })?;
    if answer.status != 200 || body["processed"].as_i64() != Some(jobs) {
        return Err(format!(
            "cron-patch did not process the {jobs} jobs: {}",
            answer.body
        )
        .into());
    }
    let done = backlog::verify(&env.db.client).await?;
    if done != jobs {
        return Err(format!("cron-patch: {done} of {jobs} jobs done").into());
    }
    drop(env);
    let vars = vec![("CRON_SECRET".to_string(), CRON_SECRET.to_string())];
    let (hello_peak, _) =
        tokio::task::spawn_blocking(move || peak_memory(&hello_path, HELLO.1, &vars)).await??;
    report.patch_peak_mb = Some(peak);
    report.check(
        format!(
            "peak memory: cron-patch, one run of {} jobs",
            crate::report::thousands(jobs as f64)
        ),
        format!("{peak:.1} MB"),
        Target::at_most(peak, 30.0, "≤ 30 MB"),
    );
    report.row(
        "peak memory: hello-fn, one answer",
        format!("{hello_peak:.1} MB"),
    );
    Ok(())
}

/// The median time of the patch job's run on an empty queue, in-process with a warm client:
/// the database's share of `cron-patch`'s first answer.
async fn empty_patch_run(env: &TestEnv, runs: usize) -> Result<Duration> {
    let db = crate::throughput::supabase(env);
    let tunables = Tunables::default();
    let settings = PatchSettings::from_tunables(&tunables);
    let mut times = Vec::new();
    for i in 0..runs + 1 {
        let ctx = RunContext::new(
            Uuid::new_v4(),
            Job::Patch,
            Trigger::Manual,
            false,
            Duration::from_secs(50),
        );
        let started = Instant::now();
        patch::run(&ctx, &db, &settings)
            .await
            .map_err(|e| format!("the patch job failed: {e}"))?;
        if i > 0 {
            times.push(started.elapsed());
        }
    }
    Ok(median(&times))
}

fn bin_dir(options: &Options) -> Result<PathBuf> {
    if let Some(dir) = &options.bin_dir {
        return Ok(dir.clone());
    }
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .ok_or("the bench executable has no directory")?
        .to_path_buf())
}

/// What a function needs to run against `env` (and nothing else of ours).
fn function_env(env: &TestEnv) -> Vec<(String, String)> {
    [
        ("CRON_SECRET", CRON_SECRET.to_string()),
        ("SUPABASE_URL", env.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.clone()),
        ("SUPACRON_LLM_PROVIDER", "offline".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The cold starts of one binary.
#[derive(Clone, Default)]
struct ColdStarts {
    /// Spawn to the end of the first answer.
    answered: Vec<Duration>,
    /// Spawn to the first accepted connection.
    listening: Vec<Duration>,
    /// Status of the last answer.
    status: u16,
}

impl ColdStarts {
    fn answered(&self) -> Duration {
        median(&self.answered)
    }

    fn listening(&self) -> Duration {
        median(&self.listening)
    }
}

/// `starts` cold starts of each binary, interleaved in rotating order.
fn cold_starts(
    binaries: &[Binary],
    vars: &[(String, String)],
    starts: usize,
) -> Result<Vec<ColdStarts>> {
    let mut samples = vec![ColdStarts::default(); binaries.len()];
    for round in 0..starts {
        // Each round starts with another binary: no binary always follows the same one.
        let order = (0..binaries.len()).map(|i| (i + round) % binaries.len());
        for i in order {
            let (binary, samples) = (&binaries[i], &mut samples[i]);
            let started = Instant::now();
            let (mut child, addr) = spawn(&binary.path, vars)?;
            let answer = first_answer(&mut child, addr, binary.url_path, started);
            let elapsed = started.elapsed();
            let _ = child.kill();
            let _ = child.wait();
            let answer = answer.map_err(|e| format!("{}: {e}", binary.name))?;
            samples.answered.push(elapsed);
            samples.listening.push(answer.listening);
            samples.status = answer.status;
        }
    }
    Ok(samples)
}

/// Peak resident memory (MB) of `binary` after one answer, and the answer.
fn peak_memory(binary: &Path, url_path: &str, vars: &[(String, String)]) -> Result<(f64, Answer)> {
    let started = Instant::now();
    let (mut child, addr) = spawn(binary, vars)?;
    let answer = first_answer(&mut child, addr, url_path, started);
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer?;
    let kib: f64 = status?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or("no VmHWM in /proc/<pid>/status")?;
    Ok((kib * 1024.0 / MB, answer))
}

fn spawn(binary: &Path, vars: &[(String, String)]) -> Result<(Child, SocketAddr)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(binary)
        .env_clear()
        .env("VERCEL_DEV_PORT", port.to_string())
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    Ok((child, SocketAddr::from(([127, 0, 0, 1], port))))
}

/// Connects as soon as the process listens, sends one GET (as Vercel Cron does) and reads
/// the whole answer.
fn first_answer(
    child: &mut Child,
    addr: SocketAddr,
    url_path: &str,
    started: Instant,
) -> Result<Answer> {
    let mut stream = loop {
        match TcpStream::connect(addr) {
            Ok(stream) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(20) => {
                if let Some(status) = child.try_wait()? {
                    return Err(format!("exited before listening ({status})").into());
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            Err(e) => return Err(format!("not listening after 20 s: {e}").into()),
        }
    };
    let listening = started.elapsed();
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        stream,
        "GET {url_path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {CRON_SECRET}\r\n\
         User-Agent: vercel-cron/1.0\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP answer")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {head}"))?;
    Ok(Answer {
        status,
        body: body.to_string(),
        listening,
    })
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
