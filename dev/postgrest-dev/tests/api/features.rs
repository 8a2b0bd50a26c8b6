//! PostgREST features beyond what supacron's jobs call: db-pre-request, `Prefer: tx=` with
//! db-tx-end, `Accept: text/csv`, functions returning a composite record, a server without an
//! anonymous role, the response GUCs and a custom reason phrase.

use postgrest_dev::TxEnd;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, assert_error, header, json};

#[tokio::test]
async fn pre_request_runs_before_every_request_in_its_transaction() {
    let app = TestApp::spawn_with(|c| c.pre_request = Some("public.check_request".into())).await;
    app.sql(
        r#"create function check_request() returns void language plpgsql as $$
           begin
             if current_setting('request.headers', true)::json ->> 'x-block' = 'yes' then
               raise sqlstate 'PT403' using message = 'blocked by pre-request';
             end if;
             perform set_config('response.headers', '[{"X-Pre-Request": "ran"}]', true);
           end $$;"#,
    )
    .await;
    let r = app.get("/items").await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "x-pre-request")),
        (200, "ran".into())
    );
    let r = app.get("/rpc/hello").await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "x-pre-request")),
        (200, "ran".into())
    );
    let r = app
        .req(Method::GET, "/items")
        .header("x-block", "yes")
        .send()
        .await
        .unwrap();
    let e = assert_error(r, 403, "PT403").await;
    assert_eq!(e["message"], "blocked by pre-request");
    // A failing pre-request rolls the write back.
    let r = app
        .req(Method::POST, "/items")
        .header("x-block", "yes")
        .json(&json!({"name": "never"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "PT403").await;
    assert_eq!(app.scalar("select count(*)::text from items").await, "0");
    app.stop().await;
}

#[tokio::test]
async fn prefer_tx_overrides_db_tx_end_only_where_allowed() {
    let app = TestApp::spawn_with(|c| c.tx_end = TxEnd::CommitAllowOverride).await;
    let r = app
        .post(
            "/items",
            "return=representation, tx=rollback",
            json!({"name": "gone"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        header(&r, "preference-applied"),
        "return=representation, tx=rollback"
    );
    assert_eq!(json(r).await[0]["name"], "gone");
    assert_eq!(app.scalar("select count(*)::text from items").await, "0");
    let r = app
        .post("/items", "tx=commit", json!({"name": "kept"}))
        .await;
    assert_eq!(header(&r, "preference-applied"), "tx=commit");
    assert_eq!(
        app.scalar("select string_agg(name, ',') from items").await,
        "kept"
    );
    app.stop().await;

    // db-tx-end = commit (the default): tx= is not honoured, and strict handling refuses it.
    let app = TestApp::spawn().await;
    let r = app
        .post("/items", "tx=rollback", json!({"name": "stays"}))
        .await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "preference-applied")),
        (201, String::new())
    );
    assert_eq!(app.scalar("select count(*)::text from items").await, "1");
    let r = app
        .post(
            "/items",
            "handling=strict, tx=rollback",
            json!({"name": "x"}),
        )
        .await;
    assert_error(r, 400, "PGRST122").await;
    app.stop().await;

    // db-tx-end = rollback-allow-override: nothing persists unless asked.
    let app = TestApp::spawn_with(|c| c.tx_end = TxEnd::RollbackAllowOverride).await;
    assert_eq!(
        app.post("/items", "", json!({"name": "a"})).await.status(),
        201
    );
    assert_eq!(app.scalar("select count(*)::text from items").await, "0");
    app.post("/items", "tx=commit", json!({"name": "b"})).await;
    assert_eq!(app.scalar("select count(*)::text from items").await, "1");
    app.stop().await;
}

