//! `supacron scheduler`: runs each job at its `vercel.json` times (`crons`, and `schedules`
//! in their `timezone`), in this process.
//!
//! - **Times**: each cron entry's next time is computed from the clock ([`Clock`]); when
//!   it is reached the job starts, and the entry's next time is the first one after *now*
//!   — a tick missed while the machine slept is run once, late (logged), not once per
//!   missed slot.
//! - **Jitter**: a `schedules` entry's `jitter` (minutes) delays each firing by a random
//!   0…`jitter` × 60 whole seconds, as Vercel's local scheduler does; the tick keeps its
//!   scheduled time (what the run records as `scheduled_at`), like Vercel's.
//! - **No overlap**: a job whose previous run is still going skips the tick, with a
//!   warning line and a [`Event::Skipped`]. Different jobs run side by side.
//! - **Shutdown**: once [`Shutdown`] fires, no run starts; runs in progress get up to the
//!   grace period to end (each is bounded by its own time budget anyway). A run still
//!   going after that is abandoned: its claims are leases, so a later run takes over.
//!
//! The loop is driven by a [`Clock`] and a [`Runner`], so tests move time and control
//! how long a run takes instead of waiting for either.

mod clock;
mod http_runner;
mod runner;

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use http_runner::{AnswerTimeout, HttpRunner, RetryPolicy, TargetError, can_call};
pub use runner::{InProcessRunner, Runner, Tick};

use super::shutdown::Shutdown;
use super::vercel_json::CronEntry;
use crate::jobs::catalog::Job;

/// A tick later than this is logged as late.
const LATE_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What the scheduler did, as it happens (the same facts as its log lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A run of `job` started for the tick at `slot`.
    Started {
        /// The job.
        job: Job,
        /// The scheduled time of the tick.
        slot: DateTime<Utc>,
    },
    /// The tick at `slot` was skipped: the run started at `running_since` is still going.
    Skipped {
        /// The job.
        job: Job,
        /// The scheduled time of the skipped tick.
        slot: DateTime<Utc>,
        /// When the run still going started.
        running_since: DateTime<Utc>,
    },
    /// The run of `job` for `slot` ended.
    Finished {
        /// The job.
        job: Job,
        /// The scheduled time of its tick.
        slot: DateTime<Utc>,
    },
    /// Shutdown began with these jobs still running.
    Stopping {
        /// Jobs with a run in progress.
        running: Vec<Job>,
    },
}

/// How the scheduler ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Runs started.
    pub started: usize,
    /// Ticks skipped because the job was still running.
    pub skipped: usize,
    /// Jobs whose run was still going when the grace period ended.
    pub abandoned: Vec<Job>,
}

/// The delay of one firing: seconds in `0..=max_secs` for `job`'s tick at `slot`.
pub type Jitter = Arc<dyn Fn(Job, DateTime<Utc>, u32) -> u32 + Send + Sync>;

/// Uniform-enough random delays: a hash of the job and the slot under a per-process random
/// key (no random-number crate needed for this).
fn random_jitter() -> Jitter {
    let key = RandomState::new();
    Arc::new(move |job, slot, max_secs| {
        if max_secs == 0 {
            return 0;
        }
        let hash = key.hash_one((job.name(), slot.timestamp()));
        (hash % (u64::from(max_secs) + 1)) as u32
    })
}

/// A tick and when it fires (its slot plus the entry's jitter).
#[derive(Clone, Copy)]
struct Due {
    slot: DateTime<Utc>,
    fires_at: DateTime<Utc>,
}

struct Running {
    since: DateTime<Utc>,
    /// Set by the run's task as soon as the run has ended (before [`Event::Finished`]).
    ended: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Running {
    fn is_going(&self) -> bool {
        !self.ended.load(Ordering::SeqCst)
    }
}

/// The scheduler: entries, a clock, a runner and its settings.
pub struct Scheduler<C: Clock, R: Runner> {
    entries: Vec<CronEntry>,
    clock: Arc<C>,
    runner: Arc<R>,
    grace: Duration,
    run_on_start: bool,
    events: Option<UnboundedSender<Event>>,
    jitter: Jitter,
}

impl<C: Clock, R: Runner> Scheduler<C, R> {
    /// A scheduler for `entries` (from [`super::vercel_json`]), with a 60 s grace period.
    pub fn new(entries: Vec<CronEntry>, clock: Arc<C>, runner: Arc<R>) -> Self {
        Scheduler {
            entries,
            clock,
            runner,
            grace: Duration::from_secs(60),
            run_on_start: false,
            events: None,
            jitter: random_jitter(),
        }
    }

