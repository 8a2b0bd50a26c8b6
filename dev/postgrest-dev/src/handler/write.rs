//! POST (insert / upsert), PATCH and DELETE on a relation (reference §5): statuses,
//! `Content-Range`, `Location` and `Preference-Applied` as PostgREST v13 sends them.

use axum::body::Body;
use axum::http::Response;
use serde_json::Value;

use crate::db::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::handler::{Ctx, payload};
use crate::prefer::{Op, Resolution, Return};
use crate::query::encode;
use crate::request::Media;
use crate::response::{Reply, check_singular, content_range};
use crate::schema::Relation;
use crate::sql::mutate::{self, MutationSpec, Returning};
use crate::sql::{BodyShape, Sql};

fn returning<'a>(ctx: &'a Ctx<'_>) -> (Return, Returning<'a>, BodyShape) {
    let ret = ctx.api.prefs.ret.unwrap_or(Return::Minimal);
    match ret {
        Return::Minimal => (ret, Returning::Count, BodyShape::Nothing),
        Return::HeadersOnly => (ret, Returning::PrimaryKey, BodyShape::Array),
        Return::Representation => {
            let q = &ctx.api.query;
            let body = match ctx.api.media {
                Media::Json => BodyShape::Array,
                Media::Object { strip_nulls } => BodyShape::Object { strip_nulls },
                Media::Csv => BodyShape::Csv,
            };
            (
                ret,
                Returning::Rows {
                    select: &q.select,
                    order: &q.order,
                },
                body,
            )
        }
    }
}

/// Singular-object and `max-affected` checks, run before commit.
fn checks(ctx: &Ctx<'_>, max_affected: bool) -> impl FnOnce(&Outcome) -> ApiResult<()> + use<> {
    let media = ctx.api.media;
    let max = if max_affected {
        ctx.api.prefs.strict_max_affected()
    } else {
        None
    };
    move |o: &Outcome| {
        check_singular(media, o.page_total)?;
        match max {
            Some(n) if o.page_total > n => Err(ApiError::new(
                400,
                "PGRST124",
                "Query result exceeds max-affected preference constraint",
            )
            .details(format!("The query affects {} rows", o.page_total))),
            _ => Ok(()),
        }
    }
}

fn total_range(ctx: &Ctx<'_>, o: &Outcome) -> String {
    if ctx.api.prefs.count.is_some() {
        format!("*/{}", o.page_total)
    } else {
        "*/*".into()
    }
}

fn with_body(reply: Reply, ret: Return, ctx: &Ctx<'_>, o: &Outcome) -> Reply {
    if ret == Return::Representation {
        reply.json(o.body.clone().unwrap_or_else(|| "[]".into()), ctx.api.media)
    } else {
        reply
    }
}

pub(crate) async fn insert(ctx: &Ctx<'_>, name: &str) -> ApiResult<Response<Body>> {
    let api = ctx.api;
    let rel = ctx.state.schema.relation(&api.schema, name).await?;
    let payload = payload::rows(api, &rel)?;
    let conflict: Vec<String> = api
        .query
        .on_conflict
        .clone()
        .unwrap_or_else(|| rel.pk.clone());
    let upsert = api
        .prefs
        .resolution
        .filter(|_| !conflict.is_empty())
        .map(|r| (r, conflict.as_slice()));
    let (ret, returning, body) = returning(ctx);
    let spec = MutationSpec {
        rel: &rel,
        returning,
        body,
        count: api.prefs.count.is_some(),
    };
    let mut sql = Sql::default();
    let missing_default = api.prefs.missing_default == Some(true);
    mutate::insert(
        &mut sql,
        &spec,
        &payload.columns,
        payload.json,
        missing_default,
        upsert,
    );
    let outcome = db::execute(&ctx.state.pool, &ctx.tx(false), &sql, checks(ctx, false)).await?;

    let merged = matches!(upsert, Some((Resolution::MergeDuplicates, _)));
    let status = if merged && outcome.inserted.unwrap_or(0) == 0 {
        200
    } else {
        201
    };
    let mut reply = Reply::new(status).header("content-range", total_range(ctx, &outcome));
    if ret == Return::HeadersOnly && outcome.page_total == 1 {
        reply = reply.opt_header("location", location(&rel, name, outcome.body.as_deref()));
    }
    let applied = api.prefs.applied(Op::Insert {
        resolution_applies: upsert.is_some(),
    });
    with_body(
        reply.opt_header("preference-applied", applied),
        ret,
        ctx,
        &outcome,
    )
    .finish(api, Some(&outcome))
}

