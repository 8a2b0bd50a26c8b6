//! Horizontal filters and logic trees: operators, `not.`, `in` escaping, `is`, arrays, and what
//! a hostile query string gets (a PostgREST error or no rows, never SQL).

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, json};

async fn seed(app: &TestApp) {
    app.seed_items(json!([
        {"name": "a,b", "qty": 1, "tags": ["x", "y"], "note": "comma"},
        {"name": "plain", "qty": 2, "tags": ["y"], "note": null},
        {"name": "Quote\"d", "qty": 3, "tags": [], "note": "quote"},
        {"name": "a b", "qty": 4, "tags": ["x"], "note": "space"}
    ]))
    .await;
}

/// Names returned by `GET /items?select=name&order=id&<query>`.
async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let r = app
        .get(&format!("/items?select=name&order=id&{query}"))
        .await;
    assert_eq!(r.status(), 200, "{query}");
    json(r)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v: &Value| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn comparison_operators_and_negation() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    assert_eq!(names(&app, "qty=eq.2").await, ["plain"]);
    assert_eq!(names(&app, "qty=neq.2").await, ["a,b", "Quote\"d", "a b"]);
    assert_eq!(names(&app, "qty=gt.2").await, ["Quote\"d", "a b"]);
    assert_eq!(
        names(&app, "qty=gte.2&qty=lt.4").await,
        ["plain", "Quote\"d"]
    );
    assert_eq!(names(&app, "qty=lte.1").await, ["a,b"]);
    assert_eq!(
        names(&app, "qty=not.eq.2&qty=not.gt.3").await,
        ["a,b", "Quote\"d"]
    );
    assert_eq!(names(&app, "qty=eq(any).{1,4}").await, ["a,b", "a b"]);
    app.stop().await;
}

#[tokio::test]
async fn like_ilike_with_star_wildcards() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    assert_eq!(names(&app, "name=like.a*").await, ["a,b", "a b"]);
    assert_eq!(names(&app, "name=ilike.QUOTE*").await, ["Quote\"d"]);
    assert_eq!(names(&app, "name=not.like.*a*").await, ["Quote\"d"]);
    // `+` in a query string is a space; %2B would be a plus.
    assert_eq!(names(&app, "name=eq.a+b").await, ["a b"]);
    app.stop().await;
}

#[tokio::test]
async fn in_lists_honour_quotes_and_escapes() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    assert_eq!(
        names(&app, "name=in.(%22a,b%22,plain)").await,
        ["a,b", "plain"]
    );
    assert_eq!(
        names(&app, "name=in.(%22Quote%5C%22d%22)").await,
        ["Quote\"d"]
    );
    assert_eq!(names(&app, "name=in.(a,b)").await, Vec::<String>::new());
    assert_eq!(names(&app, "qty=not.in.(1,2)").await, ["Quote\"d", "a b"]);
    assert_eq!(names(&app, "qty=in.()").await, Vec::<String>::new());
    assert_eq!(names(&app, "qty=not.in.()").await.len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn is_null_and_array_containment() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    assert_eq!(names(&app, "note=is.null").await, ["plain"]);
    assert_eq!(names(&app, "note=not.is.null&qty=lt.3").await, ["a,b"]);
    assert_eq!(
        names(&app, "note=is.not_null&qty=gt.2").await,
        ["Quote\"d", "a b"]
    );
    assert_eq!(names(&app, "tags=cs.{x}").await, ["a,b", "a b"]);
    assert_eq!(
        names(&app, "tags=cd.{x,y}&tags=neq.{}").await,
        ["a,b", "plain", "a b"]
    );
    let r = app.get("/items?note=is.maybe").await;
    assert_error(r, 400, "PGRST100").await;
    app.stop().await;
}

#[tokio::test]
async fn logic_trees_nest_and_negate() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    assert_eq!(names(&app, "or=(qty.eq.1,qty.eq.4)").await, ["a,b", "a b"]);
    assert_eq!(
        names(&app, "or=(name.eq.plain,and(qty.gt.2,note.eq.space))").await,
        ["plain", "a b"]
    );
    assert_eq!(
        names(&app, "not.or=(qty.eq.1,qty.eq.4)").await,
        ["plain", "Quote\"d"]
    );
    assert_eq!(
        names(&app, "or=(name.in.(%22a,b%22,x),note.is.null)").await,
        ["a,b", "plain"]
    );
    assert_eq!(
        names(&app, "and=(qty.gt.1,not.or(note.eq.quote,note.is.null))").await,
        ["a b"]
    );
    assert_eq!(
        names(&app, "or=( qty.eq.1 , name.eq.%22a b%22 )").await,
        ["a,b", "a b"]
    );
    let body = assert_error(app.get("/items?or=()").await, 400, "PGRST100").await;
    assert_eq!(
        body["message"],
        "\"failed to parse logic tree (())\" (line 1, column 4)"
    );
    app.stop().await;
}

#[tokio::test]
async fn malformed_filters_and_orders_are_pgrst100() {
    let app = TestApp::spawn().await;
    let body = assert_error(app.get("/items?id=0").await, 400, "PGRST100").await;
    assert_eq!(
        body["message"],
        "\"failed to parse filter (0)\" (line 1, column 1)"
    );
    assert_eq!(
        body["details"],
        "unexpected \"0\" expecting \"not\" or operator (eq, gt, ...)"
    );
    let body = assert_error(
        app.get("/items?order=id.asc.nullslasttt").await,
        400,
        "PGRST100",
    )
    .await;
    assert_eq!(
        body["message"],
        "\"failed to parse order (id.asc.nullslasttt)\" (line 1, column 17)"
    );
    assert_error(app.get("/items?id=between.1").await, 400, "PGRST100").await;
    // Values that do not fit the column type are PostgreSQL's errors.
    let body = assert_error(app.get("/items?id=eq.abc").await, 400, "22P02").await;
    assert_eq!(
        body["message"],
        "invalid input syntax for type bigint: \"abc\""
    );
    assert_error(app.get("/items?nope=eq.1").await, 400, "42703").await;
    app.stop().await;
}

#[tokio::test]
async fn sql_injection_attempts_get_errors_not_sql() {
    let app = TestApp::spawn().await;
    seed(&app).await;
    let hostile = [
        "/items?name=eq.x%27%3B%20drop%20table%20items%3B--",
        "/items?name=in.(%27)%3B%20drop%20table%20items%3B--)",
        "/items?or=(name.eq.x%27)%20or%201=1%3B--,qty.eq.99)",
        "/items?order=id%3B%20drop%20table%20items",
        "/items?select=id%3B%20drop%20table%20items",
        "/items?select=id::text)%3B%20drop%20table%20items%3B--",
        "/items?%22id%22%22%3B%20drop%20table%20items%3B--=eq.1",
        "/items?data-%3E%3E%27%3B%20drop%20table%20items=eq.1",
        "/items%22%3B%20drop%20table%20items%3B--",
    ];
    for path in hostile {
        let r = app.get(path).await;
        let status = r.status().as_u16();
        let body = json(r).await;
        assert!(
            status == 200 && body == json!([]) || (400..500).contains(&status),
            "{path}: {status} {body}"
        );
    }
    assert_eq!(app.scalar("select count(*)::text from items").await, "4");
    // The same text as data round-trips untouched.
    let evil = "x'); drop table items; --";
    app.seed_items(json!([{ "name": evil }])).await;
    let r = app
        .get("/items?select=name&name=eq.x%27)%3B%20drop%20table%20items%3B%20--")
        .await;
    assert_eq!(json(r).await, json!([{ "name": evil }]));
    app.stop().await;
}
