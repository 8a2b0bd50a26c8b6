//! dev/sql/bootstrap.sql: the roles exist with Supabase's attributes, and running the file
//! again (also concurrently) changes nothing and fails nothing.

use testkit::TestDb;

#[tokio::test]
async fn bootstrap_twice_is_harmless() {
    let mut db = TestDb::new().await; // the template already ran it once
    db.bootstrap().await;
    db.bootstrap().await;

    let rows = db
        .client
        .query(
            "select rolname, rolcanlogin, rolbypassrls, rolinherit from pg_roles
             where rolname in ('anon', 'authenticated', 'service_role', 'authenticator')
             order by rolname",
            &[],
        )
        .await
        .unwrap();
    let roles: Vec<(String, bool, bool, bool)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("anon".to_string(), false, false, true),
            ("authenticated".to_string(), false, false, true),
            ("authenticator".to_string(), true, false, false),
            ("service_role".to_string(), false, true, true),
        ]
    );

    for role in ["anon", "authenticated", "service_role"] {
        let member: bool = db
            .client
            .query_one(
                "select pg_has_role('authenticator', $1, 'member')",
                &[&role],
            )
            .await
            .unwrap()
            .get(0);
        assert!(member, "authenticator must be able to SET ROLE {role}");
    }
}

#[tokio::test]
async fn concurrent_bootstraps_all_succeed() {
    let db = TestDb::new().await;
    let sql = testkit::bootstrap_sql();
    let mut sessions = Vec::new();
    for _ in 0..4 {
        let client = db.connect().await;
        let sql = sql.clone();
        sessions.push(tokio::spawn(
            async move { client.batch_execute(&sql).await },
        ));
    }
    for session in sessions {
        session
            .await
            .unwrap()
            .expect("bootstrap.sql must not fail when run concurrently");
    }
}