    /// How each firing of an entry with `jitter` is delayed (tests fix it; the default is
    /// random).
    pub fn jitter_with(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The next tick of `entry` after `after`, and when it fires.
    fn due_after(&self, entry: &CronEntry, after: DateTime<Utc>) -> Option<Due> {
        let slot = entry.schedule.next_after(after)?;
        let max_secs = entry.clock.jitter_minutes.saturating_mul(60);
        let delay = (self.jitter)(entry.job, slot, max_secs).min(max_secs);
        Some(Due {
            slot,
            fires_at: slot + chrono::TimeDelta::seconds(i64::from(delay)),
        })
    }

    /// How long runs in progress may take to end after shutdown begins.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Also run every scheduled job once right at start.
    pub fn run_on_start(mut self, yes: bool) -> Self {
        self.run_on_start = yes;
        self
    }

    /// Sends every [`Event`] to `events` too.
    pub fn events(mut self, events: UnboundedSender<Event>) -> Self {
        self.events = Some(events);
        self
    }

    /// Runs until `shutdown`, then waits (bounded) for runs in progress.
    pub async fn run(self, shutdown: Shutdown) -> Report {
        let mut report = Report::default();
        let mut running: HashMap<Job, Running> = HashMap::new();
        let start = self.clock.now();
        let mut next: Vec<Option<Due>> = self
            .entries
            .iter()
            .map(|entry| self.due_after(entry, start))
            .collect();
        for (entry, next) in self.entries.iter().zip(&next) {
            let next = next.map_or("never".to_string(), |t| t.slot.to_rfc3339());
            let zone = entry.schedule.zone();
            let jitter = match entry.clock.jitter_minutes {
                0 => String::new(),
                minutes => format!(", jitter up to {minutes} min"),
            };
            tracing::info!(
                job = entry.job.name(),
                schedule = entry.schedule.as_str(),
                timezone = %zone,
                target = entry.clock.target.describe(),
                jitter_minutes = entry.clock.jitter_minutes,
                next = %next,
                "scheduled {} at `{}` ({zone}, {}{jitter}), next {next}",
                entry.job,
                entry.schedule,
                entry.clock.target.describe()
            );
        }
        if self.run_on_start {
            for (i, (entry, next)) in self.entries.iter().zip(&next).enumerate() {
                if !self.entries[..i].iter().any(|e| e.job == entry.job) {
                    let tick = Tick {
                        job: entry.job,
                        slot: start,
                        next_slot: next.map(|d| d.slot),
                        schedule: entry.clock.clone(),
                    };
                    self.fire(tick, start, start, &mut running, &mut report);
                }
            }
        }
        loop {
            let Some(due) = next.iter().flatten().map(|d| d.fires_at).min() else {
                tracing::warn!("no schedule will ever fire again; waiting for a stop signal");
                shutdown.clone().wait().await;
                break;
            };
            tokio::select! {
                biased;
                _ = shutdown.clone().wait() => break,
                _ = self.clock.sleep_until(due) => {}
            }
            let now = self.clock.now();
            for (entry, next) in self.entries.iter().zip(next.iter_mut()) {
                if let Some(due) = *next
                    && due.fires_at <= now
                {
                    // After this slot, not after now, so a delayed firing doesn't swallow the
                    // next slot; but never before the jitter window, so a machine that slept
                    // runs a missed stretch once.
                    let window = chrono::TimeDelta::minutes(entry.clock.jitter_minutes.into());
                    *next = self.due_after(entry, due.slot.max(now - window));
                    let tick = Tick {
                        job: entry.job,
                        slot: due.slot,
                        next_slot: next.map(|d| d.slot),
                        schedule: entry.clock.clone(),
                    };
                    self.fire(tick, due.fires_at, now, &mut running, &mut report);
                }
            }
        }
        report.abandoned = self.stop(running).await;
        report
    }

    /// Starts `tick`'s run (due at `fires_at`: its slot plus jitter) unless the job's
    /// previous run is still going.
    fn fire(
        &self,
        tick: Tick,
        fires_at: DateTime<Utc>,
        now: DateTime<Utc>,
        running: &mut HashMap<Job, Running>,
        report: &mut Report,
    ) {
        let (job, slot) = (tick.job, tick.slot);
        if let Some(previous) = running.get(&job)
            && previous.is_going()
        {
            let running_for_secs = (now - previous.since).num_seconds();
            tracing::warn!(
                job = job.name(),
                slot = %slot.to_rfc3339(),
                running_for_secs,
                "tick skipped: the previous {job} run is still going (for {running_for_secs} s)"
            );
            report.skipped += 1;
            self.emit(Event::Skipped {
                job,
                slot,
                running_since: previous.since,
            });
            return;
        }
        if now - fires_at > LATE_AFTER {
            tracing::warn!(
                job = job.name(),
                slot = %slot.to_rfc3339(),
                late_secs = (now - fires_at).num_seconds(),
                "tick is late (the machine slept or the clock jumped); running it once now"
            );
        }
        let jitter_secs = (fires_at - slot).num_seconds();
        tracing::info!(
            job = job.name(),
            slot = %slot.to_rfc3339(),
            jitter_secs,
            "run started"
        );
        report.started += 1;
        self.emit(Event::Started { job, slot });
        let runner = self.runner.clone();
        let events = self.events.clone();
        let ended = Arc::new(AtomicBool::new(false));
        let ended_by_task = ended.clone();
        let handle = tokio::spawn(async move {
            runner.run(tick).await;
            ended_by_task.store(true, Ordering::SeqCst);
            if let Some(events) = events {
                let _ = events.send(Event::Finished { job, slot });
            }
        });
        running.insert(
            job,
            Running {
                since: now,
                ended,
                handle,
            },
        );
    }

    /// Waits up to the grace period for runs in progress; returns those still going.
    async fn stop(&self, running: HashMap<Job, Running>) -> Vec<Job> {
        let mut going: Vec<(Job, JoinHandle<()>)> = running
            .into_iter()
            .filter(|(_, run)| run.is_going())
            .map(|(job, run)| (job, run.handle))
            .collect();
        going.sort_by_key(|(job, _)| job.name());
        let jobs: Vec<Job> = going.iter().map(|(job, _)| *job).collect();
        let names = jobs.iter().map(|j| j.name()).collect::<Vec<_>>().join(", ");
        tracing::info!(
            running = %names,
            grace_secs = self.grace.as_secs(),
            "scheduler stopping: no new runs; waiting up to {} s for {} run(s) in progress{}",
            self.grace.as_secs(),
            jobs.len(),
            if jobs.is_empty() { String::new() } else { format!(" ({names})") }
        );
        self.emit(Event::Stopping {
            running: jobs.clone(),
        });
        let wait_all = async {
            for (job, handle) in going.iter_mut() {
                if let Err(error) = handle.await {
                    tracing::error!(job = job.name(), %error, "a run ended abnormally");
                }
            }
        };
        if tokio::time::timeout(self.grace, wait_all).await.is_ok() {
            tracing::info!("scheduler stopped");
            return Vec::new();
        }
        let abandoned: Vec<Job> = going
            .iter()
            .filter(|(_, handle)| !handle.is_finished())
            .map(|(job, _)| *job)
            .collect();
        let names = abandoned
            .iter()
            .map(|j| j.name())
            .collect::<Vec<_>>()
            .join(", ");
        tracing::warn!(
            abandoned = %names,
            "scheduler stopped with runs still going after {} s ({names}); their leases expire and a later run takes their work over",
            self.grace.as_secs()
        );
        abandoned
    }

    fn emit(&self, event: Event) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_jitter_stays_in_its_window_and_spreads() {
        let jitter = random_jitter();
        let start = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let delays: Vec<u32> = (0..1_000)
            .map(|h| jitter(Job::Outcomes, start + chrono::TimeDelta::hours(h), 300))
            .collect();
        assert!(delays.iter().all(|d| *d <= 300));
        // Spread over the window, not stuck at one end.
        assert!(delays.iter().any(|d| *d < 100) && delays.iter().any(|d| *d > 200));
        assert_eq!(jitter(Job::Outcomes, start, 0), 0);
    }
}
