//! Cron expressions as Vercel reads them: five fields (minute, hour, day of month, month,
//! day of week), UTC for crons or a schedule's IANA `timezone`, digits with `*`, `,`, `-` and `/` only (no `MON`, `JAN`,
//! `@daily` or seconds), and never both a day of month and a day of week. An expression
//! Vercel would refuse to deploy is refused here too, so `supacron scheduler` and Vercel
//! Cron agree on every `vercel.json`. Parsing and next times are the schedule job's
//! ([`slots`]: `croner`, whole minutes).

use std::fmt;

use chrono::{DateTime, Utc};
use croner::Cron;

use crate::jobs::schedule::slots;

/// A parsed, Vercel-compatible cron expression.
#[derive(Clone, Debug)]
pub struct CronSchedule {
    expression: String,
    cron: Cron,
    zone: chrono_tz::Tz,
}

/// Why an expression is not a Vercel cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// Not exactly five fields.
    #[error(
        "`{0}` has {1} fields; Vercel wants exactly 5 (minute hour day-of-month month day-of-week)"
    )]
    FieldCount(String, usize),
    /// Names, macros, `L`, `W`, `#` or other characters Vercel does not accept.
    #[error("`{0}`: Vercel accepts only digits and `* , - /` (no MON, JAN, @daily, L, W or #)")]
    Unsupported(String),
    /// Both day fields restricted.
    #[error("`{0}` sets both a day of month and a day of week; Vercel wants one of them to be `*`")]
    BothDays(String),
    /// Out-of-range values or malformed steps.
    #[error("`{0}` is not a valid cron expression: {1}")]
    Invalid(String, String),
}

impl CronSchedule {
    /// Parses a 5-field UTC expression such as `*/2 * * * *`.
    pub fn parse(expression: &str) -> Result<CronSchedule, CronError> {
        let expression = expression.trim().to_string();
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError::FieldCount(expression.clone(), fields.len()));
        }
        let allowed = |c: char| c.is_ascii_digit() || matches!(c, '*' | ',' | '-' | '/');
        if !fields.iter().all(|f| f.chars().all(allowed)) {
            return Err(CronError::Unsupported(expression));
        }
        if fields[2] != "*" && fields[4] != "*" {
            return Err(CronError::BothDays(expression));
        }
        let cron = slots::parse_five_fields(&expression)
            .map_err(|e| CronError::Invalid(expression.clone(), e.to_string()))?;
        Ok(CronSchedule {
            expression,
            cron,
            zone: chrono_tz::UTC,
        })
    }

    /// The same expression read on the wall clock of `zone` (a Vercel schedule's
    /// `timezone`): on a DST day a local time that does not exist is skipped and a
    /// repeated one fires once.
    pub fn in_zone(mut self, zone: chrono_tz::Tz) -> CronSchedule {
        self.zone = zone;
        self
    }

    /// The time zone the expression is read in.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.zone
    }

    /// The first time strictly after `after` that the expression matches (whole minutes).
    /// `None` only for an expression that never matches (such as 31 February).
    /// In a time zone with daylight saving, a local time that does not exist that day is
    /// skipped (as Vercel does; croner would fire it at the first minute after the gap).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut after = after;
        for _ in 0..4 {
            let next = slots::next_slot(&self.cron, self.zone, after, false)?;
            let local = next.with_timezone(&self.zone);
            if self.cron.is_time_matching(&local).unwrap_or(true) {
                return Some(next);
            }
            after = next;
        }
        None
    }

    /// The expression as written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.expression
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expression)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(expr: &str, after: &str) -> DateTime<Utc> {
        CronSchedule::parse(expr)
            .unwrap()
            .next_after(at(after))
            .unwrap()
    }

    #[test]
    fn next_times_are_strictly_after_and_on_whole_minutes() {
        assert_eq!(
            next("*/2 * * * *", "2026-01-01T00:00:00Z"),
            at("2026-01-01T00:02:00Z")
        );
        assert_eq!(
            next("*/2 * * * *", "2026-01-01T00:01:59.900Z"),
            at("2026-01-01T00:02:00Z")
        );
        assert_eq!(
            next("*/2 * * * *", "2026-01-01T00:02:00.001Z"),
            at("2026-01-01T00:04:00Z")
        );
        assert_eq!(
            next("15 * * * *", "2026-01-01T00:15:00Z"),
            at("2026-01-01T01:15:00Z")
        );
        assert_eq!(
            next("0 * * * *", "2026-12-31T23:30:00Z"),
            at("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            next("0 5 * * 1", "2026-01-01T00:00:00Z"), // a Thursday
            at("2026-01-05T05:00:00Z")
        );
    }

    #[test]
    fn what_vercel_refuses_is_refused() {
        for (expr, want) in [
            ("* * * *", "4 fields"),
            ("0 * * * * *", "6 fields"),
            ("@hourly", "1 fields"),
            ("0 5 * * MON", "only digits"),
            ("0 5 * JAN *", "only digits"),
            ("0 5 L * *", "only digits"),
            ("0 5 1 * 1", "both a day of month and a day of week"),
            ("61 * * * *", "not a valid cron expression"),
        ] {
            let err = CronSchedule::parse(expr).unwrap_err().to_string();
            assert!(err.contains(want), "{expr}: {err}");
        }
    }

    #[test]
    fn a_berlin_schedule_keeps_its_local_time_across_daylight_saving() {
        let berlin = |expr: &str, after: &str| {
            CronSchedule::parse(expr)
                .unwrap()
                .in_zone(chrono_tz::Europe::Berlin)
                .next_after(at(after))
                .unwrap()
        };
        // 09:00 in Berlin is 08:00 UTC before 29 March 2026 and 07:00 UTC after.
        assert_eq!(
            berlin("0 9 * * *", "2026-03-28T09:00:00Z"),
            at("2026-03-29T07:00:00Z")
        );
        assert_eq!(
            berlin("0 9 * * *", "2026-03-27T12:00:00Z"),
            at("2026-03-28T08:00:00Z")
        );
        // ... and back on 25 October.
        assert_eq!(
            berlin("0 9 * * *", "2026-10-24T12:00:00Z"),
            at("2026-10-25T08:00:00Z")
        );
        // 02:30 does not exist on 29 March (skipped); it happens twice on 25 October (once).
        assert_eq!(
            berlin("30 2 * * *", "2026-03-28T02:00:00Z"),
            at("2026-03-30T00:30:00Z")
        );
        assert_eq!(
            berlin("30 2 * * *", "2026-10-24T12:00:00Z"),
            at("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            berlin("30 2 * * *", "2026-10-25T00:30:00Z"),
            at("2026-10-26T01:30:00Z")
        );
    }
}
