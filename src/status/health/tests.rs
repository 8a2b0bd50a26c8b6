use chrono::TimeZone;
use serde_json::json;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn ok_summary() -> JobSummary {
    JobSummary {
        job: "patch".into(),
        schedule: Some("*/2 * * * *".into()),
        last_status: Some("ok".into()),
        last_started_at: Some(now() - chrono::Duration::seconds(90)),
        runs_24h: 720,
        ..Default::default()
    }
}

#[test]
fn a_healthy_job_is_green_and_says_when_it_last_ran() {
    let tile = tile(&ok_summary(), Some(&QueueHealth::default()), now());
    assert_eq!(tile.level, Level::Green);
    assert_eq!(tile.reasons, vec!["healthy; last run 1 min ago (ok)"]);
}

#[test]
fn a_failed_last_run_is_red_with_its_error() {
    let summary = JobSummary {
        last_status: Some("error".into()),
        last_error: Some("supabase_unavailable: Supabase is unreachable\nmore".into()),
        failures_24h: 1,
        ..ok_summary()
    };
    let tile = tile(&summary, None, now());
    assert_eq!(tile.level, Level::Red);
    assert_eq!(
        tile.reasons,
        vec!["last run failed 1 min ago: supabase_unavailable: Supabase is unreachable"],
        "the last failure is not counted twice"
    );
}

#[test]
fn a_missing_tick_is_red_even_when_the_last_run_was_fine() {
    let summary = JobSummary {
        last_tick_missing: true,
        last_expected_tick: Some(now() - chrono::Duration::minutes(6)),
        ..ok_summary()
    };
    let tile = tile(&summary, None, now());
    assert_eq!(tile.level, Level::Red);
    assert!(
        tile.reasons[0].contains("11:54 UTC tick of `*/2 * * * *`"),
        "{:?}",
        tile.reasons
    );
}

#[test]
fn partial_runs_earlier_failures_and_queue_trouble_are_amber_with_every_reason() {
    let summary = JobSummary {
        last_status: Some("partial".into()),
        last_counts: Some(json!({"failed_count": 2, "dead_count": 1, "remaining": 0})),
        failures_24h: 3,
        ..ok_summary()
    };
    let queue = QueueHealth {
        due: 4,
        dead: 1,
        expired_leases: 2,
        oldest_due_age_seconds: Some(2 * 3600 + 5),
        ..Default::default()
    };
    let tile = tile(&summary, Some(&queue), now());
    assert_eq!(tile.level, Level::Amber);
    assert_eq!(
        tile.reasons,
        vec![
            "last run partial 1 min ago (2 failed, 1 dead)",
            "3 failed runs in 24 h",
            "1 item given up on",
            "2 expired leases (a run died while holding it)",
            "4 due, the oldest waiting 2 h",
        ]
    );
}

#[test]
fn skipped_and_never_run_jobs_are_amber() {
    let skipped = JobSummary {
        last_status: Some("skipped".into()),
        ..ok_summary()
    };
    assert_eq!(tile(&skipped, None, now()).level, Level::Amber);
    let never = JobSummary {
        job: "memory".into(),
        ..Default::default()
    };
    let t = tile(&never, None, now());
    assert_eq!(
        (t.level, t.reasons[0].as_str()),
        (Level::Amber, "no runs recorded yet")
    );
}

#[test]
fn tiles_cover_every_job_in_order_and_jobs_only_seen_in_runs() {
    let report = Report {
        generated_at: now(),
        cron_run_summary: vec![
            ok_summary(),
            JobSummary {
                job: "legacy".into(),
                ..ok_summary()
            },
        ],
        queue_health: vec![],
        dead_jobs: vec![],
        llm_spend: vec![],
        timeline: None,
    };
    let names: Vec<String> = tiles(&report).into_iter().map(|t| t.job).collect();
    assert_eq!(
        names,
        [
            "patch", "memory", "schedule", "outcomes", "rewards", "legacy"
        ]
    );
}

#[test]
fn durations_read_naturally() {
    assert_eq!(duration(59), "59 s");
    assert_eq!(duration(600), "10 min");
    assert_eq!(duration(7200), "2 h");
    assert_eq!(duration(3 * 86_400), "3 d");
    assert_eq!(ago(None, now()), "never");
}

#[test]
fn a_missing_tick_of_a_zoned_schedule_names_its_zone() {
    let summary = JobSummary {
        last_tick_missing: true,
        last_expected_tick: Some(now() - chrono::Duration::minutes(6)),
        schedule: Some("0 9 * * *".into()),
        timezone: Some("Europe/Berlin".into()),
        ..ok_summary()
    };
    let tile = tile(&summary, None, now());
    assert_eq!(tile.level, Level::Red);
    assert!(
        tile.reasons[0].contains("11:54 UTC (schedule in Europe/Berlin) tick of `0 9 * * *`"),
        "{:?}",
        tile.reasons
    );
}
