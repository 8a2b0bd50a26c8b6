//! Progress of long runs: while a run is going, one line every so often says so, with the
//! time spent. A run's own summary line comes at its end; this makes a 5-minute LLM run
//! visible before that (in `supacron run` on a terminal as in the scheduler's log).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::jobs::catalog::Job;

/// How often a running job says it is still going.
pub const EVERY: Duration = Duration::from_secs(30);

/// Awaits `run`, logging `<job> still running (<n> s)` every `every` until it ends.
pub async fn with_progress<F: Future>(run: F, job: Job, every: Duration) -> F::Output {
    tokio::pin!(run);
    let started = Instant::now();
    let mut ticks = tokio::time::interval_at(started + every, every);
    loop {
        tokio::select! {
            output = &mut run => return output,
            _ = ticks.tick() => {
                let elapsed_secs = started.elapsed().as_secs();
                tracing::info!(
                    job = job.name(),
                    elapsed_secs,
                    "{job} still running ({elapsed_secs} s)"
                );
            }
        }
    }
}
