//! Error bodies and statuses: schema-cache misses, constraint violations, raised exceptions,
//! bad bodies, bad paths and profiles — each `{code,details,hint,message}` as PostgREST sends.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, assert_error, json};

#[tokio::test]
async fn missing_table_and_function() {
    let app = TestApp::spawn().await;
    let body = assert_error(app.get("/itemz").await, 404, "PGRST205").await;
    assert_eq!(
        body["message"],
        "Could not find the table 'public.itemz' in the schema cache"
    );
    assert_eq!(body["hint"], "Perhaps you meant the table 'public.items'");
    let body = assert_error(app.post("/rpc/helo", "", json!({})).await, 404, "PGRST202").await;
    assert_eq!(
        body["hint"],
        "Perhaps you meant to call the function public.hello"
    );
    app.stop().await;
}

#[tokio::test]
async fn constraint_violations_map_to_409_and_400() {
    let app = TestApp::spawn().await;
    app.seed_items(json!([{"name": "a"}])).await;
    let body = assert_error(
        app.post("/items", "", json!({"name": "a"})).await,
        409,
        "23505",
    )
    .await;
    assert_eq!(
        body["message"],
        "duplicate key value violates unique constraint \"items_name_key\""
    );
    assert_eq!(body["details"], "Key (name)=(a) already exists.");
    let body = assert_error(
        app.post("/items", "", json!({"name": "b", "qty": -1}))
            .await,
        400,
        "23514",
    )
    .await;
    assert_eq!(
        body["message"],
        "new row for relation \"items\" violates check constraint \"items_qty_check\""
    );
    assert_error(
        app.post("/children", "", json!({"id": 1, "item_id": 999}))
            .await,
        409,
        "23503",
    )
    .await;
    assert_error(
        app.post("/items", "", json!({"qty": 1})).await,
        400,
        "23502",
    )
    .await;
    assert_eq!(
        app.scalar("select count(*)::text from items").await,
        "1",
        "failed writes rolled back"
    );
    app.stop().await;
}

#[tokio::test]
async fn raised_exceptions_keep_their_status() {
    let app = TestApp::spawn().await;
    let r = app.post("/rpc/pay_up", "", json!({})).await;
    assert_eq!(r.status(), 402);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"code":"PT402","details":"Quota exceeded","hint":"Upgrade your plan","message":"Payment Required"}"#
    );
    let body = assert_error(
        app.post("/rpc/fail_plain", "", json!({"msg": "nope"}))
            .await,
        400,
        "P0001",
    )
    .await;
    assert_eq!(body["message"], "nope");
    app.stop().await;
}

#[tokio::test]
async fn bad_bodies_are_pgrst102() {
    let app = TestApp::spawn().await;
    for body in ["{\"name\": ", "", "not json"] {
        let r = app
            .req(Method::POST, "/items")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let e = assert_error(r, 400, "PGRST102").await;
        assert_eq!(e["message"], "Empty or invalid json");
    }
    let r = app
        .req(Method::POST, "/rpc/hello")
        .header("Content-Type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "PGRST102").await;
    let r = app
        .req(Method::POST, "/items")
        .header("Content-Type", "text/csv")
        .body("name\nx")
        .send()
        .await
        .unwrap();
    let e = assert_error(r, 400, "PGRST102").await;
    assert_eq!(e["message"], "Content-Type not acceptable: text/csv");
    app.stop().await;
}

#[tokio::test]
async fn bad_paths_methods_and_profiles() {
    let app = TestApp::spawn().await;
    let e = assert_error(app.get("/items/1").await, 404, "PGRST125").await;
    assert_eq!(e["message"], "Invalid path specified in request URL");
    let r = app
        .req(Method::GET, "/items")
        .header("Accept-Profile", "private")
        .send()
        .await
        .unwrap();
    let e = assert_error(r, 406, "PGRST106").await;
    assert_eq!(
        (e["message"].as_str(), e["hint"].as_str()),
        (
            Some("Invalid schema: private"),
            Some("Only the following schemas are exposed: public")
        )
    );
    let r = app
        .req(Method::GET, "/items")
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_error(r, 406, "PGRST107").await;
    let r = app
        .req(Method::GET, "/items?limit=-1")
        .send()
        .await
        .unwrap();
    assert_error(r, 416, "PGRST103").await;
    let r = app
        .req(Method::GET, "/items")
        .header("Prefer", "handling=strict, bogus")
        .send()
        .await
        .unwrap();
    let e = assert_error(r, 400, "PGRST122").await;
    assert_eq!(e["details"], "Invalid preferences: bogus");
    let r = app
        .req(Method::GET, "/items?id=eq.1")
        .header("Prefer", "bogus")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), json(r).await),
        (200, json!([])),
        "unknown preferences are ignored"
    );
    app.stop().await;
}

