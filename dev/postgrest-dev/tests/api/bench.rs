//! Throughput benchmark (ignored by default): primary-key GETs and an RPC returning 100 rows,
//! from keep-alive clients on loopback, with a bounded number of requests. Run with
//! `cargo test -p postgrest-dev --release --test api bench -- --ignored --nocapture`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::helpers::TestApp;

const CONCURRENCY: u64 = 32;
const REQUESTS: u64 = 20_000;

/// Sends `REQUESTS` GETs built by `path(i)` and returns requests per second.
async fn run(app: &TestApp, path: fn(u64) -> String) -> f64 {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let next = Arc::clone(&next);
        let client = reqwest::Client::new();
        let base = app.rest.clone();
        let auth = format!("Bearer {}", app.service_jwt);
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= REQUESTS {
                    break;
                }
                let r = client
                    .get(format!("{base}{}", path(i)))
                    .header("Authorization", &auth)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                r.bytes().await.unwrap();
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    REQUESTS as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark; run explicitly with --ignored --nocapture (release build)"]
async fn bench_throughput() {
    let app = TestApp::spawn_with(|c| c.pool_size = 16).await;
    app.sql(
        "insert into items(name, qty) select 'item ' || g, g % 10 from generate_series(1, 1000) g",
    )
    .await;
    run(&app, |i| format!("/items?id=eq.{}", i % 1000 + 1)).await; // warm-up
    let pk = run(&app, |i| format!("/items?id=eq.{}", i % 1000 + 1)).await;
    let rpc = run(&app, |_| "/rpc/bench_rows?n=100".to_string()).await;
    println!("postgrest-dev bench: {CONCURRENCY} keep-alive clients, {REQUESTS} requests per case");
    println!("  primary-key GET      {pk:>8.0} req/s");
    println!("  RPC returning 100 rows {rpc:>6.0} req/s");
    app.stop().await;
}
