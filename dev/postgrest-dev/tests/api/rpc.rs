//! RPC: argument matching by name (overloads, defaults, PGRST202/203), GET vs POST transaction
//! modes, and the result shapes of scalar, setof, composite, table and void functions.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, assert_error, header, json};

#[tokio::test]
async fn scalar_results_by_post_and_get() {
    let app = TestApp::spawn().await;
    let r = app.post("/rpc/add_them", "", json!({"a": 1, "b": 2})).await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (200, "0-0/*".to_string())
    );
    assert_eq!(r.text().await.unwrap(), "3");
    let r = app.get("/rpc/add_them?a=1&b=2&c=3").await;
    assert_eq!(json(r).await, json!(6));
    let r = app
        .post("/rpc/add_them", "", json!({"a": "40", "b": 2}))
        .await;
    assert_eq!(
        json(r).await,
        json!(42),
        "strings are converted to the parameter type"
    );
    app.stop().await;
}

#[tokio::test]
async fn defaults_allow_empty_arguments() {
    let app = TestApp::spawn().await;
    let r = app.post("/rpc/hello", "", json!({})).await;
    assert_eq!(json(r).await, json!("Hello, world"));
    let r = app.req(Method::POST, "/rpc/hello").send().await.unwrap();
    assert_eq!(json(r).await, json!("Hello, world"), "empty body is {{}}");
    let r = app.get("/rpc/hello?name=dev").await;
    assert_eq!(json(r).await, json!("Hello, dev"));
    app.stop().await;
}

#[tokio::test]
async fn set_composite_table_and_void_shapes() {
    let app = TestApp::spawn().await;
    app.seed_items(
        json!([{"name": "a", "qty": 1}, {"name": "b", "qty": 5}, {"name": "c", "qty": 9}]),
    )
    .await;
    let r = app
        .post("/rpc/items_min?select=name", "", json!({"min_qty": 2}))
        .await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (200, "0-1/*".to_string())
    );
    assert_eq!(json(r).await, json!([{"name": "b"}, {"name": "c"}]));
    let r = app.post("/rpc/item_names", "", json!({})).await;
    assert_eq!(r.text().await.unwrap(), "[\"a\", \"b\", \"c\"]");
    let r = app.get("/rpc/make_point?x=1&y=2").await;
    assert_eq!(json(r).await, json!({"x": 1, "y": 2}));
    let r = app.get("/rpc/squares?n=3").await;
    assert_eq!(
        json(r).await,
        json!([{"i": 1, "sq": 1}, {"i": 2, "sq": 4}, {"i": 3, "sq": 9}])
    );
    let r = app.post("/rpc/do_nothing", "", json!({})).await;
    assert_eq!(r.status(), 204);
    assert_eq!(header(&r, "content-type"), "");
    assert!(r.bytes().await.unwrap().is_empty());
    let r = app
        .post("/rpc/echo_json", "", json!({"any": ["thing"]}))
        .await;
    assert_eq!(
        json(r).await,
        json!({"any": ["thing"]}),
        "single unnamed jsonb parameter gets the body"
    );
    app.stop().await;
}

#[tokio::test]
async fn results_can_be_filtered_ordered_paged_and_counted() {
    let app = TestApp::spawn().await;
    let r = app
        .req(
            Method::GET,
            "/rpc/squares?n=10&sq=gt.10&order=i.desc&limit=2&select=i",
        )
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (206, "0-1/7".to_string())
    );
    assert_eq!(json(r).await, json!([{"i": 10}, {"i": 9}]));
    let r = app
        .req(Method::POST, "/rpc/make_point")
        .header("Accept", "application/vnd.pgrst.object+json")
        .json(&json!({"x": 3, "y": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await, json!({"x": 3, "y": 4}));
    app.stop().await;
}

#[tokio::test]
async fn get_runs_read_only_and_post_writes() {
    let app = TestApp::spawn().await;
    let r = app.get("/rpc/log_it?msg=hi").await;
    assert_error(r, 405, "25006").await;
    let r = app.post("/rpc/log_it", "", json!({"msg": "hi"})).await;
    assert_eq!(json(r).await, json!(1));
    assert_eq!(app.scalar("select count(*)::text from logs").await, "1");
    app.stop().await;
}

#[tokio::test]
async fn unmatched_or_ambiguous_calls() {
    let app = TestApp::spawn().await;
    let body = assert_error(
        app.post("/rpc/add_them", "", json!({"a": 1})).await,
        404,
        "PGRST202",
    )
    .await;
    assert_eq!(
        body["message"],
        "Could not find the function public.add_them(a) in the schema cache"
    );
    assert_eq!(
        body["details"],
        "Searched for the function public.add_them with parameter a or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."
    );
    let body = assert_error(app.get("/rpc/add_them?a=1&z=2").await, 404, "PGRST202").await;
    assert_eq!(
        body["details"],
        "Searched for the function public.add_them with parameters a, z, but no matches were found in the schema cache."
    );
    let body = assert_error(app.get("/rpc/no_such_fn").await, 404, "PGRST202").await;
    assert_eq!(
        body["message"],
        "Could not find the function public.no_such_fn without parameters in the schema cache"
    );
    let body = assert_error(app.get("/rpc/ambiguous?a=1").await, 300, "PGRST203").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Could not choose the best candidate function between: ")
    );
    let r = app.req(Method::DELETE, "/rpc/hello").send().await.unwrap();
    let body = assert_error(r, 405, "PGRST101").await;
    assert_eq!(body["message"], "Cannot use the DELETE method on RPC");
    app.stop().await;
}
