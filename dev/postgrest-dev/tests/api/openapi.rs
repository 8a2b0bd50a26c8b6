//! The OpenAPI description at the root (`GET /rest/v1/`), shaped like PostgREST v13's and
//! limited to what the requesting role may use.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, header, json};

async fn describe(app: &TestApp, anon: bool) -> Value {
    let r = if anon {
        app.anon(Method::GET, "/")
    } else {
        app.req(Method::GET, "/")
    }
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        header(&r, "content-type"),
        "application/openapi+json; charset=utf-8"
    );
    json(r).await
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn root_describes_tables_views_columns_and_functions() {
    let app = TestApp::spawn().await;
    let doc = describe(&app, false).await;
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(doc["basePath"], "/");
    assert_eq!(doc["info"]["title"], "standard public schema");

    let items = &doc["definitions"]["items"];
    assert_eq!(items["type"], "object");
    assert_eq!(
        items["required"],
        json!(["id", "name", "qty", "tags", "created_at"])
    );
    let p = &items["properties"];
    assert_eq!(
        p["id"],
        json!({"description": "Note:\nThis is a Primary Key.<pk/>", "format": "int64", "type": "integer"})
    );
    assert_eq!(p["name"], json!({"format": "text", "type": "string"}));
    assert_eq!(
        p["qty"],
        json!({"default": 1, "format": "int32", "type": "integer"})
    );
    assert_eq!(p["price"], json!({"format": "numeric", "type": "number"}));
    assert_eq!(
        p["tags"],
        json!({"format": "text[]", "items": {"type": "string"}, "type": "array"})
    );
    assert_eq!(p["data"], json!({"format": "jsonb"}));
    assert_eq!(
        p["created_at"],
        json!({"default": "now()", "format": "timestamp with time zone", "type": "string"})
    );
    // A view is described like a table.
    assert_eq!(
        keys(&doc["definitions"]["cheap_items"]["properties"]),
        ["id", "name", "price"]
    );

    let paths = &doc["paths"];
    assert_eq!(keys(&paths["/items"]), ["delete", "get", "patch", "post"]);
    assert_eq!(
        paths["/items"]["get"]["responses"]["200"]["schema"]["items"]["$ref"],
        "#/definitions/items"
    );
    assert_eq!(
        paths["/items"]["get"]["parameters"][0]["$ref"],
        "#/parameters/rowFilter.items.id"
    );
    assert_eq!(
        doc["parameters"]["rowFilter.items.id"],
        json!({"in": "query", "name": "id", "required": false, "type": "string"})
    );

    // RPC: stable functions get GET and POST, volatile ones POST only.
    let add = &paths["/rpc/add_them"];
    assert_eq!(keys(add), ["get", "post"]);
    let args = &add["post"]["parameters"][0];
    assert_eq!(args["name"], "args");
    let schema = &args["schema"];
    assert_eq!(
        schema["required"].as_array().unwrap().len(),
        schema["properties"].as_object().unwrap().len()
    );
    assert_eq!(
        add["get"]["parameters"][0],
        json!({"format": "int32", "in": "query", "name": "a", "required": true, "type": "integer"})
    );
    let hello = &paths["/rpc/hello"]["post"]["parameters"][0]["schema"];
    assert_eq!(
        *hello,
        json!({"properties": {"name": {"format": "text", "type": "string"}}, "type": "object"})
    );
    assert_eq!(keys(&paths["/rpc/log_it"]), ["post"]);
    assert_eq!(keys(&paths["/"]), ["get"]);

    // The same document without the /rest/v1 prefix.
    let r = app
        .http
        .get(format!("http://{}/", app.server.addr()))
        .bearer_auth(&app.service_jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(json(r).await, doc);
    app.stop().await;
}

#[tokio::test]
async fn root_lists_only_what_the_role_may_use() {
    let app = TestApp::spawn().await;
    app.sql(
        "revoke execute on function log_it(text) from public;
         grant execute on function log_it(text) to service_role;",
    )
    .await;
    let service = describe(&app, false).await;
    let anon = describe(&app, true).await;
    let defs = |d: &Value| {
        let mut k: Vec<String> = keys(&d["definitions"])
            .iter()
            .map(|s| s.to_string())
            .collect();
        k.sort();
        k
    };
    assert_eq!(
        defs(&service),
        [
            "cheap_items",
            "children",
            "items",
            "logs",
            "pairs",
            "secrets"
        ]
    );
    assert_eq!(defs(&anon), ["cheap_items", "items", "pairs"]);
    assert!(anon["paths"].get("/secrets").is_none());
    assert!(anon["parameters"].get("rowFilter.secrets.id").is_none());
    assert!(service["paths"].get("/rpc/log_it").is_some());
    assert!(anon["paths"].get("/rpc/log_it").is_none());
    assert!(anon["paths"].get("/rpc/add_them").is_some());
    app.stop().await;
}

#[tokio::test]
async fn root_negotiates_and_refuses_other_methods() {
    let app = TestApp::spawn().await;
    let r = app
        .req(Method::GET, "/")
        .header("Accept", "application/openapi+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .req(Method::GET, "/")
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_error(r, 406, "PGRST107").await;
    let r = app.req(Method::POST, "/").send().await.unwrap();
    assert_error(r, 405, "PGRST117").await;
    let r = app.req(Method::HEAD, "/").send().await.unwrap();
    assert_eq!(
        (r.status().as_u16(), header(&r, "content-type")),
        (200, "application/openapi+json; charset=utf-8".to_string())
    );
    app.stop().await;
}
