//! The factories: defaults make valid rows, parents are created when missing, and the fields
//! the CHECKs tie together are filled consistently.

use serde_json::json;
use testkit::TestDb;
use testkit::factory::*;

#[tokio::test]
async fn defaults_build_a_valid_row_in_every_table() {
    let db = TestDb::new().await;
    let c = &db.client;
    let character = character(
        c,
        NewCharacter {
            state: Some(json!({"mood": "ok"})),
            ..Default::default()
        },
    )
    .await;
    let conversation = conversation(
        c,
        NewConversation {
            character_id: Some(character),
            version: Some(7),
            ..Default::default()
        },
    )
    .await;
    let ids = messages(c, conversation, 3).await;
    assert_eq!(ids.len(), 3);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "message ids grow: {ids:?}"
    );
    memory(
        c,
        NewMemory {
            conversation_id: Some(conversation),
            from_message_id: ids[0],
            to_message_id: ids[2],
            ..Default::default()
        },
    )
    .await;
    patch_job(
        c,
        NewPatchJob {
            conversation_id: Some(conversation),
            ..Default::default()
        },
    )
    .await;
    patch_job(c, NewPatchJob::default()).await;
    let schedule = schedule(
        c,
        NewSchedule {
            character_id: Some(character),
            catch_up_window: Some(std::time::Duration::from_secs(3600)),
            ..Default::default()
        },
    )
    .await;
    let tick = tick(
        c,
        NewTick {
            schedule_id: Some(schedule),
            ..Default::default()
        },
    )
    .await;
    post(
        c,
        NewPost {
            schedule_id: Some(schedule),
            tick_id: Some(tick),
            ..Default::default()
        },
    )
    .await;
    let decision = decision(c, NewDecision::default()).await;
    outcome(
        c,
        NewOutcome {
            decision_id: Some(decision),
            ..Default::default()
        },
    )
    .await;
    item(c, NewItem::default()).await;
    cron_run(c, NewCronRun::default()).await;
    job_lock(c, NewJobLock::default()).await;

    let row = c
        .query_one(
            "select (select count(*) from characters), (select count(*) from conversations),
                    (select version from conversation_states where conversation_id = $1),
                    (select state from character_states where character_id = $2),
                    (select catch_up_window = interval '1 hour' from character_schedules where id = $3),
                    (select character_id = $2 from character_posts)",
            &[&conversation, &character, &schedule],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, i64>(0),
        2,
        "the second patch job made its own character"
    );
    assert_eq!(row.get::<_, i64>(1), 2);
    assert_eq!(row.get::<_, i64>(2), 7);
    assert_eq!(row.get::<_, serde_json::Value>(3), json!({"mood": "ok"}));
    assert!(row.get::<_, bool>(4));
    assert!(
        row.get::<_, bool>(5),
        "a post takes its schedule's character"
    );
}

#[tokio::test]
async fn patch_jobs_in_each_status_satisfy_the_checks() {
    let db = TestDb::new().await;
    for status in ["pending", "processing", "done", "failed", "dead"] {
        let id = patch_job(
            &db.client,
            NewPatchJob {
                status: status.into(),
                ..Default::default()
            },
        )
        .await;
        let row = db
            .client
            .query_one(
                "select lease_owner, finished_at is not null from patch_jobs where id = $1",
                &[&id],
            )
            .await
            .unwrap();
        let owner: Option<String> = row.get(0);
        assert_eq!(owner.is_some(), status == "processing", "{status}: lease");
        assert_eq!(
            row.get::<_, bool>(1),
            status == "done" || status == "dead",
            "{status}: finished_at"
        );
    }
}

#[tokio::test]
async fn an_outcome_measures_resolution_from_the_decision() {
    let db = TestDb::new().await;
    let decided_at = chrono::Utc::now() - chrono::Duration::hours(2);
    let decision = decision(
        &db.client,
        NewDecision {
            decided_at: Some(decided_at),
            ..Default::default()
        },
    )
    .await;
    let id = outcome(
        &db.client,
        NewOutcome {
            decision_id: Some(decision),
            reached_at: Some(decided_at + chrono::Duration::seconds(90)),
            ..Default::default()
        },
    )
    .await;
    let seconds: f64 = db
        .client
        .query_one(
            "select resolution_seconds from outcomes where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        (seconds - 90.0).abs() < 1e-6,
        "resolution_seconds = {seconds}"
    );
}
