//! Behaviour the schema adds by itself: updated_at, items.status_changed_at, the state rows of
//! new characters and conversations, and indexes usable by the queue's queries.

use serde_json::json;
use testkit::TestDb;
use testkit::factory::{self, NewConversation, NewItem, NewPatchJob};

#[tokio::test]
async fn new_characters_and_conversations_get_empty_state_rows() {
    let db = TestDb::new().await;
    let conversation = factory::conversation(&db.client, NewConversation::default()).await;
    let row = db
        .client
        .query_one(
            "select cs.state, cs.run_state, cs.version, ch.state, ch.version
             from conversation_states cs
             join conversations c on c.id = cs.conversation_id
             join character_states ch on ch.character_id = c.character_id
             where cs.conversation_id = $1",
            &[&conversation],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, serde_json::Value>(0), json!({}));
    assert_eq!(row.get::<_, serde_json::Value>(1), json!({}));
    assert_eq!(row.get::<_, i64>(2), 0);
    assert_eq!(row.get::<_, serde_json::Value>(3), json!({}));
    assert_eq!(row.get::<_, i64>(4), 0);
}

#[tokio::test]
async fn updates_bump_updated_at() {
    let db = TestDb::new().await;
    let job = factory::patch_job(&db.client, NewPatchJob::default()).await;
    db.client
        .execute(
            "update patch_jobs set updated_at = now() - interval '1 day' where id = $1",
            &[&job],
        )
        .await
        .unwrap();
    db.client
        .execute("update patch_jobs set attempts = 1 where id = $1", &[&job])
        .await
        .unwrap();
    let fresh: bool = db
        .client
        .query_one(
            "select updated_at > now() - interval '1 minute' from patch_jobs where id = $1",
            &[&job],
        )
        .await
        .unwrap()
        .get(0);
    assert!(fresh, "the trigger sets updated_at on every update");
}

async fn changed_recently(db: &TestDb, item: uuid::Uuid) -> bool {
    db.client
        .query_one(
            "select status_changed_at > now() - interval '1 minute' from items where id = $1",
            &[&item],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_status_change_bumps_status_changed_at_unless_set_explicitly() {
    let db = TestDb::new().await;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(3);
    let item = factory::item(
        &db.client,
        NewItem {
            status_changed_at: Some(long_ago),
            ..Default::default()
        },
    )
    .await;
    db.client
        .execute("update items set title = 'renamed' where id = $1", &[&item])
        .await
        .unwrap();
    assert!(
        !changed_recently(&db, item).await,
        "other columns leave it alone"
    );

    db.client
        .execute("update items set status = 'DONE' where id = $1", &[&item])
        .await
        .unwrap();
    assert!(
        changed_recently(&db, item).await,
        "a status change bumps it"
    );

    db.client
        .execute(
            "update items set status = 'COLD_STORAGE', status_changed_at = $2 where id = $1",
            &[&item, &long_ago],
        )
        .await
        .unwrap();
    assert!(!changed_recently(&db, item).await, "an explicit value wins");
}

/// EXPLAIN with sequential scans disabled: the planner must be able to answer each queue query
/// from the index named for it (the tables are too small for it to choose one on its own).
async fn plan(db: &TestDb, query: &str) -> String {
    db.client
        .batch_execute("set enable_seqscan = off")
        .await
        .unwrap();
    let rows = db
        .client
        .query(&format!("explain {query}"), &[])
        .await
        .unwrap();
    db.client
        .batch_execute("reset enable_seqscan")
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn queue_queries_can_use_their_partial_indexes() {
    let db = TestDb::new().await;
    let cases = [
        (
            "select id from patch_jobs where status in ('pending', 'failed') and run_after <= now()
             order by run_after, id limit 10",
            "patch_jobs_due_idx",
        ),
        (
            "select id from patch_jobs where status = 'processing' and lease_until < now()",
            "patch_jobs_expired_lease_idx",
        ),
        (
            "select id from patch_jobs
             where conversation_id = '00000000-0000-4000-8000-000000000000' and status <> 'done' and status <> 'dead'
             order by id",
            "patch_jobs_open_by_conversation_idx",
        ),
        (
            "select id from character_schedules where enabled and next_run_at <= now()",
            "character_schedules_due_idx",
        ),
        (
            "select id from decisions where reward is null order by decided_at, id limit 10",
            "decisions_reward_pending_idx",
        ),
    ];
    for (query, index) in cases {
        let plan = plan(&db, query).await;
        assert!(
            plan.contains(index),
            "expected {index} in the plan of\n{query}\n{plan}"
        );
    }
}
