//! supabase/seed.sql loads after the migrations and holds what the demo relies on.

use testkit::TestDb;

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

#[tokio::test]
async fn seed_loads_and_covers_the_demo() {
    let mut db = TestDb::new().await;
    db.seed().await;

    assert_eq!(count(&db, "select count(*) from characters").await, 3);
    assert_eq!(count(&db, "select count(*) from character_states").await, 3);
    assert_eq!(count(&db, "select count(*) from conversations").await, 4);
    assert_eq!(
        count(&db, "select count(*) from conversation_states").await,
        4
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from (select conversation_id from messages group by 1
                                   having count(*) between 8 and 15) t"
        )
        .await,
        4,
        "every conversation has 8 to 15 messages"
    );
    assert_eq!(
        count(&db, "select count(distinct timezone) from characters").await,
        3
    );

    // Patch queue: pending jobs of both patch formats, one malformed, one not yet due.
    assert!(
        count(
            &db,
            "select count(*) from patch_jobs where status = 'pending'"
        )
        .await
            >= 10
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from patch_jobs where patch = '{\"conversation\": 42}'"
        )
        .await,
        1
    );
    assert!(
        count(
            &db,
            "select count(*) from patch_jobs where jsonb_typeof(patch->'conversation') = 'array'"
        )
        .await
            >= 2
    );
    assert!(
        count(
            &db,
            "select count(*) from patch_jobs where jsonb_typeof(patch->'conversation') = 'object'"
        )
        .await
            >= 2
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from patch_jobs where run_after > now()"
        )
        .await,
        1
    );

    // Memory: conversation 1 summarised up to its cursor.
    assert_eq!(
        count(
            &db,
            "select count(*) from conversations c join memories m on m.conversation_id = c.id
             where c.memory_cursor = m.to_message_id"
        )
        .await,
        1
    );

    // Schedules: hourly posts, 21:30 diaries, one invalid expression, one disabled.
    assert_eq!(
        count(
            &db,
            "select count(*) from character_schedules where cron_expr = '61 * * * *'"
        )
        .await,
        1
    );
    assert!(count(&db, "select count(*) from character_schedules where kind = 'diary' and cron_expr = '30 21 * * *'").await >= 2);
    assert_eq!(
        count(
            &db,
            "select count(*) from character_schedules where not enabled"
        )
        .await,
        1
    );

    // Training: every status, a decision with an unknown action, decisions on terminal items.
    assert_eq!(
        count(&db, "select count(distinct status) from items").await,
        5
    );
    assert_eq!(
        count(
            &db,
            "select count(*) from decisions where action = 'teleport'"
        )
        .await,
        1
    );
    assert!(
        count(
            &db,
            "select count(*) from decisions d join items i on i.id = d.item_id
             where i.status in ('DONE', 'COLD_STORAGE')"
        )
        .await
            >= 2
    );
    assert_eq!(count(&db, "select count(*) from outcomes").await, 0);
}
