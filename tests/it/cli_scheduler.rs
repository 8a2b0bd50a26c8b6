//! `supacron scheduler`: each job at its `vercel.json` times (time is moved, not waited
//! for), never overlapping itself, and a graceful stop — in-process with a controllable
//! clock and runner, and as a real process stopped with SIGTERM mid-run.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use supacron::Job;
use supacron::cli::scheduler::{Event, Jitter, ManualClock, Report, Runner, Scheduler, Tick};
use supacron::cli::shutdown::{self, Stop};
use supacron::cli::vercel_json::{self, CronEntry};
use testkit::TestEnv;
use tokio::sync::Semaphore;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;

use crate::support::patch::jobs_with_status;
use crate::support::supacron::{Supacron, borrowed};

fn repo_vercel_json() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vercel.json")
}

fn entries() -> Vec<CronEntry> {
    vercel_json::load(Some(&repo_vercel_json())).unwrap().0
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A runner whose runs of the gated job wait for a permit; every other run ends at once.
struct GatedRunner {
    gated: Option<Job>,
    permits: Arc<Semaphore>,
}

impl Runner for GatedRunner {
    async fn run(&self, tick: Tick) {
        if Some(tick.job) == self.gated {
            self.permits.acquire().await.unwrap().forget();
        }
    }
}

/// A scheduler over the repository's `vercel.json` on a manual clock, running in a task.
struct Harness {
    clock: ManualClock,
    events: UnboundedReceiver<Event>,
    permits: Arc<Semaphore>,
    stop: Stop,
    task: JoinHandle<Report>,
}

impl Harness {
    async fn start(start: DateTime<Utc>, gated: Option<Job>, grace: Duration) -> Harness {
        Harness::start_with(entries(), None, start, gated, grace).await
    }

    /// [`Harness::start`] over `entries`, with `jitter` fixing each firing's delay.
    async fn start_with(
        entries: Vec<CronEntry>,
        jitter: Option<Jitter>,
        start: DateTime<Utc>,
        gated: Option<Job>,
        grace: Duration,
    ) -> Harness {
        let clock = ManualClock::new(start);
        let permits = Arc::new(Semaphore::new(0));
        let runner = GatedRunner {
            gated,
            permits: permits.clone(),
        };
        let (tx, events) = unbounded_channel();
        let (stop, shutdown) = shutdown::channel();
        let mut scheduler = Scheduler::new(entries, Arc::new(clock.clone()), Arc::new(runner))
            .grace(grace)
            .events(tx);
        if let Some(jitter) = jitter {
            scheduler = scheduler.jitter_with(jitter);
        }
        let task = tokio::spawn(scheduler.run(shutdown));
        clock.wait_until_asleep().await;
        Harness {
            clock,
            events,
            permits,
            stop,
            task,
        }
    }

    /// Moves the clock to `to` and returns what happened there, waiting for every run that
    /// started and is not gated to finish.
    async fn tick(&mut self, to: DateTime<Utc>, gated: Option<Job>) -> Vec<Event> {
        self.clock.advance_to(to).await;
        let mut happened = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            happened.push(event);
        }
        for event in happened.clone() {
            if let Event::Started { job, slot } = event
                && Some(job) != gated
                && !happened.contains(&Event::Finished { job, slot })
            {
                self.finished(job, slot).await;
            }
        }
        happened.retain(|e| !matches!(e, Event::Finished { .. }));
        happened
    }

    async fn finished(&mut self, job: Job, slot: DateTime<Utc>) {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.events.recv()).await {
                Ok(Some(Event::Finished { job: j, slot: s })) if j == job && s == slot => return,
                Ok(Some(_)) => {}
                other => panic!("{job} at {slot} did not finish: {other:?}"),
            }
        }
    }
}

