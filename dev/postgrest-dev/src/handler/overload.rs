//! Overload resolution for `/rpc/<fn>` (reference §6.4): the candidate whose parameter names
//! fit the supplied argument names, a single unnamed parameter taking the raw body, or
//! PGRST202 (not found) / PGRST203 (ambiguous) with PostgREST's texts.

use std::sync::Arc;

use crate::error::{ApiError, ApiResult};
use crate::schema::{Function, SchemaCache};

/// Where the arguments came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// GET/HEAD query string.
    Query,
    /// POST with a JSON (or form) object.
    Json,
    /// POST with a `text/plain` / `text/xml` body for a single unnamed text/xml parameter.
    Raw(&'static str),
}

/// Finds the one function matching the argument names (reference §6.4). The bool is true when
/// the match is a single unnamed parameter that takes the whole body.
pub(crate) fn resolve(
    cache: &SchemaCache,
    schema: &str,
    name: &str,
    names: &[String],
    body: BodyKind,
) -> ApiResult<(Arc<Function>, bool)> {
    let candidates = cache.functions(schema, name);
    let is_read = body == BodyKind::Query;
    let raw_type = match body {
        BodyKind::Raw(t) => Some(t),
        _ => None,
    };
    if let Some(t) = raw_type {
        let raw: Vec<&Arc<Function>> = candidates
            .iter()
            .filter(|f| f.raw_body_type() == Some(t))
            .collect();
        return pick(&raw, schema, name).map(|f| (f, true)).map_err(|e| {
            e.unwrap_or_else(|| not_found(cache, schema, name, names, raw_type, is_read))
        });
    }
    let named: Vec<&Arc<Function>> = candidates
        .iter()
        .filter(|f| f.raw_body_type().is_none() && accepts(f, names))
        .collect();
    match pick(&named, schema, name) {
        Ok(f) => return Ok((f, false)),
        Err(Some(ambiguous)) => return Err(ambiguous),
        Err(None) => {}
    }
    if body == BodyKind::Json {
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
        && f.params
            .iter()
            .filter(|p| p.required)
            .all(|p| names.contains(&p.name))
}

/// Exactly one candidate, `Err(None)` for none, `Err(Some(PGRST203))` for several.
fn pick(
    found: &[&Arc<Function>],
    schema: &str,
    name: &str,
) -> Result<Arc<Function>, Option<ApiError>> {
    match found {
        [] => Err(None),
        [f] => Ok(Arc::clone(f)),
        many => {
            let sigs: Vec<String> = many
                .iter()
                .map(|f| {
                    let ps: Vec<String> = f
                        .params
                        .iter()
                        .map(|p| format!("{} => {}", p.name, p.type_name))
                        .collect();
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
    let json = if is_read {
        ""
    } else {
        " or with a single unnamed json/jsonb parameter"
    };
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
        e = e.hint(format!(
            "Perhaps you meant to call the function {schema}.{h}"
        ));
    }
    e
}
