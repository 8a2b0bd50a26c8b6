//! Inserts, upserts, updates and deletes: every `Prefer: return=` choice with its status,
//! headers and body, `?columns=`, `missing=default`, and rollback on a failed singular check.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, assert_error, header, json};

#[tokio::test]
async fn insert_minimal_headers_only_and_representation() {
    let app = TestApp::spawn().await;
    let r = app
        .req(Method::POST, "/items")
        .json(&json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        (header(&r, "content-range"), header(&r, "content-type")),
        ("*/*".into(), "".into())
    );
    assert_eq!(header(&r, "preference-applied"), "");
    assert!(r.bytes().await.unwrap().is_empty());

    let r = app
        .post("/items", "return=headers-only", json!({"name": "b"}))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "location"), "/items?id=eq.2");
    assert_eq!(header(&r, "preference-applied"), "return=headers-only");

    let r = app
        .post("/pairs", "return=headers-only", json!({"a": 1, "b": "x y"}))
        .await;
    assert_eq!(header(&r, "location"), "/pairs?a=eq.1&b=eq.x%20y");

    let r = app
        .post(
            "/items?select=id,name,qty",
            "return=representation, count=exact",
            json!({"name": "c"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(header(&r, "content-range"), "*/1");
    assert_eq!(
        header(&r, "preference-applied"),
        "return=representation, count=exact"
    );
    assert_eq!(json(r).await, json!([{"id": 3, "name": "c", "qty": 1}]));
    app.stop().await;
}

#[tokio::test]
async fn bulk_insert_columns_and_missing_default() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/items",
            "return=representation",
            json!([{"name": "x", "qty": 2}, {"name": "y", "qty": "3"}]),
        )
        .await;
    assert_eq!(
        json(r)
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["qty"].clone())
            .collect::<Vec<_>>(),
        [2, 3]
    );

    let r = app
        .post(
            "/items",
            "return=minimal",
            json!([{"name": "p"}, {"qty": 1}]),
        )
        .await;
    let body = assert_error(r, 400, "PGRST102").await;
    assert_eq!(body["message"], "All object keys must match");

    // ?columns: extra keys ignored, absent ones NULL, or their default with missing=default.
    let r = app
        .post(
            "/items?columns=name,note&select=name,note,qty",
            "return=representation",
            json!([{"name": "m", "junk": 1}]),
        )
        .await;
    assert_eq!(
        json(r).await,
        json!([{"name": "m", "note": null, "qty": 1}])
    );
    let r = app
        .post(
            "/items?columns=name,qty&select=name,qty",
            "return=representation, missing=default",
            json!([{"name": "d"}]),
        )
        .await;
    assert_eq!(
        header(&r, "preference-applied"),
        "missing=default, return=representation"
    );
    assert_eq!(json(r).await, json!([{"name": "d", "qty": 1}]));

    let r = app
        .post("/items", "", json!({"name": "q", "colour": "red"}))
        .await;
    let body = assert_error(r, 400, "PGRST204").await;
    assert_eq!(
        body["message"],
        "Could not find the 'colour' column of 'items' in the schema cache"
    );
    app.stop().await;
}