fn started(events: &[Event]) -> BTreeSet<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Started { job, .. } => Some(job.name()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn every_job_fires_at_its_vercel_json_times() {
    let start = at("2026-03-02T00:00:30Z");
    let mut harness = Harness::start(start, None, Duration::from_secs(1)).await;
    // Every minute for 80 minutes; what `vercel.json` says, worked out by hand.
    for minute in 1..=80 {
        let now = at("2026-03-02T00:00:00Z") + TimeDelta::minutes(minute);
        let events = harness.tick(now, None).await;
        let (m, h) = (now.minute(), now.hour());
        let mut want = BTreeSet::new();
        if m % 2 == 0 {
            want.insert("patch");
        }
        if m % 10 == 0 {
            want.insert("memory");
        }
        if m == 0 {
            want.extend(["schedule", "rewards"]);
        }
        if m == 15 {
            want.insert("outcomes");
        }
        assert_eq!(started(&events), want, "at {h:02}:{m:02}: {events:?}");
        for event in &events {
            match event {
                Event::Started { slot, .. } => {
                    assert_eq!(*slot, now, "the slot is the tick's time")
                }
                other => panic!("at {now}: {other:?}"),
            }
        }
    }
    harness.stop.stop();
    let report = harness.task.await.unwrap();
    assert_eq!(report.skipped, 0);
    assert!(report.abandoned.is_empty());
}

#[tokio::test]
async fn a_jittered_schedule_fires_within_its_window_and_keeps_its_slot() {
    let text = r#"{"schedules": [{"name": "outcomes", "path": "/api/training/outcomes",
        "schedule": "0 * * * *", "jitter": 5, "timezone": "Europe/Berlin"}]}"#;
    let entries = vercel_json::parse(text, &vercel_json::Source::BuiltIn).unwrap();
    // The delay of each slot, fixed: 120 s, the whole window (300 s), none.
    let jitter: Jitter = Arc::new(|job, slot, max_secs| {
        assert_eq!((job, max_secs), (Job::Outcomes, 300));
        match slot.hour() {
            1 => 120,
            2 => 300,
            _ => 0,
        }
    });
    let start = at("2026-03-02T00:30:00Z");
    let mut harness =
        Harness::start_with(entries, Some(jitter), start, None, Duration::from_secs(1)).await;
    let slot = |h: u32| at(&format!("2026-03-02T{h:02}:00:00Z"));
    let fired = |events: Vec<Event>| -> Vec<DateTime<Utc>> {
        events
            .into_iter()
            .filter_map(|e| match e {
                Event::Started { slot, .. } => Some(slot),
                _ => None,
            })
            .collect()
    };
    assert!(
        fired(harness.tick(slot(1), None).await).is_empty(),
        "fired before its delay"
    );
    let just_before = slot(1) + TimeDelta::seconds(119);
    assert!(fired(harness.tick(just_before, None).await).is_empty());
    // Fires 120 s late, recorded at its slot (Vercel's scheduled time has no jitter).
    let late = slot(1) + TimeDelta::seconds(120);
    assert_eq!(fired(harness.tick(late, None).await), vec![slot(1)]);
    let just_before = slot(2) + TimeDelta::seconds(299);
    assert!(fired(harness.tick(just_before, None).await).is_empty());
    assert_eq!(
        fired(harness.tick(slot(2) + TimeDelta::minutes(5), None).await),
        vec![slot(2)]
    );
    // A delayed firing does not swallow the next slot.
    assert_eq!(fired(harness.tick(slot(3), None).await), vec![slot(3)]);
    harness.stop.stop();
    let report = harness.task.await.unwrap();
    assert_eq!(report.started, 3);
}

#[tokio::test]
async fn a_missed_stretch_runs_each_job_once_not_once_per_missed_tick() {
    let mut harness =
        Harness::start(at("2026-03-02T00:00:30Z"), None, Duration::from_secs(1)).await;
    // The machine slept from 00:00:30 to 00:07:00: three patch ticks were missed.
    let events = harness.tick(at("2026-03-02T00:07:00Z"), None).await;
    assert_eq!(
        events,
        vec![Event::Started {
            job: Job::Patch,
            slot: at("2026-03-02T00:02:00Z")
        }]
    );
    // Then the schedule goes on from the present.
    let events = harness.tick(at("2026-03-02T00:08:00Z"), None).await;
    assert_eq!(started(&events), BTreeSet::from(["patch"]));
    harness.stop.stop();
    harness.task.await.unwrap();
}

#[tokio::test]
async fn a_tick_is_skipped_while_the_previous_run_of_the_job_is_still_going() {
    let gated = Some(Job::Patch);
    let mut harness =
        Harness::start(at("2026-03-02T00:00:30Z"), gated, Duration::from_secs(1)).await;
    let first = at("2026-03-02T00:02:00Z");
    assert_eq!(
        harness.tick(first, gated).await,
        vec![Event::Started {
            job: Job::Patch,
            slot: first
        }]
    );
    for slot in ["2026-03-02T00:04:00Z", "2026-03-02T00:06:00Z"] {
        assert_eq!(
            harness.tick(at(slot), gated).await,
            vec![Event::Skipped {
                job: Job::Patch,
                slot: at(slot),
                running_since: first
            }],
            "{slot}"
        );
    }
    // The run ends; the next tick starts a new one.
    harness.permits.add_permits(1);
    harness.finished(Job::Patch, first).await;
    let second = at("2026-03-02T00:08:00Z");
    assert_eq!(
        harness.tick(second, gated).await,
        vec![Event::Started {
            job: Job::Patch,
            slot: second
        }]
    );
    // Other jobs run beside a long patch run.
    let events = harness.tick(at("2026-03-02T00:10:00Z"), gated).await;
    assert!(
        events.contains(&Event::Started {
            job: Job::Memory,
            slot: at("2026-03-02T00:10:00Z")
        }),
        "{events:?}"
    );
    assert!(
        events.contains(&Event::Skipped {
            job: Job::Patch,
            slot: at("2026-03-02T00:10:00Z"),
            running_since: second
        }),
        "{events:?}"
    );
    harness.permits.add_permits(1);
    harness.stop.stop();
    let report = harness.task.await.unwrap();
    assert_eq!((report.started, report.skipped), (3, 3));
}