/// `/<table>?pk1=eq.v1&pk2=is.null` from the returned primary-key values (table column order).
fn location(rel: &Relation, name: &str, body: Option<&str>) -> Option<String> {
    if rel.pk.is_empty() {
        return None;
    }
    let rows: Value = serde_json::from_str(body?).ok()?;
    let row = rows.get(0)?.as_object()?;
    let mut pk: Vec<&String> = rel.pk.iter().collect();
    pk.sort_by_key(|k| rel.columns.iter().position(|c| &c.name == *k));
    let parts: Vec<String> = pk
        .iter()
        .map(|k| match row.get(k.as_str()) {
            Some(Value::String(v)) => format!("{}=eq.{}", encode(k), encode(v)),
            _ => format!("{}=is.null", encode(k)),
        })
        .collect();
    Some(format!("/{}?{}", encode(name), parts.join("&")))
}

pub(crate) async fn update(ctx: &Ctx<'_>, name: &str) -> ApiResult<Response<Body>> {
    let api = ctx.api;
    let rel = ctx.state.schema.relation(&api.schema, name).await?;
    let payload = payload::rows(api, &rel)?;
    let (ret, returning, body) = returning(ctx);
    let applied = api.prefs.applied(Op::Update);
    if payload.columns.is_empty() {
        // Nothing to set: nothing is updated (PostgREST answers without touching the table).
        let o = Outcome {
            total: None,
            page_total: 0,
            body: None,
            response_headers: None,
            response_status: None,
            inserted: None,
        };
        check_singular(api.media, 0)?;
        let status = if ret == Return::Representation {
            200
        } else {
            204
        };
        let reply = Reply::new(status)
            .header("content-range", "*/*")
            .opt_header("preference-applied", applied);
        return with_body(reply, ret, ctx, &o).finish(api, None);
    }
    let spec = MutationSpec {
        rel: &rel,
        returning,
        body,
        count: api.prefs.count.is_some(),
    };
    let mut sql = Sql::default();
    let missing_default = api.prefs.missing_default == Some(true);
    let q = &api.query;
    mutate::update(
        &mut sql,
        &spec,
        &payload.columns,
        payload.json,
        missing_default,
        |sql, scope| scope.where_clause(sql, &q.filters, &q.trees),
    );
    let outcome = db::execute(&ctx.state.pool, &ctx.tx(false), &sql, checks(ctx, true)).await?;
    let total = api.prefs.count.is_some().then_some(outcome.page_total);
    let status = if ret == Return::Representation {
        200
    } else {
        204
    };
    let reply = Reply::new(status)
        .header("content-range", content_range(0, outcome.page_total, total))
        .opt_header("preference-applied", applied);
    with_body(reply, ret, ctx, &outcome).finish(api, Some(&outcome))
}

pub(crate) async fn delete(ctx: &Ctx<'_>, name: &str) -> ApiResult<Response<Body>> {
    let api = ctx.api;
    let rel = ctx.state.schema.relation(&api.schema, name).await?;
    let (ret, returning, body) = returning(ctx);
    let spec = MutationSpec {
        rel: &rel,
        returning,
        body,
        count: api.prefs.count.is_some(),
    };
    let mut sql = Sql::default();
    let q = &api.query;
    mutate::delete(&mut sql, &spec, |sql, scope| {
        scope.where_clause(sql, &q.filters, &q.trees)
    });
    let outcome = db::execute(&ctx.state.pool, &ctx.tx(false), &sql, checks(ctx, true)).await?;
    let status = if ret == Return::Representation {
        200
    } else {
        204
    };
    let reply = Reply::new(status)
        .header("content-range", total_range(ctx, &outcome))
        .opt_header("preference-applied", api.prefs.applied(Op::Delete));
    with_body(reply, ret, ctx, &outcome).finish(api, Some(&outcome))
}
