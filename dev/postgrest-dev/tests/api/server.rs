//! Server plumbing: both URL layouts, `/_dev/*`, request counting, latency, `max_rows`.

use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

use crate::helpers::{TestApp, header, json};

#[tokio::test]
async fn served_under_rest_v1_and_root_with_dev_endpoints() {
    let app = TestApp::spawn().await;
    let root = format!("http://{}", app.server.addr());
    let r = app
        .http
        .get(format!("{root}/items"))
        .bearer_auth(&app.service_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.get("/items").await.status(), 200);
    assert_eq!(
        app.http
            .get(format!("{root}/_dev/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let stats = json(
        app.http
            .get(format!("{root}/_dev/stats"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats, json!({"requests": 2}));
    assert_eq!(app.server.request_count(), 2);
    app.stop().await;
}

#[tokio::test]
async fn latency_is_added_and_adjustable() {
    let app = TestApp::spawn_with(|c| c.latency = Duration::from_millis(800)).await;
    let start = Instant::now();
    assert_eq!(app.get("/items").await.status(), 200);
    assert!(start.elapsed() >= Duration::from_millis(800));
    app.server.set_latency(Duration::ZERO);
    let start = Instant::now();
    assert_eq!(app.get("/items").await.status(), 200);
    assert!(start.elapsed() < Duration::from_millis(800));
    app.stop().await;
}

#[tokio::test]
async fn max_rows_caps_reads() {
    let app = TestApp::spawn_with(|c| c.max_rows = Some(2)).await;
    app.seed_items(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]))
        .await;
    let r = app
        .req(Method::GET, "/items?select=name")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-range")),
        (206, "0-1/3".to_string())
    );
    let r = app.get("/rpc/squares?n=5").await;
    assert_eq!(json(r).await.as_array().unwrap().len(), 2);
    app.stop().await;
}
