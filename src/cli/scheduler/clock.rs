//! Time for the scheduler: [`SystemClock`] in production, [`ManualClock`] in tests, which
//! move time instead of waiting for it.
//!
//! Two kinds of waiting: the scheduler loop *sleeps* towards the next tick
//! ([`Clock::sleep_until`]); a run *pauses* between attempts ([`Clock::pause_until`], the
//! `--target` runner's backoff). A manual clock tells them apart, so a test can wait for the
//! loop to be idle and, separately, for a run to be in its backoff.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// The scheduler's source of time.
pub trait Clock: Send + Sync + 'static {
    /// The current UTC time.
    fn now(&self) -> DateTime<Utc>;

    /// Returns once `deadline` is reached — or earlier: the caller checks [`Clock::now`]
    /// again and sleeps some more if needed.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> impl Future<Output = ()> + Send;

    /// A run's pause until `deadline` (a retry's backoff). Unlike [`Clock::sleep_until`]
    /// it returns only once `deadline` is reached.
    fn pause_until(&self, deadline: DateTime<Utc>) -> impl Future<Output = ()> + Send {
        async move {
            while self.now() < deadline {
                self.sleep_until(deadline).await;
            }
        }
    }
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

/// The longest single sleep: a wall-clock change (NTP, suspend) is noticed within it.
const MAX_NAP: Duration = Duration::from_secs(60);

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> impl Future<Output = ()> + Send {
        let wait = (deadline - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(MAX_NAP);
        tokio::time::sleep(wait)
    }
}

/// A clock that only moves when told to. [`ManualClock::advance_to`] moves it and waits
/// until the scheduler has handled everything due and is asleep again, so a test sees
/// every effect of a tick without sleeping.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
    /// The deadline of the latest `sleep_until` call.
    sleeping_until: watch::Sender<Option<DateTime<Utc>>>,
    /// The deadlines of the runs' pauses in progress.
    pauses: watch::Sender<Vec<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: watch::Sender::new(start),
            sleeping_until: watch::Sender::new(None),
            pauses: watch::Sender::new(Vec::new()),
        }
    }

    /// Waits until some run pauses (a retry's backoff) and returns the earliest deadline
    /// of the pauses in progress.
    pub async fn wait_for_pause(&self) -> DateTime<Utc> {
        let mut pauses = self.pauses.subscribe();
        let pauses = pauses
            .wait_for(|pauses| !pauses.is_empty())
            .await
            .expect("the clock is alive");
        *pauses.iter().min().expect("not empty")
    }

    /// The deadlines of the pauses in progress, earliest first.
    pub fn pauses(&self) -> Vec<DateTime<Utc>> {
        let mut pauses = self.pauses.borrow().clone();
        pauses.sort();
        pauses
    }

    /// Moves the clock to `to` without waiting for anything.
    pub fn set(&self, to: DateTime<Utc>) {
        self.now.send_replace(to);
    }

    /// Moves the clock to `to`, then waits until the scheduler sleeps towards a time
    /// after `to` (it has handled every tick up to `to`).
    pub async fn advance_to(&self, to: DateTime<Utc>) {
        self.set(to);
        self.wait_until_asleep().await;
    }

    /// Waits until the scheduler sleeps towards a time after the clock's current time.
    pub async fn wait_until_asleep(&self) {
        let now = *self.now.borrow();
        let mut sleeping = self.sleeping_until.subscribe();
        let _ = sleeping
            .wait_for(|deadline| deadline.is_some_and(|d| d > now))
            .await;
    }
}

/// Removes its deadline from the clock's pauses when the pause ends or is dropped.
struct PauseGuard {
    pauses: watch::Sender<Vec<DateTime<Utc>>>,
    deadline: DateTime<Utc>,
}

impl Drop for PauseGuard {
    fn drop(&mut self) {
        self.pauses.send_modify(|pauses| {
            if let Some(i) = pauses.iter().position(|d| *d == self.deadline) {
                pauses.remove(i);
            }
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> impl Future<Output = ()> + Send {
        let mut now = self.now.subscribe();
        self.sleeping_until.send_replace(Some(deadline));
        async move {
            let _ = now.wait_for(|now| *now >= deadline).await;
        }
    }

    fn pause_until(&self, deadline: DateTime<Utc>) -> impl Future<Output = ()> + Send {
        let mut now = self.now.subscribe();
        self.pauses.send_modify(|pauses| pauses.push(deadline));
        let guard = PauseGuard {
            pauses: self.pauses.clone(),
            deadline,
        };
        async move {
            let _ = now.wait_for(|now| *now >= deadline).await;
            drop(guard);
        }
    }
}
