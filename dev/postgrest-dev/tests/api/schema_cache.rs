//! Schema cache: objects created after start are found (one reload on a miss), and
//! `NOTIFY pgrst, 'reload schema'` picks up changes a miss cannot reveal (a new column).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, assert_error, header, json};

#[tokio::test]
async fn objects_created_after_start_are_found() {
    let app = TestApp::spawn().await;
    app.sql("create table late (id int primary key); grant all on late to service_role; insert into late values (1);")
        .await;
    assert_eq!(json(app.get("/late").await).await, json!([{"id": 1}]));
    app.sql("create function late_fn(x int) returns int language sql as 'select x * 2'")
        .await;
    assert_eq!(json(app.get("/rpc/late_fn?x=21").await).await, json!(42));
    app.stop().await;
}

#[tokio::test]
async fn notify_reloads_the_cache() {
    let app = TestApp::spawn().await;
    app.sql("alter table items add column colour text").await;
    let r = app
        .post("/items", "", json!({"name": "a", "colour": "red"}))
        .await;
    assert_error(r, 400, "PGRST204").await;
    let seen = app.server.schema_generation();
    app.sql("notify pgrst, 'reload schema'").await;
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        app.server.wait_for_schema_reload(seen),
    )
    .await
    .expect("schema reloaded after NOTIFY");
    let r = app
        .post(
            "/items?select=colour",
            "return=representation",
            json!({"name": "a", "colour": "red"}),
        )
        .await;
    assert_eq!(json(r).await, json!([{"colour": "red"}]));
    app.stop().await;
}

#[tokio::test]
async fn profiles_select_other_served_schemas() {
    let app = TestApp::spawn_with(|c| c.schemas = vec!["public".into(), "extra".into()]).await;
    app.sql("create schema extra; create table extra.things (id int); grant usage on schema extra to service_role; grant all on extra.things to service_role; insert into extra.things values (5);").await;
    let r = app
        .req(Method::GET, "/things")
        .header("Accept-Profile", "extra")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-profile"), "extra");
    assert_eq!(json(r).await, json!([{"id": 5}]));
    let r = app
        .req(Method::POST, "/things")
        .header("Content-Profile", "extra")
        .json(&json!({"id": 6}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app.get("/items").await;
    assert_eq!(
        header(&r, "content-profile"),
        "public",
        "several schemas: the profile is always named"
    );
    assert_error(app.get("/things").await, 404, "PGRST205").await;
    app.stop().await;
}
