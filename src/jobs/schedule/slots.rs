//! Schedule arithmetic: which slots of a schedule are due, which fire under its catch-up
//! policy, and its next run time. Pure functions over `croner` (5-field cron expressions)
//! and `chrono-tz` (the IANA time zone database).
//!
//! Slots are computed in the schedule's own zone, so `30 21 * * *` in `Europe/Berlin` is
//! 21:30 Berlin time all year. Daylight saving follows croner (Vixie cron's rules): a
//! fixed time that does not exist on a spring-forward night (02:30 when 02:00 jumps to
//! 03:00) fires once, at the first valid time after the gap; a fixed time that happens
//! twice on a fall-back night fires once, at its first occurrence; `*`/step hours follow
//! the wall clock. Every slot is an instant in UTC, the unique key of its tick.

use std::str::FromStr;

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Slots looked at per schedule and run at most (older ones in the window are dropped).
pub const MAX_SLOTS: usize = 1000;
/// Ticks one schedule may fire per run with catch-up `all` (its newest missed slots); older
/// missed slots are recorded as skipped, so one schedule's backlog cannot crowd out the
/// others (issue #22: one `* * * * *` schedule created 1,000 ticks in a run).
pub const MAX_FIRED_PER_SCHEDULE: usize = 24;
/// With catch-up `skip`, a slot fires only if the run sees it within this time (the
/// schedule job's own period, `0 * * * *`); later, it is recorded as skipped.
pub const ON_TIME: Duration = Duration::hours(1);
/// The catch-up window is never longer than this.
pub const MAX_WINDOW: Duration = Duration::days(7);

/// A due schedule (a row of `due_schedules`).
#[derive(Clone, Debug, Deserialize)]
pub struct DueSchedule {
    /// The schedule.
    pub id: Uuid,
    /// 5-field cron expression.
    pub cron_expr: String,
    /// IANA time zone.
    pub timezone: String,
    /// `latest`, `skip` or `all`.
    pub catch_up: String,
    /// How far back missed slots are looked at, in seconds.
    pub catch_up_window_secs: i64,
    /// When it is due (unset: not computed yet, or invalid last time).
    pub next_run_at: Option<DateTime<Utc>>,
}

/// What to record for one schedule (an element of `advance_schedules`' argument).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The schedule.
    pub id: Uuid,
    /// The `next_run_at` this plan was computed from (the fence).
    pub expected_next_run_at: Option<DateTime<Utc>>,
    /// The new `next_run_at` (unset when the row is invalid).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Slots that get content now.
    pub fire: Vec<DateTime<Utc>>,
    /// Missed slots recorded as skipped.
    pub skip: Vec<DateTime<Utc>>,
    /// Why the row cannot be scheduled (stored in `last_error`).
    pub error: Option<String>,
}

/// The plan for a `due_schedules` row that cannot be read (a `next_run_at` of `-infinity`,
/// ...): its `last_error` says why and `next_run_at` becomes unset, fenced by the value it
/// was read with (sent back as read), so the next run computes it afresh like a new row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RefusedPlan {
    /// The schedule.
    pub id: Uuid,
    /// `next_run_at` exactly as read (the fence).
    pub expected_next_run_at: serde_json::Value,
    /// Unset.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Why (stored in `last_error`).
    pub error: String,
}

/// What identifies a due schedule even when the rest of its row cannot be read.
#[derive(Deserialize)]
struct ScheduleKey {
    id: Uuid,
    #[serde(default)]
    next_run_at: Option<Box<serde_json::value::RawValue>>,
}

/// Decodes a `due_schedules` answer row by row ([`crate::jobs::rows`]): the rows that
/// decoded, and a [`RefusedPlan`] for each that did not.
pub fn decode_due(raw: crate::jobs::rows::RawRows) -> (Vec<DueSchedule>, Vec<RefusedPlan>) {
    let decoded = crate::jobs::rows::decode_rows::<DueSchedule, ScheduleKey>(raw);
    let refused = decoded
        .refused
        .into_iter()
        .filter_map(|row| match row.key {
            Some(key) => Some(RefusedPlan {
                id: key.id,
                // A timestamptz arrives as a string (`-infinity`); anything else cannot be
                // sent back as one, and the plan is then stale for that row alone.
                expected_next_run_at: key
                    .next_run_at
                    .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
                    .map_or(serde_json::Value::Null, serde_json::Value::from),
                next_run_at: None,
                error: format!(
                    "schedule cannot be read: {}; the next run schedules it from its expression again",
                    row.reason
                ),
            }),
            None => {
                tracing::error!(reason = %row.reason, "a due schedule has no readable id");
                None
            }
        })
        .collect();
    (decoded.rows, refused)
}

