//! Patch throughput and round trips: ours against both baselines, each on a fresh copy of
//! the same backlog, with the dev server's latency at each configured value.
//!
//! Ours and baseline 2 are timed over the whole backlog; baseline 1 over its first
//! `seed_sample` jobs (it handles one job at a time, so its rate per job is constant, and
//! the whole backlog at 2 ms would take minutes). Every run's effects are verified.

use std::time::{Duration, Instant};

use supacron::Job;
use supacron::config::{SupabaseConfig, Tunables};
use supacron::invocation::{RunContext, Trigger};
use supacron::jobs::patch::{self, PatchSettings};
use supacron::secret::Secret;
use supacron::supabase::Supabase;
use testkit::TestEnv;
use uuid::Uuid;

use crate::backlog::{self, Backlog};
use crate::report::{OursRun, Report, Target, ratio, thousands};
use crate::{Options, Result, node_baseline, seed_baseline, sql_baseline};

/// Jobs handled in some time, with the requests the dev server answered meanwhile.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Jobs handled.
    pub jobs: i64,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// PostgREST requests.
    pub requests: u64,
}

impl Measured {
    /// Jobs per second.
    pub fn rate(&self) -> f64 {
        self.jobs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Requests per 1,000 jobs.
    pub fn requests_per_1000(&self) -> f64 {
        self.requests as f64 * 1000.0 / self.jobs.max(1) as f64
    }
}

/// Measures and reports the throughput section.
pub async fn run(options: &Options, report: &mut Report) -> Result<()> {
    let backlog = Backlog {
        characters: options.characters,
        conversations: options.conversations,
        jobs: options.jobs,
    };
    let sample = options.seed_sample.min(backlog.jobs);
    eprintln!(
        "throughput: backlog of {} jobs over {} conversations ({} characters)",
        backlog.jobs, backlog.conversations, backlog.characters
    );

    let env = backlog.start(Duration::ZERO).await?;
    let sql = sql_baseline::run(&env).await?;
    expect_done(&env, backlog.jobs, "baseline 2").await?;
    drop(env);
    eprintln!("  baseline 2: {:.0} jobs/s", sql.rate());

    let node = node_baseline::available();
    if let Err(reason) = &node {
        eprintln!("  baseline 3 skipped: {reason}");
    }
    let mut round_trips = None;
    let mut ts_round_trips = None;
    for &latency in &options.latencies {
        let ms = latency.as_millis() as u64;
        let env = backlog.start(latency).await?;
        let ours = ours(&env).await?;
        let done = expect_done(&env, backlog.jobs, "ours").await?;
        report.ours.push(OursRun {
            latency_ms: ms,
            backlog: backlog.jobs,
            done,
            rate: ours.rate(),
            requests_per_1000: ours.requests_per_1000(),
        });
        drop(env);
        eprintln!("  {ms} ms: ours {:.0} jobs/s", ours.rate());

        let env = backlog.start(latency).await?;
        let seed = seed_baseline::run(&env, sample).await?;
        expect_done(&env, sample, "baseline 1").await?;
        drop(env);
        eprintln!("  {ms} ms: baseline 1 {:.0} jobs/s", seed.rate());

        let typescript = match &node {
            Ok(()) => {
                let env = backlog.start(latency).await?;
                let (measured, run) = node_baseline::run(&env, sample, 1).await?;
                expect_done(&env, sample, "baseline 3").await?;
                drop(env);
                eprintln!("  {ms} ms: baseline 3 {:.0} jobs/s", measured.rate());
                report.typescript.push(crate::report::TypeScriptRun {
                    latency_ms: ms,
                    rate: measured.rate(),
                    requests_per_1000: measured.requests_per_1000(),
                    peak_rss_mb: run.peak_rss_mb,
                });
                Some(measured)
            }
            Err(_) => None,
        };

        let at = format!("at {ms} ms");
        report.row(
            format!("patch throughput {at}: ours (the patch job, in-process)"),
            format!("{} jobs/s", thousands(ours.rate())),
        );
        report.row(
            format!(
                "patch throughput {at}: baseline 1 (seed 000, one request per step; {} jobs)",
                thousands(sample as f64)
            ),
            format!("{} jobs/s", thousands(seed.rate())),
        );
        let vs_seed = ours.rate() / seed.rate();
        let vs_sql = ours.rate() / sql.rate();
        if ms == 2 {
            report.check(
                format!("ours / baseline 1 {at}"),
                ratio(vs_seed),
                Target::at_least(vs_seed, 100.0, "≥ 100×"),
            );
        } else {
            report.row(format!("ours / baseline 1 {at}"), ratio(vs_seed));
        }
        if ms == 0 {
            report.row(
                "patch throughput: baseline 2 (batched SQL, plain PostgreSQL connection)",
                format!("{} jobs/s", thousands(sql.rate())),
            );
            report.check(
                format!("ours / baseline 2 {at}"),
                ratio(vs_sql),
                Target::at_least(vs_sql, 0.95, "≥ 0.95×"),
            );
        } else if ms == 2 {
            report.check(
                format!("ours / baseline 2 {at}"),
                ratio(vs_sql),
                Target::at_least(vs_sql, 0.8, "≥ 0.8×"),
            );
        } else {
            report.row(format!("ours / baseline 2 {at}"), ratio(vs_sql));
        }
        match (&node, typescript) {
            (Ok(()), Some(ts)) => {
                report.row(
                    format!(
                        "patch throughput {at}: baseline 3 (seed 000 as a Next.js route, supabase-js on Node; {} jobs)",
                        thousands(sample as f64)
                    ),
                    format!("{} jobs/s", thousands(ts.rate())),
                );
                let vs_ts = ours.rate() / ts.rate();
                if ms == 2 {
                    report.check(
                        format!("ours / baseline 3 {at}"),
                        ratio(vs_ts),
                        Target::at_least(vs_ts, 100.0, "≥ 100×"),
                    );
                } else {
                    report.row(format!("ours / baseline 3 {at}"), ratio(vs_ts));
                }
                ts_round_trips.get_or_insert(ts);
            }
            (Err(reason), _) => report.row(
                format!("ours / baseline 3 {at}"),
                format!("skipped: {reason}"),
            ),
            _ => {}
        }
        round_trips.get_or_insert((ours, seed));
    }
    if let Some((ours, seed)) = round_trips {
        report.row(
            "round trips per 1,000 jobs: ours",
            format!("{:.1}", ours.requests_per_1000()),
        );
        report.row(
            "round trips per 1,000 jobs: baseline 1",
            thousands(seed.requests_per_1000()),
        );
    }
    if let Some(ts) = ts_round_trips {
        report.row(
            "round trips per 1,000 jobs: baseline 3",
            thousands(ts.requests_per_1000()),
        );
    }
    if node.is_ok() {
        let env = backlog.start(Duration::ZERO).await?;
        let words = node_baseline::overlapping(&env, sample).await?;
        drop(env);
        eprintln!("  baseline 3, two overlapping runs: {words}");
        report.row(
            format!(
                "baseline 3, two overlapping runs over the same {} jobs: effects",
                thousands(sample as f64)
            ),
            words,
        );
    }
    Ok(())
}

/// A Supabase client for the environment's dev server, with the service key (the same
/// client the functions build).
pub fn supabase(env: &TestEnv) -> Supabase {
    Supabase::new(&SupabaseConfig {
        rest_url: env.rest_url(),
        key: Secret::new(env.service_key.clone()),
        timeout: Duration::from_secs(60),
    })
}

/// Ours: the patch job in-process with its production settings (the code the function
/// runs), invoked again while a run reports work remaining (as the next cron would).
pub async fn ours(env: &TestEnv) -> Result<Measured> {
    let requests = env.server.request_count();
    let started = Instant::now();
    let jobs = drain(supabase(env)).await?;
    Ok(Measured {
        jobs,
        elapsed: started.elapsed(),
        requests: env.server.request_count() - requests,
    })
}

/// Runs the patch job with `db` until a run finds nothing to claim or nothing remaining;
/// returns the jobs it handled.
pub async fn drain(db: Supabase) -> Result<i64> {
    let tunables = Tunables::default();
    let settings = PatchSettings::from_tunables(&tunables);
    let budget = tunables.time_budget(Job::Patch);
    let mut jobs = 0;
    loop {
        let ctx = RunContext::new(Uuid::new_v4(), Job::Patch, Trigger::Manual, false, budget);
        let summary = patch::run(&ctx, &db, &settings)
            .await
            .map_err(|e| format!("the patch job failed: {e}"))?;
        let processed = summary.counts["processed"].as_i64().unwrap_or(0);
        jobs += processed;
        if processed == 0 || summary.counts["remaining"].as_i64() == Some(0) {
            break;
        }
    }
    Ok(jobs)
}

/// Verifies the effects and that exactly `expected` jobs are done.
pub async fn expect_done(env: &TestEnv, expected: i64, who: &str) -> Result<i64> {
    let done = backlog::verify(&env.db.client)
        .await
        .map_err(|e| format!("{who}: {e}"))?;
    if done != expected {
        return Err(format!("{who}: {done} jobs done, expected {expected}").into());
    }
    Ok(done)
}
