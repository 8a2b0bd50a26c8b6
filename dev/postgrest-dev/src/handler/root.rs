//! `GET /` (and HEAD): the OpenAPI description of the request's schema, listing only the
//! relations and functions the request's role may use — found by a catalog query run inside the
//! request's transaction, as that role (PostgREST's `openapi-mode = follow-privileges`).

use axum::body::Body;
use axum::http::Response;
use std::collections::HashSet;

use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::handler::Ctx;
use crate::openapi::{Scope, describe};
use crate::response::Reply;
use crate::sql::Sql;

/// Oids of what the current role may use in schema `$1`, in PostgREST's terms: any table or
/// column privilege (or owning the relation), EXECUTE on a function.
const ACCESSIBLE_SQL: &str = "SELECT NULL::int8, 0::int8, json_build_object(\
    'relations', coalesce((SELECT json_agg(c.oid::int8) FROM pg_catalog.pg_class c \
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
        WHERE n.nspname = $1::text AND c.relkind IN ('r', 'v', 'm', 'f', 'p') AND NOT c.relispartition \
          AND (pg_catalog.pg_has_role(c.relowner, 'USAGE') \
               OR pg_catalog.has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') \
               OR pg_catalog.has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))), '[]'), \
    'functions', coalesce((SELECT json_agg(p.oid::int8) FROM pg_catalog.pg_proc p \
        JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
        WHERE n.nspname = $1::text AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE')), '[]'))::text, \
    NULL::text, NULL::text, NULL::int8";

pub(crate) async fn describe_root(ctx: &Ctx<'_>) -> ApiResult<Response<Body>> {
    let api = ctx.api;
    let sql = Sql {
        text: ACCESSIBLE_SQL.to_string(),
        params: vec![api.schema.clone()],
    };
    let outcome = db::execute(&ctx.state.pool, &ctx.tx(true), &sql, |_| Ok(())).await?;
    let body = outcome.body.as_deref().unwrap_or("{}");
    let parsed: serde_json::Value = serde_json::from_str(body).map_err(|e| {
        ApiError::new(500, "PGRSTX00", "Internal error").details(format!("privileges: {e}"))
    })?;
    let oids = |key: &str| -> HashSet<i64> {
        parsed[key]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
            .unwrap_or_default()
    };
    let (relations, functions) = (oids("relations"), oids("functions"));
    let (_, cache) = ctx.state.schema.snapshot();
    let doc = describe(
        &cache,
        &Scope {
            schema: &api.schema,
            host: &ctx.state.host,
            relations: &relations,
            functions: &functions,
        },
    );
    let mut reply = Reply::new(200);
    reply.headers.push((
        "content-type".into(),
        "application/openapi+json; charset=utf-8".into(),
    ));
    reply.body = Some(doc.to_string());
    reply.finish(api, None)
}