#[tokio::test]
async fn accept_text_csv_answers_csv() {
    let app = TestApp::spawn().await;
    app.seed_items(
        json!([{"name": "plain", "qty": 2}, {"name": "with, comma \"quoted\"", "qty": 3}]),
    )
    .await;
    let r = app
        .req(Method::GET, "/items?select=id,name,qty&order=id")
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        r.text().await.unwrap(),
        "id,name,qty\n1,plain,2\n2,\"with, comma \"\"quoted\"\"\",3"
    );
    let r = app
        .req(Method::GET, "/rpc/squares?n=2")
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "i,sq\n1,1\n2,4");
    app.stop().await;
}

#[tokio::test]
async fn functions_returning_a_composite_record() {
    let app = TestApp::spawn().await;
    app.sql(
        "create function split_name(full_name text, out first text, out last text) returns record
           language sql immutable as $$ select split_part(full_name, ' ', 1), split_part(full_name, ' ', 2) $$;
         create function pairs_upto(n int, out a int, out b int) returns setof record
           language sql immutable as 'select g, g * 10 from generate_series(1, n) g';",
    )
    .await;
    let r = app
        .post("/rpc/split_name", "", json!({"full_name": "Ada Lovelace"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await, json!({"first": "Ada", "last": "Lovelace"}));
    let r = app.get("/rpc/pairs_upto?n=2").await;
    assert_eq!(json(r).await, json!([{"a": 1, "b": 10}, {"a": 2, "b": 20}]));
    app.stop().await;
}

#[tokio::test]
async fn without_an_anonymous_role_unauthenticated_requests_get_pgrst302() {
    let app = TestApp::spawn_with(|c| c.anon_role = String::new()).await;
    let r = app.anon(Method::GET, "/items").send().await.unwrap();
    assert_eq!(header(&r, "www-authenticate"), "Bearer");
    let e = assert_error(r, 401, "PGRST302").await;
    assert_eq!(e["message"], "Anonymous access is disabled");
    let r = app
        .anon(Method::GET, "/items")
        .header("apikey", "sb_publishable_anything")
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "PGRST302").await;
    assert_eq!(app.get("/items").await.status(), 200);
    app.stop().await;
}

/// The raw status line, to see the reason phrase (HTTP clients report the canonical one).
async fn status_line(app: &TestApp, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(app.server.addr())
        .await
        .unwrap();
    let req = format!(
        "GET /rest/v1{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        app.service_jwt
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn response_gucs_set_status_and_headers_and_raise_sets_a_reason_phrase() {
    let app = TestApp::spawn().await;
    app.sql(
        r#"create function brew() returns text language plpgsql as $$
           begin
             perform set_config('response.status', '418', true);
             perform set_config('response.headers', '[{"X-Brewed": "tea"}, {"Cache-Control": "no-store"}]', true);
             return 'short and stout';
           end $$;
         create function bad_status() returns text language plpgsql as $$
           begin perform set_config('response.status', 'teapot', true); return 'x'; end $$;
         create function calm_down() returns void language plpgsql as $$
           begin
             raise sqlstate 'PGRST' using
               message = '{"code": "420", "message": "Slow down", "hint": "wait"}',
               detail = '{"status": 420, "status_text": "Enhance Your Calm", "headers": {"X-Wait": "60"}}';
           end $$;"#,
    )
    .await;
    let r = app.get("/rpc/brew").await;
    assert_eq!(r.status(), 418);
    assert_eq!(header(&r, "x-brewed"), "tea");
    assert_eq!(header(&r, "cache-control"), "no-store");
    assert_eq!(json(r).await, json!("short and stout"));
    assert_error(app.get("/rpc/bad_status").await, 500, "PGRST112").await;

    let r = app.get("/rpc/calm_down").await;
    assert_eq!(
        (r.status().as_u16(), header(&r, "x-wait")),
        (420, "60".into())
    );
    assert_eq!(
        json(r).await,
        json!({"code": "420", "details": null, "hint": "wait", "message": "Slow down"})
    );
    assert_eq!(
        status_line(&app, "/rpc/calm_down").await,
        "HTTP/1.1 420 Enhance Your Calm"
    );
    app.stop().await;
}
