//! `/rpc/<fn>` (reference §6): argument collection, the call (overloads are resolved in
//! [`crate::handler::overload`]), transaction mode, and the result shapes of §6.6.

use axum::body::Body;
use axum::http::{Method, Response};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::handler::Ctx;
use crate::handler::overload::{BodyKind, resolve};
use crate::prefer::Op;
use crate::request::Media;
use crate::response::{Reply, check_singular, content_range, range_status};
use crate::schema::{Function, Returns};
use crate::sql::read::{ReadSpec, build};
use crate::sql::rpc::{Args, call_cte};
use crate::sql::{BodyShape, Scope, Sql, array_literal};

/// Arguments as supplied by the client, before a function is chosen.
enum Supplied {
    /// POST JSON: the object text (first element of an array body), its considered keys, and
    /// the whole body (for a single unnamed json/jsonb parameter).
    Json {
        object: String,
        names: Vec<String>,
        full: String,
    },
    /// GET query parameters (in order, repeated keys kept).
    Text(Vec<(String, String)>),
    /// POST with text/plain or text/xml: the raw body for a single unnamed parameter.
    Raw {
        body: String,
        type_name: &'static str,
    },
}

impl Supplied {
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Supplied::Json { names, .. } => names.clone(),
            Supplied::Text(pairs) => pairs.iter().map(|(k, _)| k.clone()).collect(),
            Supplied::Raw { .. } => Vec::new(),
        };
        names.sort();
        names.dedup();
        names
    }
}

pub(crate) async fn call(ctx: &Ctx<'_>, name: &str) -> ApiResult<Response<Body>> {
    let api = ctx.api;
    let is_read = matches!(api.method, Method::GET | Method::HEAD);
    let supplied = if is_read {
        Supplied::Text(api.query.rpc_args.clone())
    } else {
        post_args(ctx)?
    };
    let names = supplied.names();
    let schema = api.schema.clone();
    let kind = match &supplied {
        Supplied::Text(_) => BodyKind::Query,
        Supplied::Json { .. } => BodyKind::Json,
        Supplied::Raw { type_name, .. } => BodyKind::Raw(type_name),
    };
    let (f, raw) = ctx
        .state
        .schema
        .find(|cache| resolve(cache, &schema, name, &names, kind))
        .await?;
    let args = match supplied {
        Supplied::Json { full, .. } if raw => Args::Raw(full),
        Supplied::Json { object, names, .. } => Args::Json { object, names },
        Supplied::Raw { body, .. } => Args::Raw(body),
        Supplied::Text(pairs) => Args::Text(text_args(&f, pairs)),
    };

    let head = api.method == Method::HEAD;
    let (body, scalar) = match (&f.returns, api.media) {
        (Returns::Void, _) => (BodyShape::Nothing, true),
        (Returns::Scalar { set: false }, _)
        | (Returns::Scalar { set: true }, Media::Object { .. }) => (BodyShape::Scalar, true),
        (Returns::Scalar { set: true }, Media::Json | Media::Csv) => (BodyShape::ScalarArray, true),
        (Returns::Composite { .. }, Media::Csv) => (BodyShape::Csv, false),
        (Returns::Composite { set: true, .. }, Media::Json) => (BodyShape::Array, false),
        (Returns::Composite { .. }, Media::Object { strip_nulls }) => {
            (BodyShape::Object { strip_nulls }, false)
        }
        (Returns::Composite { set: false, .. }, Media::Json) => {
            (BodyShape::Object { strip_nulls: false }, false)
        }
    };
    let body = if head { BodyShape::Nothing } else { body };
    let set = matches!(
        f.returns,
        Returns::Scalar { set: true } | Returns::Composite { set: true, .. }
    );
    if api.prefs.strict_max_affected().is_some() && !set {
        return Err(ApiError::new(
            400,
            "PGRST128",
            "Function must return SETOF or TABLE when max-affected preference is used with handling=strict",
        ));
    }

    let (offset, limit) = ctx.window();
    let columns = match &f.returns {
        Returns::Composite { columns, .. } => columns.as_slice(),
        _ => &[],
    };
    let mut sql = Sql::default();
    call_cte(&mut sql, &f, &args);
    let spec = ReadSpec {
        query: &api.query,
        limit,
        offset,
        count: api.prefs.count.is_some(),
        body,
        select_override: scalar.then_some("pgrst_call.pgrst_scalar"),
    };
    build(
        &mut sql,
        "pgrst_rows pgrst_call",
        Scope {
            qualifier: "pgrst_call",
            columns,
        },
        &spec,
    );

    let read_only = is_read || !f.volatile;
    let media = api.media;
    let max = api.prefs.strict_max_affected();
    let outcome = db::execute(&ctx.state.pool, &ctx.tx(read_only), &sql, |o| {
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
    })
    .await?;

    let applied = api.prefs.applied(Op::Rpc);
    let range = content_range(offset, outcome.page_total, outcome.total);
    if matches!(f.returns, Returns::Void) {
        return Reply::new(204)
            .header("content-range", range)
            .opt_header("preference-applied", applied)
            .finish(api, Some(&outcome));
    }
    let status = range_status(offset, outcome.page_total, outcome.total)?;
    Reply::new(status)
        .header("content-range", range)
        .opt_header("preference-applied", applied)
        .json(outcome.body.clone().unwrap_or_default(), media)
        .finish(api, Some(&outcome))
}

