//! Authentication: service keys (JWT and opaque `sb_secret_`), anonymous access and missing
//! grants (401 vs 403), refused tokens with PostgREST v13 codes, and the request GUCs.

use postgrest_dev::{mint_jwt, sign_jwt};
use reqwest::Method;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::helpers::{SB_SECRET, SECRET, TestApp, assert_error, header, json};

#[tokio::test]
async fn service_role_reads_and_writes_private_tables() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/secrets",
            "return=representation",
            json!({"id": 1, "value": "s"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = app.get("/secrets").await;
    assert_eq!(json(r).await, json!([{"id": 1, "value": "s"}]));
    app.stop().await;
}

#[tokio::test]
async fn anon_and_authenticated_without_grants_are_refused() {
    let app = TestApp::spawn().await;
    let r = app.anon(Method::GET, "/secrets").send().await.unwrap();
    assert_eq!(header(&r, "www-authenticate"), "Bearer");
    let e = assert_error(r, 401, "42501").await;
    assert_eq!(e["message"], "permission denied for table secrets");
    let user = mint_jwt(SECRET, "authenticated", None);
    let r = app
        .anon(Method::GET, "/secrets")
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "42501").await;
    // Granted reads still work for both.
    let r = app.anon(Method::GET, "/items").send().await.unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn tampered_expired_and_malformed_tokens() {
    let app = TestApp::spawn().await;
    let forged = mint_jwt(
        "some-other-secret-some-other-secret-1234",
        "service_role",
        None,
    );
    let r = app
        .anon(Method::GET, "/items")
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "www-authenticate"),
        "Bearer error=\"invalid_token\", error_description=\"No suitable key or wrong key type\""
    );
    let e = assert_error(r, 401, "PGRST301").await;
    assert_eq!(e["details"], "None of the keys was able to decode the JWT");

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = sign_jwt(SECRET, &json!({"role": "service_role", "exp": now - 120}));
    let r = app
        .anon(Method::GET, "/items")
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    let e = assert_error(r, 401, "PGRST303").await;
    assert_eq!(e["message"], "JWT expired");

    let r = app
        .anon(Method::GET, "/items")
        .bearer_auth("not-a-jwt")
        .send()
        .await
        .unwrap();
    let e = assert_error(r, 401, "PGRST301").await;
    assert_eq!(e["message"], "Expected 3 parts in JWT; got 1");
    let r = app
        .anon(Method::GET, "/items")
        .header("Authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "PGRST301").await;
    // Authentication runs before routing.
    let r = app
        .anon(Method::GET, "/a/b/c")
        .bearer_auth(&expired)
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "PGRST303").await;
    app.stop().await;
}

#[tokio::test]
async fn opaque_secret_apikey_alone_is_service_role() {
    let app = TestApp::spawn().await;
    let r = app
        .anon(Method::POST, "/secrets")
        .header("apikey", SB_SECRET)
        .header("Prefer", "return=representation")
        .json(&json!({"id": 7, "value": "via apikey"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app
        .anon(Method::GET, "/secrets?select=value")
        .header("apikey", SB_SECRET)
        .bearer_auth(SB_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await, json!([{"value": "via apikey"}]));
    let r = app
        .anon(Method::GET, "/secrets")
        .header("apikey", "sb_secret_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(json(r).await["message"], "Invalid API key");
    // A JWT apikey without Authorization is verified and used.
    let anon_key = mint_jwt(SECRET, "anon", None);
    let r = app
        .anon(Method::GET, "/secrets")
        .header("apikey", &anon_key)
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "42501").await;
    app.stop().await;
}

#[tokio::test]
async fn request_context_gucs_are_set() {
    let app = TestApp::spawn().await;
    let r = app
        .anon(Method::GET, "/rpc/whoami")
        .header("apikey", SB_SECRET)
        .send()
        .await
        .unwrap();
    let who = json(r).await;
    assert_eq!(who["role"], "service_role");
    assert_eq!(who["claims"], json!({"role": "service_role"}));
    assert_eq!(
        (who["method"].as_str(), who["path"].as_str()),
        (Some("GET"), Some("/rpc/whoami"))
    );
    assert_eq!(who["apikey"], SB_SECRET);

    let token = sign_jwt(SECRET, &json!({"role": "authenticated", "sub": "user-1"}));
    let r = app
        .anon(Method::POST, "/rpc/whoami")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let who = json(r).await;
    assert_eq!(who["role"], "authenticated");
    assert_eq!(
        who["claims"],
        json!({"role": "authenticated", "sub": "user-1"})
    );
    assert_eq!(who["method"], "POST");

    let r = app.anon(Method::GET, "/rpc/whoami").send().await.unwrap();
    assert_eq!(json(r).await["claims"], json!({"role": "anon"}));
    app.stop().await;
}

#[tokio::test]
async fn role_settings_apply_to_the_impersonated_role() {
    let app = TestApp::spawn().await;
    let db = app.scalar("select current_database()::text").await;
    app.sql(&format!(
        "alter role authenticated in database {db} set app.flavour = 'mint';
         alter role authenticated in database {db} set statement_timeout = '100ms';
         create function flavour() returns text language sql stable as $$ select current_setting('app.flavour', true) $$;
         create function sleepy() returns void language sql as 'select pg_sleep(2)';"
    ))
    .await;
    app.server.reload_schema().await.unwrap();
    let user = mint_jwt(SECRET, "authenticated", None);
    let r = app
        .anon(Method::GET, "/rpc/flavour")
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await, json!("mint"));
    let r = app.get("/rpc/flavour").await;
    // (A placeholder GUC once seen by a session reads as "" afterwards, hence not null.)
    assert_ne!(
        json(r).await,
        json!("mint"),
        "service_role has no such setting"
    );
    let r = app
        .anon(Method::POST, "/rpc/sleepy")
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    let e = assert_error(r, 500, "57014").await;
    assert_eq!(e["message"], "canceling statement due to statement timeout");
    app.stop().await;
}
