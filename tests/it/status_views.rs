//! The operations views on a prepared database, at a fixed time (`*_at(p_now)`): queue
//! health per kind of work (due, live and expired leases, dead), the per-job run summary
//! (last run, last success, 24 h counts, percentiles, missing tick), the views served by
//! PostgREST to the service role only, and the SQL cron arithmetic against croner.

use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use serde_json::{Value, json};
use testkit::TestEnv;
use testkit::factory::{
    self, NewConversation, NewCronRun, NewDecision, NewItem, NewJobLock, NewOutcome, NewPatchJob,
    NewSchedule, NewTick,
};

async fn rows_by_job(env: &TestEnv, function: &str, now: DateTime<Utc>) -> Value {
    let rows = env
        .db
        .client
        .query(
            &format!("select job, to_jsonb(r) from {function}($1) r"),
            &[&now],
        )
        .await
        .unwrap();
    let map: serde_json::Map<String, Value> = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, Value>(1)))
        .collect();
    Value::Object(map)
}

fn pick(row: &Value, keys: &[&str]) -> Value {
    Value::Object(
        keys.iter()
            .map(|k| (k.to_string(), row[*k].clone()))
            .collect(),
    )
}

#[tokio::test]
async fn queue_health_counts_due_live_and_expired_leases_failed_and_dead_per_kind_of_work() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let min = |m: i64| Some(now + Duration::minutes(m));
    let job = |status: &str, run_after, lease_until| NewPatchJob {
        status: status.into(),
        run_after,
        lease_until,
        ..Default::default()
    };
    for new in [
        job("pending", min(-10), None),
        job("pending", min(-3), None),
        job("pending", min(60), None),
        job("failed", min(-5), None),
        job("failed", min(30), None),
        job("processing", None, min(5)),
        job("processing", None, min(-1)),
        job("dead", None, None),
        job("dead", None, None),
        job("done", None, None),
    ] {
        factory::patch_job(db, new).await;
    }
    let lock = |job: &str, until| NewJobLock {
        job: job.into(),
        lease_owner: Some(format!("{job}:run")),
        lease_until: until,
        acquired_at: min(-20),
    };
    factory::job_lock(db, lock("memory", min(-2))).await; // stale: its run died
    factory::job_lock(db, lock("schedule", min(3))).await; // live
    let schedule = |next_run_at, enabled, last_error: Option<&str>| NewSchedule {
        next_run_at,
        enabled,
        last_error: last_error.map(Into::into),
        ..Default::default()
    };
    let due_schedule = factory::schedule(db, schedule(min(-120), true, None)).await;
    factory::schedule(db, schedule(min(-1), true, None)).await;
    factory::schedule(db, schedule(min(60), true, None)).await;
    factory::schedule(db, schedule(min(-60), false, None)).await;
    // A row the job could not use waits for a fix: no next run, a last_error.
    factory::schedule(db, schedule(None, true, Some("bad cron expression"))).await;
    for (hours_ago, status, attempts) in [
        (3, "pending", 0),
        (2, "failed", 1),
        (1, "done", 0),
        (4, "failed", 5),
    ] {
        let tick = NewTick {
            schedule_id: Some(due_schedule),
            slot: Some(now - Duration::hours(hours_ago)),
            status: status.into(),
            attempts,
            ..Default::default()
        };
        factory::tick(db, tick).await;
    }
    let terminal = |reached| NewItem {
        status: "DONE".into(),
        status_changed_at: reached,
        ..Default::default()
    };
    for (reached, last_error) in [
        (min(-90), None),
        (min(-30), None),
        (min(-300), Some("resolved before decided")),
    ] {
        let item = factory::item(db, terminal(reached)).await;
        let decision = NewDecision {
            item_id: Some(item),
            last_error: last_error.map(Into::into),
            ..Default::default()
        };
        factory::decision(db, decision).await;
    }
    let open = factory::item(
        db,
        NewItem {
            status: "ACTIVE".into(),
            ..Default::default()
        },
    )
    .await;
    factory::decision(
        db,
        NewDecision {
            item_id: Some(open),
            ..Default::default()
        },
    )
    .await;

    // Memory: 12 new messages (due at the default threshold of 10), 3 (waiting), and 12 in a
    // conversation backing off after a failed summary.
    for (count, backing_off) in [(12, false), (3, false), (12, true)] {
        let conversation = factory::conversation(db, NewConversation::default()).await;
        factory::messages(db, conversation, count).await;
        if backing_off {
            db.execute(
                "update conversations set memory_attempts = 1, memory_retry_after = $2 where id = $1",
                &[&conversation, &(now + Duration::minutes(10))],
            )
            .await
            .unwrap();
        }
    }

    let health = rows_by_job(&env, "queue_health_at", now).await;
    let keys = [
        "pending",
        "due",
        "processing",
        "expired_leases",
        "failed",
        "dead",
        "oldest_due_age_seconds",
    ];
    assert_eq!(
        pick(&health["patch"], &keys),
        json!({"pending": 3, "due": 4, "processing": 1, "expired_leases": 1, "failed": 2, "dead": 2,
               "oldest_due_age_seconds": 600})
    );
    assert_eq!(
        pick(&health["schedule"], &keys),
        json!({"pending": 1, "due": 2, "processing": 1, "expired_leases": 0, "failed": 1, "dead": 2,
               "oldest_due_age_seconds": 3 * 3600})
    );
    assert_eq!(
        pick(
            &health["memory"],
            &[
                "pending",
                "due",
                "processing",
                "expired_leases",
                "failed",
                "dead"
            ]
        ),
        json!({"pending": 3, "due": 1, "processing": 0, "expired_leases": 1, "failed": 1, "dead": 0})
    );
    let strict: i64 = db
        .query_one(
            "select due from queue_health_at($1, 3) where job = 'memory'",
            &[&now],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        strict, 2,
        "the memory threshold is a parameter (MEMORY_MIN_NEW_MESSAGES)"
    );
    assert_eq!(
        pick(&health["outcomes"], &keys),
        json!({"pending": 2, "due": 2, "processing": 0, "expired_leases": 0, "failed": 0, "dead": 1,
               "oldest_due_age_seconds": 5400})
    );
    // Rewards: decisions with an outcome and no reward.
    let item = factory::item(db, terminal(min(-10))).await;
    let decision = factory::decision(
        db,
        NewDecision {
            item_id: Some(item),
            ..Default::default()
        },
    )
    .await;
    factory::outcome(
        db,
        NewOutcome {
            decision_id: Some(decision),
            ..Default::default()
        },
    )
    .await;
    let health = rows_by_job(&env, "queue_health_at", now + Duration::hours(1)).await;
    assert_eq!(
        pick(&health["rewards"], &["due", "dead"]),
        json!({"due": 1, "dead": 0})
    );
    assert_eq!(
        health["patch"]["due"], 7,
        "an hour later the waiting jobs and both leases are due too"
    );
}

