//! Time for the scheduler: [`SystemClock`] in production, [`ManualClock`] in tests, which
//! move time instead of waiting for it.

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
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: watch::Sender::new(start),
            sleeping_until: watch::Sender::new(None),
        }
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
}