/// POST arguments: JSON object (first element of an array), empty body = `{}`.
fn post_args(ctx: &Ctx<'_>) -> ApiResult<Supplied> {
    let api = ctx.api;
    let text = String::from_utf8_lossy(&api.body).into_owned();
    let ct = api.content_type();
    match ct.as_str() {
        "text/plain" => {
            return Ok(Supplied::Raw {
                body: text,
                type_name: "text",
            });
        }
        "text/xml" => {
            return Ok(Supplied::Raw {
                body: text,
                type_name: "xml",
            });
        }
        "application/x-www-form-urlencoded" => {
            let pairs = crate::query::decode_query(&text);
            let names = pairs.iter().map(|(k, _)| k.clone()).collect();
            let object: serde_json::Map<String, Value> = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            let object = Value::Object(object).to_string();
            return Ok(Supplied::Json {
                full: object.clone(),
                object,
                names,
            });
        }
        _ => {}
    }
    let invalid = || ApiError::bad_body("Empty or invalid json");
    let object = if text.trim().is_empty() {
        "{}".to_string()
    } else {
        let raw: &RawValue = serde_json::from_str(&text).map_err(|_| invalid())?;
        let trimmed = raw.get().trim_start();
        if trimmed.starts_with('[') {
            let items: Vec<&RawValue> = serde_json::from_str(trimmed).map_err(|_| invalid())?;
            items
                .first()
                .map(|r| r.get().to_string())
                .unwrap_or_else(|| "{}".into())
        } else {
            trimmed.to_string()
        }
    };
    let mut names: Vec<String> = match serde_json::from_str::<Value>(&object) {
        Ok(Value::Object(o)) => o.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if let Some(cols) = &api.query.columns {
        names.retain(|n| cols.contains(n));
    }
    let full = if text.trim().is_empty() {
        "{}".to_string()
    } else {
        text
    };
    Ok(Supplied::Json {
        object,
        names,
        full,
    })
}

/// GET arguments: last value wins, except a variadic parameter, which gets all values.
fn text_args(f: &Function, pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for p in &f.params {
        let values: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| *k == p.name)
            .map(|(_, v)| v.clone())
            .collect();
        if values.is_empty() {
            continue;
        }
        let value = if p.variadic {
            array_literal(&values)
        } else {
            values.last().cloned().unwrap_or_default()
        };
        out.push((p.name.clone(), value));
    }
    out
}
