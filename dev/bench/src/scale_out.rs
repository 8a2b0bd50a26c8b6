//! Scale out: 1, 2, 4 and 8 overlapping runs of the patch job (each its own client, as
//! Vercel fans out invocations) draining one backlog at the dev server's 2 ms; aggregate
//! throughput over the whole drain, each job once and in order (verified), the curve and
//! the run count where it flattens (adding runs gains less than 10 %).

use std::time::Instant;

use tokio::task::JoinSet;

use crate::backlog::Backlog;
use crate::report::{Report, Target, ratio, thousands};
use crate::throughput::{drain, expect_done, supabase};
use crate::{Options, Result};

/// A run count gaining less than this over the previous one is where the curve flattens.
const FLAT: f64 = 1.10;

/// Measures and reports the scale-out section.
pub async fn run(options: &Options, report: &mut Report) -> Result<()> {
    let backlog = Backlog {
        characters: options.characters,
        conversations: options.conversations,
        jobs: options.jobs,
    };
    let latency = options.scale_out_latency;
    let ms = latency.as_millis();
    let mut curve: Vec<(usize, f64)> = Vec::new();
    for &runs in &options.scale_out_runs {
        let env = backlog.start(latency).await?;
        let started = Instant::now();
        let mut set = JoinSet::new();
        for _ in 0..runs {
            set.spawn(drain(supabase(&env)));
        }
        let mut handled = 0;
        while let Some(joined) = set.join_next().await {
            handled += joined??;
        }
        let elapsed = started.elapsed();
        expect_done(&env, backlog.jobs, &format!("scale-out, {runs} runs")).await?;
        drop(env);
        if handled != backlog.jobs {
            return Err(format!(
                "scale-out, {runs} runs: the runs handled {handled} jobs for a backlog of {}",
                backlog.jobs
            )
            .into());
        }
        let rate = backlog.jobs as f64 / elapsed.as_secs_f64().max(1e-9);
        eprintln!("scale-out: {runs} runs at {ms} ms: {rate:.0} jobs/s");
        curve.push((runs, rate));
    }
    let Some(&(_, one)) = curve.first() else {
        return Ok(());
    };
    for &(runs, rate) in &curve {
        report.row(
            format!(
                "scale-out at {ms} ms: {runs} overlapping run{} draining {} jobs",
                if runs == 1 { "" } else { "s" },
                thousands(backlog.jobs as f64)
            ),
            format!("{} jobs/s, {}", thousands(rate), ratio(rate / one)),
        );
    }
    let flattens = curve
        .windows(2)
        .find(|w| w[1].1 < w[0].1 * FLAT)
        .map(|w| w[0].0);
    let best = curve.iter().map(|c| c.1).fold(0.0, f64::max);
    // Grows (the best is at least 10 % over one run) and never collapses once flat (every
    // count keeps 90 % of the best before it).
    let collapses = curve.iter().enumerate().any(|(i, &(_, rate))| {
        let before = curve[..i].iter().map(|c| c.1).fold(0.0, f64::max);
        rate < before * 0.9
    });
    let grows = best >= one * FLAT;
    let shape = curve
        .iter()
        .map(|(runs, rate)| format!("{runs}: {}", ratio(rate / one)))
        .collect::<Vec<_>>()
        .join(", ");
    let flat = match flattens {
        Some(runs) => format!(
            "flattens after {runs} run{}",
            if runs == 1 { "" } else { "s" }
        ),
        None => "still growing at the last count".to_string(),
    };
    report.check(
        "scale-out: aggregate throughput by overlapping runs (× one run)",
        format!("{shape}; {flat}"),
        Target {
            text: "grows, then stays flat (≥ 1.1× at best, no count < 0.9× the best before it)"
                .into(),
            met: grows && !collapses,
        },
    );
    Ok(())
}