#[tokio::test]
async fn upserts_report_inserted_or_updated() {
    let app = TestApp::spawn().await;
    app.seed_items(json!([{"id": 1, "name": "a", "qty": 1}]))
        .await;
    let merge = "resolution=merge-duplicates, return=representation";
    let r = app
        .post(
            "/items?select=id,qty",
            merge,
            json!([{"id": 1, "name": "a", "qty": 5}]),
        )
        .await;
    assert_eq!(r.status(), 200, "all rows updated");
    assert_eq!(
        header(&r, "preference-applied"),
        "resolution=merge-duplicates, return=representation"
    );
    assert_eq!(json(r).await, json!([{"id": 1, "qty": 5}]));

    let r = app
        .post(
            "/items?select=id,qty",
            merge,
            json!([{"id": 1, "name": "a", "qty": 6}, {"id": 2, "name": "b", "qty": 2}]),
        )
        .await;
    assert_eq!(r.status(), 201, "one row inserted");
    assert_eq!(
        json(r).await,
        json!([{"id": 1, "qty": 6}, {"id": 2, "qty": 2}])
    );

    let r = app
        .post(
            "/items?on_conflict=name&select=name,qty",
            "resolution=ignore-duplicates, return=representation",
            json!([{"id": 10, "name": "a", "qty": 9}, {"id": 3, "name": "c", "qty": 3}]),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(json(r).await, json!([{"name": "c", "qty": 3}]));
    assert_eq!(
        app.scalar("select qty::text from items where name = 'a'")
            .await,
        "6"
    );
    app.stop().await;
}

#[tokio::test]
async fn patch_statuses_ranges_and_bodies() {
    let app = TestApp::spawn().await;
    app.seed_items(
        json!([{"name": "a", "qty": 1}, {"name": "b", "qty": 2}, {"name": "c", "qty": 3}]),
    )
    .await;
    let r = app
        .req(Method::PATCH, "/items?qty=gte.2")
        .json(&json!({"note": "big"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (204, "0-1/*".to_string())
    );
    assert_eq!(header(&r, "content-type"), "");

    let r = app
        .req(Method::PATCH, "/items?name=eq.a&select=name,qty")
        .header("Prefer", "return=representation")
        .json(&json!({"qty": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await, json!([{"name": "a", "qty": 10}]));

    let r = app
        .req(Method::PATCH, "/items?name=eq.b")
        .header("Prefer", "return=headers-only")
        .json(&json!({"qty": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (204, "0-0/*".to_string())
    );
    assert_eq!(header(&r, "preference-applied"), "return=headers-only");

    let r = app
        .req(Method::PATCH, "/items?name=eq.zzz")
        .json(&json!({"qty": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (204, "*/*".to_string())
    );
    let r = app
        .req(Method::PATCH, "/items?name=eq.a")
        .json(&json!({"qty": -1}))
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "23514").await;
    app.stop().await;
}

#[tokio::test]
async fn delete_minimal_and_representation() {
    let app = TestApp::spawn().await;
    app.seed_items(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]))
        .await;
    let r = app
        .req(Method::DELETE, "/items?name=eq.a")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (204, "*/*".to_string())
    );
    let r = app
        .req(Method::DELETE, "/items?name=eq.nothing")
        .header("Prefer", "return=headers-only, count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (204, "*/0".to_string())
    );
    assert_eq!(
        header(&r, "preference-applied"),
        "return=headers-only, count=exact"
    );
    let r = app
        .req(Method::DELETE, "/items?name=in.(b,zz)&select=name")
        .header("Prefer", "return=representation, count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (200, "*/1".to_string())
    );
    assert_eq!(json(r).await, json!([{"name": "b"}]));
    assert_eq!(
        app.scalar("select string_agg(name, ',') from items").await,
        "c"
    );
    app.stop().await;
}

#[tokio::test]
async fn failed_singular_mutation_rolls_back() {
    let app = TestApp::spawn().await;
    app.seed_items(json!([{"name": "a", "qty": 1}, {"name": "b", "qty": 1}]))
        .await;
    let r = app
        .req(Method::PATCH, "/items?qty=eq.1")
        .header("Accept", "application/vnd.pgrst.object+json")
        .header("Prefer", "return=representation")
        .json(&json!({"qty": 5}))
        .send()
        .await
        .unwrap();
    let body = assert_error(r, 406, "PGRST116").await;
    assert_eq!(body["details"], "The result contains 2 rows");
    assert_eq!(app.scalar("select sum(qty)::text from items").await, "2");

    let r = app
        .req(Method::POST, "/items")
        .header("Accept", "application/vnd.pgrst.object+json")
        .header("Prefer", "return=representation")
        .json(&json!({"name": "single"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(json(r).await["name"], "single");
    app.stop().await;
}
