//! Reads: `select` shapes, ordering, limit/offset/Range, counts and `Content-Range`, the
//! singular object media type, HEAD, views.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, assert_error, header, json};

async fn five_items(app: &TestApp) {
    app.seed_items(json!([
        {"name": "apple", "qty": 3, "price": "1.50", "note": "fruit", "data": {"color": "red", "size": {"cm": 8}}},
        {"name": "bread", "qty": 1, "price": "2.25", "note": null, "data": {"color": "brown"}},
        {"name": "cheese", "qty": 0, "price": "12.00", "note": "dairy", "data": null},
        {"name": "dates", "qty": 7, "price": null, "note": null, "data": {"color": "brown"}},
        {"name": "eggs", "qty": 12, "price": "3.10", "note": "dairy", "data": {"color": "white"}}
    ]))
    .await;
}

#[tokio::test]
async fn select_renames_casts_and_json_paths() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let r = app.get("/items?select=label:name,qty::text,price,color:data->>color,data->size->cm&name=eq.apple").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "content-type"),
        "application/json; charset=utf-8"
    );
    assert_eq!(
        json(r).await,
        json!([{"label": "apple", "qty": "3", "price": 1.50, "color": "red", "cm": 8}])
    );
    app.stop().await;
}

#[tokio::test]
async fn body_bytes_match_postgrest_json_agg() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let r = app.get("/items?select=id&id=lte.2&order=id").await;
    assert_eq!(header(&r, "content-length"), "22");
    assert_eq!(r.text().await.unwrap(), "[{\"id\":1}, \n {\"id\":2}]");
    app.stop().await;
}

#[tokio::test]
async fn orders_by_several_columns_with_nulls_placement() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let r = app
        .get("/items?select=name&order=note.asc.nullsfirst,qty.desc")
        .await;
    let names: Vec<String> = json(r)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().into())
        .collect();
    assert_eq!(names, ["dates", "bread", "eggs", "cheese", "apple"]);
    let r = app
        .get("/items?select=name&order=price.desc.nullslast&limit=2")
        .await;
    assert_eq!(json(r).await, json!([{"name": "cheese"}, {"name": "eggs"}]));
    app.stop().await;
}

#[tokio::test]
async fn limit_offset_and_range_header_set_content_range() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let r = app
        .get("/items?select=name&order=id&limit=2&offset=1")
        .await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (200, "1-2/*".to_string())
    );
    assert_eq!(
        json(r).await,
        json!([{"name": "bread"}, {"name": "cheese"}])
    );

    let r = app
        .req(Method::GET, "/items?select=name&order=id")
        .header("Range", "3-10")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-range"), "3-4/*");
    assert_eq!(json(r).await, json!([{"name": "dates"}, {"name": "eggs"}]));

    let r = app.get("/items?limit=0").await;
    assert_eq!(header(&r, "content-range"), "*/*");
    assert_eq!(json(r).await, json!([]));
    app.stop().await;
}

#[tokio::test]
async fn exact_count_gives_totals_and_partial_statuses() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let counted = |q: &str| {
        app.req(Method::GET, &format!("/items?select=id{q}"))
            .header("Prefer", "count=exact")
            .send()
    };
    let r = counted("&order=id&limit=2").await.unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (206, "0-1/5".to_string())
    );
    assert_eq!(header(&r, "preference-applied"), "count=exact");
    let r = counted("").await.unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (200, "0-4/5".to_string())
    );
    let r = counted("&qty=gt.100").await.unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (200, "*/0".to_string())
    );
    let r = counted("&offset=9").await.unwrap();
    assert_eq!(header(&r, "content-range"), "*/5");
    let body = assert_error(r, 416, "PGRST103").await;
    assert_eq!(
        body["details"],
        "An offset of 9 was requested, but there are only 5 rows."
    );
    app.stop().await;
}

#[tokio::test]
async fn singular_object_or_pgrst116() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let object = |q: &str| {
        app.req(Method::GET, &format!("/items?select=name{q}"))
            .header("Accept", "application/vnd.pgrst.object+json")
            .send()
    };
    let r = object("&name=eq.bread").await.unwrap();
    assert_eq!(
        header(&r, "content-type"),
        "application/vnd.pgrst.object+json; charset=utf-8"
    );
    assert_eq!(json(r).await, json!({"name": "bread"}));
    let body = assert_error(object("&name=eq.nothing").await.unwrap(), 406, "PGRST116").await;
    assert_eq!(
        body["message"],
        "Cannot coerce the result to a single JSON object"
    );
    assert_eq!(body["details"], "The result contains 0 rows");
    let body = assert_error(object("&note=eq.dairy").await.unwrap(), 406, "PGRST116").await;
    assert_eq!(body["details"], "The result contains 2 rows");
    app.stop().await;
}

#[tokio::test]
async fn head_keeps_headers_and_drops_the_body() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let r = app
        .req(Method::HEAD, "/items?limit=2")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(header(&r, "content-range"), "0-1/5");
    assert_eq!(
        header(&r, "content-type"),
        "application/json; charset=utf-8"
    );
    assert_eq!(
        header(&r, "content-length"),
        "",
        "PostgREST sends no Content-Length on HEAD"
    );
    assert!(r.bytes().await.unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn views_and_empty_select_read_like_tables() {
    let app = TestApp::spawn().await;
    five_items(&app).await;
    let r = app.get("/cheap_items?select=&order=price").await;
    let body = json(r).await;
    assert_eq!(body.as_array().unwrap().len(), 3);
    assert_eq!(body[0], json!({"id": 1, "name": "apple", "price": 1.50}));
    let r = app.get("/items?select=name,clients(*)").await;
    assert_error(r, 400, "PGRST100").await;
    app.stop().await;
}
