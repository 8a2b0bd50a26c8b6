//! `/rpc/<fn>` (reference §6): argument collection, overload resolution by argument names
//! (PGRST202 / PGRST203), transaction mode, and the result shapes of §6.6.

use axum::body::Body;
use axum::http::{Method, Response};
use serde_json::Value;
use serde_json::value::RawValue;
use std::sync::Arc;

use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::handler::Ctx;
use crate::prefer::Op;
use crate::request::Media;
use crate::response::{Reply, check_singular, content_range, range_status};
use crate::schema::{Function, Returns, SchemaCache};
use crate::sql::read::{ReadSpec, build};
use crate::sql::rpc::{Args, call_cte};
use crate::sql::{BodyShape, Scope, Sql, array_literal};

/// Arguments as supplied by the client, before a function is chosen.
enum Supplied {
    /// POST JSON: the object text (first element of an array body), its considered keys, and
    /// the whole body (for a single unnamed json/jsonb parameter).
    Json { object: String, names: Vec<String>, full: String },
    /// GET query parameters (in order, repeated keys kept).
    Text(Vec<(String, String)>),
    /// POST with text/plain or text/xml: the raw body for a single unnamed parameter.
    Raw { body: String, type_name: &'static str },
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
    let supplied = if is_read { Supplied::Text(api.query.rpc_args.clone()) } else { post_args(ctx)? };
    let names = supplied.names();
    let schema = api.schema.clone();
    let (f, raw) = ctx.state.schema.find(|cache| resolve(cache, &schema, name, &names, &supplied, is_read)).await?;
    let args = match supplied {
        Supplied::Json { full, .. } if raw => Args::Raw(full),
        Supplied::Json { object, names, .. } => Args::Json { object, names },
        Supplied::Raw { body, .. } => Args::Raw(body),
        Supplied::Text(pairs) => Args::Text(text_args(&f, pairs)),
    };

    let head = api.method == Method::HEAD;
    let (body, scalar) = match (&f.returns, api.media) {
        (Returns::Void, _) => (BodyShape::Nothing, true),
        (Returns::Scalar { set: false }, _) | (Returns::Scalar { set: true }, Media::Object { .. }) => {
            (BodyShape::Scalar, true)
        }
        (Returns::Scalar { set: true }, Media::Json) => (BodyShape::ScalarArray, true),
        (Returns::Composite { set: true, .. }, Media::Json) => (BodyShape::Array, false),
        (Returns::Composite { .. }, Media::Object { strip_nulls }) => (BodyShape::Object { strip_nulls }, false),
        (Returns::Composite { set: false, .. }, Media::Json) => (BodyShape::Object { strip_nulls: false }, false),
    };
    let body = if head { BodyShape::Nothing } else { body };
    let set = matches!(f.returns, Returns::Scalar { set: true } | Returns::Composite { set: true, .. });
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
    build(&mut sql, "pgrst_rows pgrst_call", Scope { qualifier: "pgrst_call", columns }, &spec);

    let read_only = is_read || !f.volatile;
    let media = api.media;
    let max = api.prefs.strict_max_affected();
    let outcome = db::execute(&ctx.state.pool, &ctx.tx(read_only), &sql, |o| {
        check_singular(media, o.page_total)?;
        match max {
            Some(n) if o.page_total > n => {
                Err(ApiError::new(400, "PGRST124", "Query result exceeds max-affected preference constraint")
                    .details(format!("The query affects {} rows", o.page_total)))
            }
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
        "text/plain" => return Ok(Supplied::Raw { body: text, type_name: "text" }),
        "text/xml" => return Ok(Supplied::Raw { body: text, type_name: "xml" }),
        "application/x-www-form-urlencoded" => {
            let pairs = crate::query::decode_query(&text);
            let names = pairs.iter().map(|(k, _)| k.clone()).collect();
            let object: serde_json::Map<String, Value> =
                pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            let object = Value::Object(object).to_string();
            return Ok(Supplied::Json { full: object.clone(), object, names });
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
            items.first().map(|r| r.get().to_string()).unwrap_or_else(|| "{}".into())
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
    let full = if text.trim().is_empty() { "{}".to_string() } else { text };
    Ok(Supplied::Json { object, names, full })
}

/// GET arguments: last value wins, except a variadic parameter, which gets all values.
fn text_args(f: &Function, pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for p in &f.params {
        let values: Vec<String> = pairs.iter().filter(|(k, _)| *k == p.name).map(|(_, v)| v.clone()).collect();
        if values.is_empty() {
            continue;
        }
        let value = if p.variadic { array_literal(&values) } else { values.last().cloned().unwrap_or_default() };
        out.push((p.name.clone(), value));
    }
    out
}

/// Finds the one function matching the argument names (reference §6.4). The bool is true when
/// the match is a single unnamed parameter that takes the whole body.
fn resolve(
    cache: &SchemaCache,
    schema: &str,
    name: &str,
    names: &[String],
    supplied: &Supplied,
    is_read: bool,
) -> ApiResult<(Arc<Function>, bool)> {
    let candidates = cache.functions(schema, name);
    let raw_type = match supplied {
        Supplied::Raw { type_name, .. } => Some(*type_name),
        _ => None,
    };
    if let Some(t) = raw_type {
        let raw: Vec<&Arc<Function>> = candidates.iter().filter(|f| f.raw_body_type() == Some(t)).collect();
        return pick(&raw, schema, name).map(|f| (f, true)).map_err(|e| e.unwrap_or_else(|| not_found(cache, schema, name, names, raw_type, is_read)));
    }
    let named: Vec<&Arc<Function>> =
        candidates.iter().filter(|f| f.raw_body_type().is_none() && accepts(f, names)).collect();
    match pick(&named, schema, name) {
        Ok(f) => return Ok((f, false)),
        Err(Some(ambiguous)) => return Err(ambiguous),
        Err(None) => {}
    }
    if matches!(supplied, Supplied::Json { .. }) {
        let raw: Vec<&Arc<Function>> = candidates
            .iter()
            .filter(|f| matches!(f.raw_body_type(), Some("json" | "jsonb")))
            .collect();
        match pick(&raw, schema, name) {
            Ok(f) => return Ok((f, true)),
            Err(Some(ambiguous)) => return Err(ambiguous),
            Err(None) => {}
        }
    }
    Err(not_found(cache, schema, name, names, None, is_read))
}

/// `K − optional = required`: every key is a parameter and every required parameter is given.
fn accepts(f: &Function, names: &[String]) -> bool {
    names.iter().all(|n| f.params.iter().any(|p| &p.name == n))
        && f.params.iter().filter(|p| p.required).all(|p| names.contains(&p.name))
}

/// Exactly one candidate, `Err(None)` for none, `Err(Some(PGRST203))` for several.
fn pick(found: &[&Arc<Function>], schema: &str, name: &str) -> Result<Arc<Function>, Option<ApiError>> {
    match found {
        [] => Err(None),
        [f] => Ok(Arc::clone(f)),
        many => {
            let sigs: Vec<String> = many
                .iter()
                .map(|f| {
                    let ps: Vec<String> = f.params.iter().map(|p| format!("{} => {}", p.name, p.type_name)).collect();
                    format!("{schema}.{name}({})", ps.join(", "))
                })
                .collect();
            Err(Some(
                ApiError::new(
                    300,
                    "PGRST203",
                    format!("Could not choose the best candidate function between: {}", sigs.join(", ")),
                )
                .hint("Try renaming the parameters or the function itself in the database so function overloading can be resolved"),
            ))
        }
    }
}

/// PGRST202 with PostgREST's message, details and best-effort hint.
fn not_found(
    cache: &SchemaCache,
    schema: &str,
    name: &str,
    names: &[String],
    raw_type: Option<&str>,
    is_read: bool,
) -> ApiError {
    let f = format!("{schema}.{name}");
    let k = names.join(", ");
    if let Some(t) = raw_type {
        return ApiError::new(404, "PGRST202", format!("Could not find the function {f} in the schema cache"))
            .details(format!(
                "Searched for the function {f} with a single unnamed {t} parameter, but no matches were found in the schema cache."
            ));
    }
    let message = if names.is_empty() {
        format!("Could not find the function {f} without parameters in the schema cache")
    } else {
        format!("Could not find the function {f}({k}) in the schema cache")
    };
    let searched = match names.len() {
        0 => " without parameters".to_string(),
        1 => format!(" with parameter {k}"),
        _ => format!(" with parameters {k}"),
    };
    let json = if is_read { "" } else { " or with a single unnamed json/jsonb parameter" };
    let mut e = ApiError::new(404, "PGRST202", message).details(format!(
        "Searched for the function {f}{searched}{json}, but no matches were found in the schema cache."
    ));
    let existing = cache.functions(schema, name);
    let hint = if let Some(first) = existing.first() {
        let mut ps: Vec<&str> = first.params.iter().map(|p| p.name.as_str()).collect();
        ps.sort();
        Some(format!("{name}({})", ps.join(", ")))
    } else {
        cache.closest_function(schema, name)
    };
    if let Some(h) = hint {
        e = e.hint(format!("Perhaps you meant to call the function {schema}.{h}"));
    }
    e
}
