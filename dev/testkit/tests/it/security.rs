//! The security model of supabase/schemas/99_security.sql (and of the app tables an install
//! creates, 10_app_contract.sql), checked on the catalog and by acting as each role: RLS
//! everywhere, nothing for anon / authenticated, everything the backend needs for
//! service_role, functions callable by service_role only, and no default privileges changed
//! (supacron grants and revokes its own objects only).

use testkit::TestDb;
use tokio_postgres::error::SqlState;

use crate::{TABLES, VIEWS};

const CLIENT_ROLES: [&str; 2] = ["anon", "authenticated"];

#[tokio::test]
async fn rls_is_enabled_on_every_public_table() {
    let db = TestDb::new().await;
    let rows = db
        .client
        .query(
            "select relname::text from pg_class
             where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')
               and not relrowsecurity",
            &[],
        )
        .await
        .unwrap();
    let without: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert!(without.is_empty(), "tables without RLS: {without:?}");
}

#[tokio::test]
async fn client_roles_have_no_privilege_on_any_relation() {
    let db = TestDb::new().await;
    for role in CLIENT_ROLES {
        let rows = db
            .client
            .query(
                "select c.relname::text from pg_class c
                 where c.relnamespace = 'public'::regnamespace
                   and (   (c.relkind in ('r', 'p', 'v', 'm')
                            and (has_table_privilege($1, c.oid,
                                   'select, insert, update, delete, truncate, references, trigger')
                                 or has_any_column_privilege($1, c.oid, 'select, insert, update, references')))
                        or (c.relkind = 'S'
                            and has_sequence_privilege($1, c.oid, 'usage, select, update')))",
                &[&role],
            )
            .await
            .unwrap();
        let granted: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        assert!(granted.is_empty(), "{role} has privileges on {granted:?}");
    }
}

#[tokio::test]
async fn service_role_can_read_and_write_every_table_and_read_every_view() {
    let db = TestDb::new().await;
    for table in TABLES {
        let ok: bool = db
            .client
            .query_one(
                "select has_table_privilege('service_role', $1::text::regclass, 'select')
                    and has_table_privilege('service_role', $1::text::regclass, 'insert')
                    and has_table_privilege('service_role', $1::text::regclass, 'update')
                    and has_table_privilege('service_role', $1::text::regclass, 'delete')",
                &[&format!("public.{table}")],
            )
            .await
            .unwrap()
            .get(0);
        assert!(
            ok,
            "service_role lacks select/insert/update/delete on {table}"
        );
    }
    for view in VIEWS {
        let ok: bool = db
            .client
            .query_one(
                "select has_table_privilege('service_role', $1::text::regclass, 'select')",
                &[&format!("public.{view}")],
            )
            .await
            .unwrap()
            .get(0);
        assert!(ok, "service_role cannot read {view}");
    }
}

#[tokio::test]
async fn views_run_with_the_callers_rights() {
    let db = TestDb::new().await;
    for view in VIEWS {
        let invoker: bool = db
            .client
            .query_one(
                "select coalesce('security_invoker=true' = any(reloptions), false)
                 from pg_class where oid = $1::text::regclass",
                &[&format!("public.{view}")],
            )
            .await
            .unwrap()
            .get(0);
        assert!(
            invoker,
            "{view} must be security_invoker, or it would bypass RLS"
        );
    }
}

/// Checks every function in `public`: service_role may execute it; PUBLIC, anon and
/// authenticated may not; search_path is pinned.
async fn assert_functions_locked_down(db: &TestDb) -> usize {
    let rows = db
        .client
        .query(
            "select p.oid::regprocedure::text,
                    has_function_privilege('service_role', p.oid, 'execute'),
                    has_function_privilege('anon', p.oid, 'execute'),
                    has_function_privilege('authenticated', p.oid, 'execute'),
                    p.proacl is not null
                      and not exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0),
                    coalesce('search_path=public, pg_temp' = any(p.proconfig), false)
             from pg_proc p
             where p.pronamespace = 'public'::regnamespace",
            &[],
        )
        .await
        .unwrap();
    for row in &rows {
        let name: String = row.get(0);
        assert!(row.get::<_, bool>(1), "service_role cannot execute {name}");
        assert!(!row.get::<_, bool>(2), "anon can execute {name}");
        assert!(!row.get::<_, bool>(3), "authenticated can execute {name}");
        assert!(row.get::<_, bool>(4), "PUBLIC can execute {name}");
        assert!(
            row.get::<_, bool>(5),
            "{name} must set search_path = public, pg_temp"
        );
    }
    rows.len()
}

#[tokio::test]
async fn every_function_is_executable_by_service_role_only() {
    let db = TestDb::new().await;
    let checked = assert_functions_locked_down(&db).await;
    assert!(
        checked >= 4,
        "expected at least the trigger functions, found {checked}"
    );
}

#[tokio::test]
async fn the_install_changes_no_default_privileges() {
    let db = TestDb::new().await;
    let defaults: i64 = db
        .client
        .query_one("select count(*) from pg_default_acl", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(defaults, 0, "supacron must not alter default privileges");
    // So a function the app creates later keeps PostgreSQL's defaults (the app grants it).
    db.client
        .batch_execute("create function public.app_later() returns int language sql as 'select 1'")
        .await
        .unwrap();
    let public_can: bool = db
        .client
        .query_one(
            "select has_function_privilege('anon', 'public.app_later()', 'execute')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        public_can,
        "the app's own function lost PostgreSQL's default EXECUTE"
    );
}

#[tokio::test]
async fn acting_as_each_role_gives_the_expected_access() {
    let mut db = TestDb::new().await;
    db.seed().await;
    for role in CLIENT_ROLES {
        for table in TABLES.iter().chain(VIEWS) {
            let tx = db.client.transaction().await.unwrap();
            tx.batch_execute(&format!("set local role {role}"))
                .await
                .unwrap();
            let err = tx
                .query(&format!("select * from public.{table} limit 1"), &[])
                .await
                .expect_err(&format!("{role} must not read {table}"));
            assert_eq!(
                err.code(),
                Some(&SqlState::INSUFFICIENT_PRIVILEGE),
                "{role} on {table}: {err}"
            );
            tx.rollback().await.unwrap();
        }
    }

    // service_role sees every row despite RLS (BYPASSRLS) and can write.
    let tx = db.client.transaction().await.unwrap();
    tx.batch_execute("set local role service_role")
        .await
        .unwrap();
    let characters: i64 = tx
        .query_one("select count(*) from characters", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(characters, 3);
    tx.execute(
        "insert into patch_jobs (conversation_id, patch) select id, '{}' from conversations limit 1",
        &[],
    )
    .await
    .expect("service_role inserts into an identity-keyed table");
    let rows = tx
        .query("select * from queue_health", &[])
        .await
        .expect("service_role reads views");
    assert_eq!(rows.len(), 5, "one row per kind of work");
    tx.rollback().await.unwrap();
}