#[tokio::test]
async fn the_run_summary_has_last_run_last_success_24h_counts_percentiles_and_missing_ticks() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    // 12:07:30 UTC: patch's last expected tick (*/2, 5 min grace) is 12:02; outcomes' (15 * * * *) 11:15.
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 12, 7, 30).unwrap();
    db.execute(
        "update cron_schedules set created_at = $1",
        &[&(now - Duration::days(2))],
    )
    .await
    .unwrap();
    let run =
        |job: &str, trigger: &str, status: &str, minutes_ago: i64, duration_ms: i32| NewCronRun {
            job: job.into(),
            trigger: trigger.into(),
            status: status.into(),
            started_at: Some(now - Duration::minutes(minutes_ago)),
            finished_at: (status != "running").then(|| now - Duration::minutes(minutes_ago)),
            duration_ms: (status != "running").then_some(duration_ms),
            error: (status == "error")
                .then(|| "supabase_unavailable: Supabase is unreachable".into()),
            ..Default::default()
        };
    for new in [
        run("patch", "vercel_cron", "error", 25 * 60, 50), // older than 24 h
        run("patch", "vercel_cron", "ok", 30, 100),
        run("patch", "vercel_cron", "ok", 20, 200),
        run("patch", "vercel_cron", "partial", 10, 300),
        run("patch", "vercel_cron", "error", 5, 400),
        run("outcomes", "vercel_cron", "ok", 180, 80),
        run("outcomes", "manual", "ok", 10, 90), // manual runs do not fill a tick
        run("rewards", "vercel_cron", "running", 30, 0), // never finished (maxDuration 120 s)
        run("schedule", "scheduler", "ok", 7, 1500),
        run("legacy", "manual", "skipped", 60, 5),
    ] {
        factory::cron_run(db, new).await;
    }
    db.execute(
        "insert into cron_runs (run_id, job, trigger, status, started_at, dry_run)
         values (gen_random_uuid(), 'memory', 'manual', 'ok', $1, true)",
        &[&(now - Duration::minutes(1))],
    )
    .await
    .unwrap();

    let summary = rows_by_job(&env, "cron_run_summary_at", now).await;
    let patch = &summary["patch"];
    assert_eq!(
        pick(
            patch,
            &[
                "last_status",
                "runs_24h",
                "failures_24h",
                "p50_duration_ms_24h",
                "p95_duration_ms_24h",
                "last_tick_missing",
                "running"
            ]
        ),
        json!({"last_status": "error", "runs_24h": 4, "failures_24h": 1, "p50_duration_ms_24h": 250,
               "p95_duration_ms_24h": 385, "last_tick_missing": false, "running": false})
    );
    let at = |v: &Value| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    assert_eq!(
        at(&patch["last_success_at"]),
        now - Duration::minutes(10),
        "partial counts as completed"
    );
    assert_eq!(
        at(&patch["last_expected_tick"]),
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 2, 0).unwrap()
    );
    assert!(
        patch["last_error"]
            .as_str()
            .unwrap()
            .contains("unreachable")
    );

    let outcomes = &summary["outcomes"];
    assert_eq!(
        at(&outcomes["last_expected_tick"]),
        Utc.with_ymd_and_hms(2026, 3, 2, 11, 15, 0).unwrap()
    );
    assert_eq!(
        outcomes["last_tick_missing"], true,
        "only a manual run since the 11:15 tick"
    );
    assert_eq!(outcomes["last_trigger"], "manual");

    let rewards = &summary["rewards"];
    assert_eq!(
        pick(rewards, &["last_status", "failures_24h", "running"]),
        json!({"last_status": "error", "failures_24h": 1, "running": false})
    );
    assert!(
        rewards["last_error"]
            .as_str()
            .unwrap()
            .contains("end is not recorded")
    );
    assert_eq!(
        summary["schedule"]["last_tick_missing"], false,
        "the scheduler ran at 12:00"
    );
    assert_eq!(
        pick(
            &summary["memory"],
            &["last_status", "runs_24h", "last_tick_missing"]
        ),
        json!({"last_status": null, "runs_24h": 0, "last_tick_missing": true}),
        "dry runs are left out"
    );
    assert_eq!(
        pick(
            &summary["legacy"],
            &[
                "schedule",
                "last_status",
                "skipped_24h",
                "last_tick_missing"
            ]
        ),
        json!({"schedule": null, "last_status": "skipped", "skipped_24h": 1, "last_tick_missing": false})
    );
    assert_eq!(summary.as_object().unwrap().len(), 6);
}

