//! The schema as the Data API sees it, through dev/postgrest-dev with Supabase's keys: the
//! backend's keys read every table and view; the anon key and no key at all are refused.

use testkit::TestEnv;

async fn get(env: &TestEnv, relation: &str, keys: &[(&str, &str)]) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("{}/{relation}?limit=1", env.rest_url()));
    for (name, value) in keys {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {relation}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn relations() -> impl Iterator<Item = &'static str> {
    crate::TABLES.iter().chain(crate::VIEWS).copied()
}

#[tokio::test]
async fn service_keys_read_every_table_and_view() {
    let mut env = TestEnv::start().await;
    env.db.seed().await;
    let bearer = format!("Bearer {}", env.service_key);
    for relation in relations() {
        let legacy = [
            ("apikey", env.service_key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        let (status, body) = get(&env, relation, &legacy).await;
        assert_eq!(status, 200, "service_role JWT on {relation}: {body}");
        assert!(body.starts_with('['), "{relation}: {body}");

        let (status, body) = get(&env, relation, &[("apikey", env.secret_key.as_str())]).await;
        assert_eq!(status, 200, "sb_secret key on {relation}: {body}");
    }
}

#[tokio::test]
async fn anon_key_and_no_key_are_refused_on_every_table_and_view() {
    let mut env = TestEnv::start().await;
    env.db.seed().await;
    let bearer = format!("Bearer {}", env.anon_key);
    for relation in relations() {
        let anon = [
            ("apikey", env.anon_key.as_str()),
            ("authorization", bearer.as_str()),
        ];
        let (status, body) = get(&env, relation, &anon).await;
        assert_eq!(
            status, 401,
            "anon key on {relation} must be refused: {body}"
        );
        assert!(
            body.contains("42501"),
            "anon on {relation}: permission denied expected: {body}"
        );

        let (status, body) = get(&env, relation, &[]).await;
        assert!(
            status == 401 || status == 403,
            "no key on {relation} must be refused: {status} {body}"
        );
        assert!(
            !body.starts_with('['),
            "no key on {relation} returned rows: {body}"
        );
    }
}

#[tokio::test]
async fn the_server_logs_in_as_the_noinherit_authenticator() {
    let env = TestEnv::start().await;
    let row = env
        .db
        .client
        .query_one(
            "select usename::text, r.rolinherit, has_table_privilege(r.oid, 'public.patch_jobs', 'SELECT')
             from pg_stat_activity a join pg_roles r on r.rolname = a.usename
             where a.datname = current_database() and a.application_name = 'postgrest-dev'
             limit 1",
            &[],
        )
        .await
        .expect("the server's connection in pg_stat_activity");
    let (user, inherit, select): (String, bool, bool) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (user.as_str(), inherit, select),
        (testkit::AUTHENTICATOR, false, false),
        "the dev server must connect like PostgREST on Supabase"
    );
}