/// Issue #22: ~415 nested `or(`/`not.and(` in a 1.7 KB URL overflowed the stack and aborted
/// the whole process, even from an anonymous caller on an unknown table. Over-deep trees and
/// over-long query strings are now PostgREST-style 400s, and the server keeps serving.
#[tokio::test]
async fn over_deep_logic_trees_and_over_long_queries_are_400s_and_the_server_goes_on() {
    let app = TestApp::spawn().await;
    app.seed_items(json!([{"name": "a"}, {"name": "b"}])).await;
    let nested = |levels: usize| {
        let mut tree = "name.eq.a".to_string();
        for i in 0..levels {
            let op = if i % 2 == 0 { "or" } else { "not.and" };
            tree = format!("{op}({tree},name.eq.b)");
        }
        format!("or=({tree})")
    };
    for path in ["/items", "/no_such_table"] {
        let r = app
            .anon(Method::GET, &format!("{path}?{}", nested(415)))
            .send()
            .await
            .unwrap();
        let body = assert_error(r, 400, "PGRST100").await;
        assert!(
            body["details"]
                .as_str()
                .unwrap()
                .contains("at most 32 levels deep"),
            "{body}"
        );
    }
    // 31 levels inside the key's own tree: accepted and evaluated.
    let r = app.get(&format!("/items?select=name&{}", nested(31))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await, json!([{"name": "a"}, {"name": "b"}]));
    let r = app.get(&format!("/items?{}", nested(32))).await;
    assert_error(r, 400, "PGRST100").await;

    let long = format!("/items?name=in.({})", vec!["x"; 9000].join(","));
    let body = assert_error(app.get(&long).await, 400, "PGRST100").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("query string too long"),
        "{body}"
    );
    // Still serving.
    let r = app.get("/items?select=name&name=eq.a").await;
    assert_eq!(json(r).await, json!([{"name": "a"}]));
    app.stop().await;
}

#[tokio::test]
async fn a_relation_the_role_may_not_read_is_403_42501_and_a_missing_one_404_pgrst205() {
    let app = TestApp::spawn().await;
    app.sql(
        "create view secret_view as select id from secrets;
         grant select (id) on secrets to authenticated;",
    )
    .await;
    let user = postgrest_dev::mint_jwt(crate::helpers::SECRET, "authenticated", None);
    let get = |path: &'static str| app.anon(Method::GET, path).bearer_auth(&user).send();
    let body = assert_error(get("/secrets").await.unwrap(), 403, "42501").await;
    assert_eq!(body["message"], "permission denied for table secrets");
    let body = assert_error(get("/secret_view").await.unwrap(), 403, "42501").await;
    assert_eq!(body["message"], "permission denied for view secret_view");
    // A column privilege is enough for that column.
    assert_eq!(get("/secrets?select=id").await.unwrap().status(), 200);
    let body = assert_error(get("/secretz").await.unwrap(), 404, "PGRST205").await;
    assert_eq!(
        body["message"],
        "Could not find the table 'public.secretz' in the schema cache"
    );
    assert_eq!(body["hint"], "Perhaps you meant the table 'public.secrets'");
    app.stop().await;
}