#[tokio::test]
async fn postgrest_serves_the_views_to_the_service_role_only() {
    let env = TestEnv::start().await;
    factory::cron_run(&env.db.client, NewCronRun::default()).await;
    let client = reqwest::Client::new();
    for view in ["cron_run_summary", "queue_health"] {
        let url = format!("{}/{view}", env.rest_url());
        let service = client
            .get(&url)
            .header("apikey", &env.service_key)
            .header("Authorization", format!("Bearer {}", env.service_key))
            .send()
            .await
            .unwrap();
        assert_eq!(service.status(), 200, "{view}");
        let rows: Vec<Value> = service.json().await.unwrap();
        assert_eq!(rows.len(), 5, "{view}: one row per job");
        let anon = client
            .get(&url)
            .header("apikey", &env.anon_key)
            .header("Authorization", format!("Bearer {}", env.anon_key))
            .send()
            .await
            .unwrap();
        assert!(
            anon.status().is_client_error(),
            "{view}: anon gets {}",
            anon.status()
        );
    }
}

#[tokio::test]
async fn cron_previous_tick_agrees_with_croner() {
    let env = TestEnv::start().await;
    let mut rng = fastrand::Rng::with_seed(9);
    let fields: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
    let field = |rng: &mut fastrand::Rng, (lo, hi): (u32, u32), star_only_step: bool| -> String {
        let a = rng.u32(lo..=hi);
        let b = rng.u32(a..=hi);
        match rng.u8(0..6) {
            0 | 1 => "*".into(),
            2 => format!("*/{}", rng.u32(2..=(hi - lo).clamp(2, 15))),
            3 if !star_only_step => format!("{a}-{b}"),
            4 if !star_only_step => format!("{a},{b}"),
            _ if !star_only_step => format!("{a}-{b}/{}", rng.u32(1..=3)),
            _ => "*".into(),
        }
    };
    let mut checked = 0;
    for _ in 0..300 {
        // Day of month and day of week: croner and Vixie cron agree when either is `*`.
        let mut parts: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| field(&mut rng, *f, i >= 2))
            .collect();
        if parts[2] != "*" && parts[4] != "*" {
            parts[4] = "*".into();
        }
        let expr = parts.join(" ");
        let at = Utc
            .timestamp_opt(rng.i64(1_600_000_000..1_900_000_000), 0)
            .unwrap();
        let cron: croner::Cron = expr.parse().unwrap_or_else(|e| panic!("{expr}: {e:?}"));
        let expected = cron.find_previous_occurrence(&at, true).unwrap();
        let got: DateTime<Utc> = env
            .db
            .client
            .query_one("select cron_previous_tick($1, $2)", &[&expr, &at])
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, expected, "`{expr}` at {at}");
        checked += 1;
    }
    assert_eq!(checked, 300);
    // Both day fields restricted: either matches (Sunday 2026-03-01 is not the 13th).
    let got: DateTime<Utc> = env
        .db
        .client
        .query_one(
            "select cron_previous_tick('0 9 13 * 0', '2026-03-01 12:00Z')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(got, Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap());
    let bad = env
        .db
        .client
        .execute(
            "update cron_schedules set schedule = '61 * * * *' where job = 'patch'",
            &[],
        )
        .await
        .unwrap_err();
    let message = bad.as_db_error().unwrap().message();
    assert_eq!(
        message, "invalid cron field `61` (values 0 to 59)",
        "a bad schedule is refused where it is written"
    );
}
