//! Retry policy: plain data plus one pure function of (attempt, policy).
//!
//! Used twice by the patch job: the in-run sleep between version-conflict retries (seed
//! 000: 80 ms × 2^k) and the `run_after` of a job that failed this run (a later run picks
//! it up). Exponential growth, a cap, and jitter so that retries of many runs spread out.

use std::time::Duration;

/// How long to wait before retry number `attempt`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry (attempt 0).
    pub base: Duration,
    /// The delay never exceeds this.
    pub max: Duration,
    /// Fraction of the delay added or removed at random (0.1 = ±10 %).
    pub jitter: f64,
}

impl RetryPolicy {
    /// Seed 000's conflict backoff: 80 ms, 160 ms, 320 ms, … capped at 5 s, ±10 %.
    pub fn conflict(base: Duration) -> Self {
        RetryPolicy {
            base,
            max: Duration::from_secs(5),
            jitter: 0.1,
        }
    }

    /// When a job that failed this run is due again: 30 s × 2^(attempts − 1), capped at one
    /// hour, ±10 %.
    pub fn failed_job() -> Self {
        RetryPolicy {
            base: Duration::from_secs(30),
            max: Duration::from_secs(3600),
            jitter: 0.1,
        }
    }

    /// The delay before retry `attempt` (0-based), with `random` in `[0, 1)` choosing the
    /// jitter (pass `fastrand::f64()`; tests pass fixed values).
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponential = self.base.as_secs_f64() * 2f64.powi(attempt.min(32) as i32);
        let capped = exponential.min(self.max.as_secs_f64());
        let factor = 1.0 + self.jitter * (2.0 * random.clamp(0.0, 1.0) - 1.0);
        Duration::from_secs_f64((capped * factor).clamp(0.0, self.max.as_secs_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_backoff_doubles_from_80_ms() {
        let policy = RetryPolicy::conflict(Duration::from_millis(80));
        let delays: Vec<u128> = (0..5).map(|k| policy.delay(k, 0.5).as_millis()).collect();
        assert_eq!(delays, vec![80, 160, 320, 640, 1280]);
    }

    #[test]
    fn delays_are_capped_and_jitter_stays_within_bounds() {
        let policy = RetryPolicy::failed_job();
        assert_eq!(policy.delay(40, 0.5), Duration::from_secs(3600));
        assert_eq!(
            policy.delay(40, 0.99999),
            Duration::from_secs(3600),
            "jitter never exceeds the cap"
        );
        let low = policy.delay(0, 0.0).as_secs_f64();
        let high = policy.delay(0, 0.99999).as_secs_f64();
        assert!((27.0..=27.01).contains(&low), "{low}");
        assert!((32.99..=33.0).contains(&high), "{high}");
    }
}
