//! Starting like PostgREST is deployed: logged in as the NOINHERIT `authenticator` with no
//! privileges of its own, and start-up / connection errors that name their cause.

use postgrest_dev::{Config, Server, mint_jwt};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{SECRET, TestApp, connect, json, with_login};

/// A served schema only the API roles may use: the schema cache must load anyway.
const PRIVATE_API: &str = "
create schema api;
revoke all on schema api from public;
create table api.things (id bigint generated always as identity primary key, name text not null);
create view api.thing_names as select name from api.things;
create function api.count_things() returns bigint language sql stable as 'select count(*) from api.things';
insert into api.things (name) values ('a'), ('b');
grant usage on schema api to anon;
grant select on api.things, api.thing_names to anon;
";

#[tokio::test]
async fn starts_as_a_noinherit_authenticator_without_privileges_on_the_served_schema() {
    let app = TestApp::spawn_after(PRIVATE_API, |c| c.schemas = vec!["api".into()]).await;
    let facts = app
        .scalar(
            "select format('%s %s %s', r.rolinherit, has_schema_privilege('authenticator', 'api', 'USAGE'),
                           pg_has_role('authenticator', 'anon', 'MEMBER'))
             from pg_roles r where r.rolname = 'authenticator'",
        )
        .await;
    assert_eq!(
        facts, "f f t",
        "authenticator: rolinherit, USAGE on api, member of anon"
    );
    let r = app
        .anon(Method::GET, "/things?select=id,name&order=id")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        json(r).await,
        json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    );
    let r = app.anon(Method::GET, "/thing_names").send().await.unwrap();
    assert_eq!(json(r).await, json!([{"name": "a"}, {"name": "b"}]));
    let r = app
        .anon(Method::GET, "/rpc/count_things")
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await, json!(2));
    // The identity column's default was read without USAGE on the schema.
    let r = app.anon(Method::GET, "/").send().await.unwrap();
    let doc = json(r).await;
    assert_eq!(
        doc["definitions"]["things"]["required"],
        json!(["id", "name"])
    );
    app.stop().await;
}

async fn start_error(url: String) -> String {
    match Server::start(Config::new(url, SECRET), "127.0.0.1:0".parse().unwrap()).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_role_that_cannot_log_in_is_named_at_start_up() {
    let app = TestApp::spawn().await;
    // Cluster-wide and shared by parallel runs: "already exists" is fine.
    let _ = connect(&app.db_url)
        .await
        .batch_execute("create role pgrst_dev_nologin nologin password 'nologin-password'")
        .await;
    let url = with_login(&app.db_url, "pgrst_dev_nologin", "nologin-password");
    let e = start_error(url.clone()).await;
    assert!(
        e.starts_with("database error: SQLSTATE 28000: role \"pgrst_dev_nologin\" is not permitted to log in. What to do: connect as a role with LOGIN"),
        "{e}"
    );
    // The binary prints the same and exits 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_postgrest-dev"))
        .args(["--db-uri", &url, "--port", "0"])
        .output()
        .expect("run postgrest-dev");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "postgrest-dev: database error: SQLSTATE 28000: role \"pgrst_dev_nologin\""
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("nologin-password"), "{stderr}");
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_is_named_at_start_up() {
    let app = TestApp::spawn().await;
    let e = start_error(with_login(&app.db_url, "authenticator", "not-the-password")).await;
    assert!(
        e.starts_with("database error: SQLSTATE 28P01: password authentication failed for user \"authenticator\". What to do: the password in --db-uri"),
        "{e}"
    );
    assert!(!e.contains("not-the-password"), "{e}");
    app.stop().await;
}

#[tokio::test]
async fn a_lost_database_is_named_in_request_errors() {
    let app = TestApp::spawn().await;
    let name = app.db_url.rsplit('/').next().unwrap().to_string();
    let admin = connect(&app.db_url.replace(&format!("/{name}"), "/postgres")).await;
    admin
        .batch_execute(&format!("drop database {name} with (force)"))
        .await
        .unwrap();
    let key = mint_jwt(SECRET, "service_role", None);
    // The pooled connections were closed (PGRST001); a new one finds no database (PGRST000).
    let mut seen = Vec::new();
    for _ in 0..6 {
        let r = app
            .anon(Method::GET, "/items")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        let body = json(r).await;
        let details = body["details"].as_str().unwrap_or_default().to_string();
        assert!(details.contains("What to do"), "{body}");
        if body["code"] == "PGRST000" {
            assert!(
                details.starts_with(&format!(
                    "SQLSTATE 3D000: database \"{name}\" does not exist"
                )),
                "{body}"
            );
            seen.push(details);
            break;
        }
    }
    assert_eq!(seen.len(), 1, "no PGRST000 naming the missing database");
    app.stop().await;
}