/// A catch-up policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// Fire the newest missed slot once, record the others as skipped (default).
    Latest,
    /// Fire a slot only if seen within [`ON_TIME`]; record missed ones as skipped.
    Skip,
    /// Fire every missed slot within the window.
    All,
}

/// Parses a 5-field cron expression (minute hour day-of-month month day-of-week): no
/// seconds, no years, as in `vercel.json` (`supacron scheduler` parses those with it too).
pub fn parse_five_fields(expr: &str) -> Result<Cron, croner::errors::CronError> {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(expr.trim())
}

/// [`parse_five_fields`] with an error that tells the operator what to write instead.
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    parse_five_fields(expr).map_err(|e| {
            format!(
                "invalid cron expression `{expr}`: {e}; use 5 fields (minute hour day month weekday), e.g. `0 * * * *`"
            )
        })
}

/// Parses an IANA time zone name.
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name.trim()).map_err(|_| {
        format!("unknown time zone `{name}`; use an IANA name such as `Europe/Berlin` or `UTC`")
    })
}

fn parse_catch_up(policy: &str) -> Result<CatchUp, String> {
    match policy {
        "latest" => Ok(CatchUp::Latest),
        "skip" => Ok(CatchUp::Skip),
        "all" => Ok(CatchUp::All),
        other => Err(format!(
            "unknown catch_up `{other}`; use latest, skip or all"
        )),
    }
}

/// The first slot at or after (`inclusive`) / strictly after `t`.
pub fn next_slot(
    cron: &Cron,
    zone: Tz,
    t: DateTime<Utc>,
    inclusive: bool,
) -> Option<DateTime<Utc>> {
    // croner keeps the start's fraction of a second; slots are whole minutes.
    let t = t.with_nanosecond(0)?;
    cron.find_next_occurrence(&zone.from_utc_datetime(&t.naive_utc()), inclusive)
        .ok()
        .map(|local| local.with_timezone(&Utc))
}

/// Slots in `[from, to]`, oldest first, at most [`MAX_SLOTS`] (the newest ones kept).
pub fn slots_between(
    cron: &Cron,
    zone: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut slots = Vec::new();
    // Searching from just before `from` (not inclusively from it) also finds a slot that
    // daylight saving moved to exactly `from`: croner does not count 03:00 as a match of
    // `30 2 * * *` when asked from 03:00 on a spring-forward night, only when passing 02:30.
    let mut cursor = next_slot(cron, zone, from - Duration::seconds(1), false);
    while let Some(slot) = cursor {
        if slot > to {
            break;
        }
        slots.push(slot);
        if slots.len() > MAX_SLOTS {
            slots.remove(0);
        }
        cursor = next_slot(cron, zone, slot, false);
    }
    slots
}

/// What to do with `row` at `now`.
pub fn plan(row: &DueSchedule, now: DateTime<Utc>) -> Plan {
    let mut plan = Plan {
        id: row.id,
        expected_next_run_at: row.next_run_at,
        next_run_at: None,
        fire: Vec::new(),
        skip: Vec::new(),
        error: None,
    };
    let parsed = parse_cron(&row.cron_expr).and_then(|cron| {
        let zone = parse_zone(&row.timezone)?;
        let policy = parse_catch_up(&row.catch_up)?;
        Ok((cron, zone, policy))
    });
    let (cron, zone, policy) = match parsed {
        Ok(parts) => parts,
        Err(error) => {
            plan.error = Some(error);
            return plan;
        }
    };
    plan.next_run_at = next_slot(&cron, zone, now, false);
    if plan.next_run_at.is_none() {
        plan.error = Some(format!("`{}` never fires again", row.cron_expr));
    }
    let Some(due_since) = row.next_run_at.filter(|t| *t <= now) else {
        // New (or fixed) schedules start from now: nothing is owed for the past.
        return plan;
    };
    // A window the schema allows but no Duration can hold (e.g. 9e15 s) is the cap, not a panic.
    let window = Duration::try_seconds(row.catch_up_window_secs.max(1))
        .map_or(MAX_WINDOW, |w| w.min(MAX_WINDOW));
    let slots = slots_between(&cron, zone, due_since.max(now - window), now);
    let Some((&newest, older)) = slots.split_last() else {
        return plan;
    };
    match policy {
        CatchUp::All => {
            let cut = slots.len().saturating_sub(MAX_FIRED_PER_SCHEDULE);
            plan.skip = slots[..cut].to_vec();
            plan.fire = slots[cut..].to_vec();
        }
        CatchUp::Latest => {
            plan.fire = vec![newest];
            plan.skip = older.to_vec();
        }
        CatchUp::Skip => {
            plan.skip = older.to_vec();
            if now - newest < ON_TIME {
                plan.fire = vec![newest];
            } else {
                plan.skip.push(newest);
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests;
