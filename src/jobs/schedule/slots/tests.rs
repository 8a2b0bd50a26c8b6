use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn row(expr: &str, zone: &str, catch_up: &str, next: Option<&str>) -> DueSchedule {
    DueSchedule {
        id: Uuid::nil(),
        cron_expr: expr.into(),
        timezone: zone.into(),
        catch_up: catch_up.into(),
        catch_up_window_secs: 86_400,
        next_run_at: next.map(utc),
    }
}

#[test]
fn hourly_slots_and_the_next_run() {
    let p = plan(
        &row("0 * * * *", "UTC", "latest", Some("2026-11-22T12:00:00Z")),
        utc("2026-11-22T12:00:05Z"),
    );
    assert_eq!(p.fire, vec![utc("2026-11-22T12:00:00Z")]);
    assert!(p.skip.is_empty());
    assert_eq!(p.next_run_at, Some(utc("2026-11-22T13:00:00Z")));
    assert_eq!(p.error, None);
}

#[test]
fn a_new_schedule_starts_from_now_and_owes_nothing() {
    let p = plan(
        &row("30 21 * * *", "Europe/Berlin", "latest", None),
        utc("2026-11-22T12:00:00Z"),
    );
    assert!(p.fire.is_empty() && p.skip.is_empty());
    // 21:30 in Berlin in November (CET, UTC+1) is 20:30 UTC.
    assert_eq!(p.next_run_at, Some(utc("2026-11-22T20:30:00Z")));
}

#[test]
fn catch_up_policies_after_a_gap_of_four_slots() {
    let now = utc("2026-11-22T12:10:00Z");
    let next = Some("2026-11-22T09:00:00Z");
    let latest = plan(&row("0 * * * *", "America/New_York", "latest", next), now);
    assert_eq!(latest.fire, vec![utc("2026-11-22T12:00:00Z")]);
    assert_eq!(
        latest.skip,
        vec![
            utc("2026-11-22T09:00:00Z"),
            utc("2026-11-22T10:00:00Z"),
            utc("2026-11-22T11:00:00Z")
        ]
    );
    let all = plan(&row("0 * * * *", "America/New_York", "all", next), now);
    assert_eq!(all.fire.len(), 4);
    assert!(all.skip.is_empty());
    let skip = plan(&row("0 * * * *", "America/New_York", "skip", next), now);
    assert_eq!(
        skip.fire,
        vec![utc("2026-11-22T12:00:00Z")],
        "the current slot is on time"
    );
    assert_eq!(skip.skip.len(), 3);
    let late = plan(
        &row("0 9 * * *", "UTC", "skip", Some("2026-11-22T09:00:00Z")),
        now,
    );
    assert!(late.fire.is_empty(), "three hours late is not on time");
    assert_eq!(late.skip, vec![utc("2026-11-22T09:00:00Z")]);
    assert_eq!(late.next_run_at, Some(utc("2026-11-23T09:00:00Z")));
}

#[test]
fn the_catch_up_window_bounds_what_is_owed() {
    let mut r = row("0 * * * *", "UTC", "all", Some("2026-11-01T00:00:00Z"));
    r.catch_up_window_secs = 3 * 3600;
    let p = plan(&r, utc("2026-11-22T12:30:00Z"));
    assert_eq!(
        p.fire,
        vec![
            utc("2026-11-22T10:00:00Z"),
            utc("2026-11-22T11:00:00Z"),
            utc("2026-11-22T12:00:00Z")
        ]
    );
}

#[test]
fn a_catch_up_window_too_large_for_a_duration_is_the_seven_day_cap() {
    // Found by the row_decoders proptest: 9,223,372,036,854,776 s panicked in TimeDelta::seconds.
    for secs in [9_223_372_036_854_776, i64::MAX] {
        let mut r = row("0 0 * * *", "UTC", "all", Some("2026-11-01T00:00:00Z"));
        r.catch_up_window_secs = secs;
        let p = plan(&r, utc("2026-11-22T00:30:00Z"));
        assert_eq!(p.error, None);
        assert_eq!(
            p.fire.len() + p.skip.len(),
            7,
            "the daily slots of the last 7 days"
        );
    }
}

#[test]
fn spring_forward_fires_a_0230_slot_once_after_the_gap() {
    // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT, so 02:30 does not exist.
    let zone = parse_zone("America/New_York").unwrap();
    let cron = parse_cron("30 2 * * *").unwrap();
    let slots = slots_between(
        &cron,
        zone,
        utc("2026-03-07T00:00:00Z"),
        utc("2026-03-10T00:00:00Z"),
    );
    assert_eq!(
        slots,
        vec![
            utc("2026-03-07T07:30:00Z"), // 02:30 EST
            utc("2026-03-08T07:00:00Z"), // 03:00 EDT, the first valid time after the gap
            utc("2026-03-09T06:30:00Z"), // 02:30 EDT
        ]
    );
}

#[test]
fn fall_back_fires_a_0130_slot_once() {
    // New York, 2026-11-01: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice.
    let zone = parse_zone("America/New_York").unwrap();
    let cron = parse_cron("30 1 * * *").unwrap();
    let slots = slots_between(
        &cron,
        zone,
        utc("2026-11-01T00:00:00Z"),
        utc("2026-11-02T12:00:00Z"),
    );
    assert_eq!(
        slots,
        vec![utc("2026-11-01T05:30:00Z"), utc("2026-11-02T06:30:00Z")]
    );
}

#[test]
fn invalid_rows_get_a_readable_error_and_no_next_run() {
    for (expr, zone, needle) in [
        (
            "61 * * * *",
            "Europe/Berlin",
            "invalid cron expression `61 * * * *`",
        ),
        ("0 * * * * *", "UTC", "invalid cron expression"),
        (
            "0 * * * *",
            "Mars/Olympus",
            "unknown time zone `Mars/Olympus`",
        ),
    ] {
        let p = plan(
            &row(expr, zone, "latest", Some("2026-11-22T09:00:00Z")),
            utc("2026-11-22T12:00:00Z"),
        );
        assert!(
            p.error.as_deref().unwrap_or("").contains(needle),
            "{expr} {zone}: {:?}",
            p.error
        );
        assert!(p.fire.is_empty() && p.next_run_at.is_none());
    }
    let p = plan(
        &row("0 * * * *", "UTC", "sometimes", None),
        utc("2026-11-22T12:00:00Z"),
    );
    assert!(p.error.unwrap().contains("unknown catch_up"));
}

#[test]
fn a_slot_moved_by_daylight_saving_is_found_when_due_at_that_instant() {
    // next_run_at was computed as 03:00 EDT (07:00 UTC); the run at that instant fires it.
    let p = plan(
        &row(
            "30 2 * * *",
            "America/New_York",
            "latest",
            Some("2026-03-08T07:00:00Z"),
        ),
        utc("2026-03-08T07:00:00Z"),
    );
    assert_eq!(p.fire, vec![utc("2026-03-08T07:00:00Z")]);
    assert_eq!(p.next_run_at, Some(utc("2026-03-09T06:30:00Z")));
}

#[test]
fn slots_are_whole_minutes_whatever_the_clock_reads() {
    let now = utc("2026-11-22T12:34:56.527922Z");
    let p = plan(&row("0 * * * *", "UTC", "latest", None), now);
    assert_eq!(p.next_run_at, Some(utc("2026-11-22T13:00:00Z")));
    let p = plan(
        &row("0 * * * *", "UTC", "latest", Some("2026-11-22T12:00:00Z")),
        now,
    );
    assert_eq!(p.fire, vec![utc("2026-11-22T12:00:00Z")]);
}
