//! The same server through the `postgrest` 1.6 crate, the way supacron's functions call it:
//! builder filters, exact counts, single(), insert/upsert/update/delete and rpc.

use serde_json::{Value, json};

use crate::helpers::{TestApp, header};

async fn body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn builder_reads_with_filters_order_and_counts() {
    let app = TestApp::spawn().await;
    app.seed_items(json!([
        {"name": "a", "qty": 1, "note": null}, {"name": "b", "qty": 2, "note": "x"},
        {"name": "c", "qty": 3, "note": "x"}, {"name": "d", "qty": 4, "note": "y"}
    ]))
    .await;
    let c = app.client();
    let r = c
        .from("items")
        .select("name")
        .gte("qty", "2")
        .neq("name", "d")
        .order("qty.desc")
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await, (200, json!([{"name": "c"}, {"name": "b"}])));

    let r = c
        .from("items")
        .select("name")
        .in_("name", ["a", "d", "z"])
        .is("note", "null")
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await.1, json!([{"name": "a"}]));
    // The crate does not quote list items: a value with a comma must be quoted by the caller.
    app.seed_items(json!([{"name": "x,y", "qty": 5, "note": "z"}]))
        .await;
    let r = c
        .from("items")
        .select("name")
        .in_("name", ["\"x,y\"", "b"])
        .order("id")
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await.1, json!([{"name": "b"}, {"name": "x,y"}]));

    let r = c
        .from("items")
        .select("name")
        .or("qty.eq.1,note.eq.y")
        .order("id")
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await.1, json!([{"name": "a"}, {"name": "d"}]));

    let r = c
        .from("items")
        .select("*")
        .eq("note", "x")
        .exact_count()
        .execute()
        .await
        .unwrap();
    assert_eq!(header(&r, "content-range"), "0-0/2");
    assert_eq!(r.status(), 206);

    let r = c
        .from("items")
        .select("name")
        .order("id")
        .range(1, 2)
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await.1, json!([{"name": "b"}, {"name": "c"}]));

    let r = c
        .from("items")
        .select("name")
        .eq("name", "b")
        .single()
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await, (200, json!({"name": "b"})));
    let r = c
        .from("items")
        .select("name")
        .eq("note", "x")
        .single()
        .execute()
        .await
        .unwrap();
    let (status, e) = body(r).await;
    assert_eq!((status, e["code"].as_str()), (406, Some("PGRST116")));
    app.stop().await;
}

#[tokio::test]
async fn builder_writes_and_rpc() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let r = c
        .from("items")
        .insert(r#"[{"name": "a", "qty": 1}, {"name": "b", "qty": 2}]"#)
        .execute()
        .await
        .unwrap();
    let (status, rows) = body(r).await;
    assert_eq!((status, rows.as_array().unwrap().len()), (201, 2));

    let r = c
        .from("items")
        .upsert(r#"{"name": "a", "qty": 10}"#)
        .on_conflict("name")
        .execute()
        .await
        .unwrap();
    let (status, rows) = body(r).await;
    assert_eq!((status, rows[0]["qty"].clone()), (200, json!(10)));

    let r = c
        .from("items")
        .eq("name", "b")
        .update(r#"{"note": "updated"}"#)
        .execute()
        .await
        .unwrap();
    let (status, rows) = body(r).await;
    assert_eq!((status, rows[0]["note"].clone()), (200, json!("updated")));

    let r = c
        .from("items")
        .eq("name", "a")
        .delete()
        .execute()
        .await
        .unwrap();
    let (status, rows) = body(r).await;
    assert_eq!((status, rows[0]["name"].clone()), (200, json!("a")));

    let r = c
        .rpc("add_them", r#"{"a": 2, "b": 3}"#)
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await, (200, json!(5)));
    let r = c
        .rpc("items_min", r#"{"min_qty": 0}"#)
        .select("name")
        .execute()
        .await
        .unwrap();
    assert_eq!(body(r).await.1, json!([{"name": "b"}]));
    let r = c.rpc("pay_up", "{}").execute().await.unwrap();
    assert_eq!(body(r).await.0, 402);

    let jwt = c
        .from("items")
        .auth(&app.service_jwt)
        .select("name")
        .execute()
        .await
        .unwrap();
    assert_eq!(jwt.status(), 200);
    app.stop().await;
}
