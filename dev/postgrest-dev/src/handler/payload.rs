//! Request bodies of POST/PATCH on relations (reference §5.1): JSON object or array of objects
//! with identical keys, or a form-urlencoded single row; validated against the relation's
//! columns (PGRST102, PGRST204).

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::query::decode_query;
use crate::request::ApiRequest;
use crate::schema::Relation;

/// Rows to write, as one JSON array text, and the column names they set.
pub(crate) struct Payload {
    pub json: String,
    pub columns: Vec<String>,
}

/// Parses the body; with `?columns=` those columns are used and keys are not checked.
pub(crate) fn rows(api: &ApiRequest, rel: &Relation) -> ApiResult<Payload> {
    if let Some(cols) = &api.query.columns {
        check_columns(rel, cols)?;
    }
    let ct = api.content_type();
    // The raw text goes to PostgreSQL (no float rounding of numerics); serde only validates.
    let (text, value): (String, Value) = match ct.as_str() {
        "application/json"
        | "application/vnd.pgrst.object+json"
        | "application/vnd.pgrst.array+json" => {
            let text = std::str::from_utf8(&api.body)
                .map_err(|_| ApiError::bad_body("Empty or invalid json"))?;
            let value = serde_json::from_str(text)
                .map_err(|_| ApiError::bad_body("Empty or invalid json"))?;
            (text.to_string(), value)
        }
        "application/x-www-form-urlencoded" => {
            let pairs = decode_query(&String::from_utf8_lossy(&api.body));
            let value = Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect::<Map<_, _>>(),
            );
            (value.to_string(), value)
        }
        other => {
            return Err(ApiError::bad_body(&format!(
                "Content-Type not acceptable: {other}"
            )));
        }
    };
    let (json, keys) = match &value {
        Value::Object(o) => (format!("[{text}]"), o.keys().cloned().collect::<Vec<_>>()),
        Value::Array(items) => (text, uniform_keys(items, api.query.columns.is_some())?),
        _ => ("[]".to_string(), Vec::new()),
    };
    let columns = match &api.query.columns {
        Some(cols) => cols.clone(),
        None => {
            check_columns(rel, &keys)?;
            keys
        }
    };
    Ok(Payload { json, columns })
}

/// The key set shared by every object (PGRST102 `All object keys must match` otherwise).
fn uniform_keys(items: &[Value], lenient: bool) -> ApiResult<Vec<String>> {
    let mismatch = || ApiError::bad_body("All object keys must match");
    let mut first: Option<Vec<&String>> = None;
    for item in items {
        let Some(o) = item.as_object() else {
            return Err(mismatch());
        };
        let keys: Vec<&String> = o.keys().collect();
        match &first {
            None => first = Some(keys),
            Some(f) if lenient || *f == keys => {}
            Some(_) => return Err(mismatch()),
        }
    }
    Ok(first.unwrap_or_default().into_iter().cloned().collect())
}

/// PGRST204 for a name that is not a column of `rel`.
fn check_columns(rel: &Relation, cols: &[String]) -> ApiResult<()> {
    match cols.iter().find(|c| rel.column(c).is_none()) {
        Some(c) => Err(ApiError::new(
            400,
            "PGRST204",
            format!(
                "Could not find the '{c}' column of '{}' in the schema cache",
                rel.name
            ),
        )),
        None => Ok(()),
    }
}