#[tokio::test]
async fn a_stop_lets_the_current_run_finish_and_starts_nothing_new() {
    let gated = Some(Job::Patch);
    let mut harness =
        Harness::start(at("2026-03-02T00:00:30Z"), gated, Duration::from_secs(60)).await;
    let slot = at("2026-03-02T00:02:00Z");
    harness.tick(slot, gated).await;
    harness.stop.stop();
    match tokio::time::timeout(Duration::from_secs(10), harness.events.recv()).await {
        Ok(Some(Event::Stopping { running })) => assert_eq!(running, vec![Job::Patch]),
        other => panic!("{other:?}"),
    }
    // Time passes during the stop: nothing new starts, and the scheduler waits for the run.
    harness.clock.set(at("2026-03-02T00:10:00Z"));
    tokio::task::yield_now().await;
    assert!(
        !harness.task.is_finished(),
        "the scheduler waits for its run"
    );
    harness.permits.add_permits(1);
    let report = tokio::time::timeout(Duration::from_secs(10), &mut harness.task)
        .await
        .expect("the scheduler ends once the run has")
        .unwrap();
    assert_eq!(report.started, 1);
    assert!(report.abandoned.is_empty());
    let rest: Vec<Event> = std::iter::from_fn(|| harness.events.try_recv().ok()).collect();
    assert_eq!(
        rest,
        vec![Event::Finished {
            job: Job::Patch,
            slot
        }]
    );
}

#[tokio::test]
async fn a_run_longer_than_the_grace_period_is_abandoned_and_reported() {
    let gated = Some(Job::Patch);
    let mut harness = Harness::start(
        at("2026-03-02T00:00:30Z"),
        gated,
        Duration::from_millis(100),
    )
    .await;
    harness.tick(at("2026-03-02T00:02:00Z"), gated).await;
    harness.stop.stop();
    let report = tokio::time::timeout(Duration::from_secs(10), harness.task)
        .await
        .expect("the grace period bounds the stop")
        .unwrap();
    assert_eq!(report.abandoned, vec![Job::Patch]);
}

/// The real binary: SIGTERM arrives while a patch run is going (every PostgREST request
/// takes 700 ms); the run completes, its jobs are applied, and the process exits 0.
#[tokio::test]
async fn sigterm_lets_the_current_run_finish_and_exits_0() {
    let mut test = TestEnv::start().await;
    test.db.seed().await;
    test.server.set_latency(Duration::from_millis(700));
    let env = [
        ("SUPABASE_URL", test.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", test.secret_key.clone()),
        ("SUPACRON_LLM_PROVIDER", "offline".into()),
    ];
    let vercel_json = repo_vercel_json();
    let mut scheduler = Supacron::start(
        &[
            "scheduler",
            "--run-on-start",
            "--json",
            "--vercel-json",
            vercel_json.to_str().unwrap(),
        ],
        &borrowed(&env),
    );
    scheduler
        .wait_for("the patch run to start", |l| {
            l["message"] == "run started" && l["job"] == "patch"
        })
        .await;
    scheduler.terminate();
    let status = scheduler.exit().await;
    let output = scheduler.output();
    assert_eq!(status.code(), Some(0), "{output}");
    let lines = scheduler.json_lines();
    let stopping = lines
        .iter()
        .position(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("scheduler stopping"))
        })
        .unwrap_or_else(|| panic!("no stopping line: {output}"));
    assert!(
        lines[stopping]["running"]
            .as_str()
            .unwrap()
            .contains("patch"),
        "the patch run was in progress at SIGTERM: {}",
        lines[stopping]
    );
    let finished = lines
        .iter()
        .position(|l| l["path"] == "/api/cron/patch" && l["http_status"] == 200)
        .unwrap_or_else(|| panic!("the patch run did not finish: {output}"));
    assert!(finished > stopping, "{output}");
    assert_eq!(lines[finished]["trigger"], "scheduler");
    assert!(output.contains("scheduler stopped"), "{output}");
    let done = jobs_with_status(&test.db.client, "done").await;
    assert_eq!(done, 9, "the interrupted run completed its work");
    let recorded: String = test
        .db
        .client
        .query_one(
            "select trigger || ' ' || status from cron_runs where job = 'patch'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        recorded, "scheduler partial",
        "recorded as the scheduler's run"
    );
}

#[tokio::test]
async fn a_bad_vercel_json_stops_the_scheduler_at_start_saying_what_to_fix() {
    let dir = std::env::temp_dir().join(format!("supacron-vercel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("vercel.json");
    std::fs::write(
        &file,
        r#"{"crons": [{"path": "/api/cron/patch", "schedule": "0 5 * * MON"}]}"#,
    )
    .unwrap();
    let mut scheduler =
        Supacron::start(&["scheduler", "--vercel-json", file.to_str().unwrap()], &[]);
    let status = scheduler.exit().await;
    let output = scheduler.output();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("schedule of `/api/cron/patch`") && output.contains("MON"),
        "{output}"
    );
}
