//! Work rows read one by one: the rule that one row's values can only ever stop that row.
//!
//! Every job receives its work as a JSON array of rows (PostgREST serializes them in
//! PostgreSQL, so `infinity`, `-infinity` and `NaN` arrive as strings and documents as deep
//! as the schema allows). A batch is therefore never decoded as one typed value: its
//! elements are kept as raw JSON ([`RawRows`], scanned without a depth limit) and decoded
//! each on its own ([`decode_rows`]). A row that cannot be decoded — a non-finite timestamp
//! or number, a document nested deeper than [`MAX_DOCUMENT_DEPTH`] levels, a missing or
//! mistyped field — becomes a [`RefusedRow`] carrying its key (decoded leniently) and a
//! readable reason; the job records that reason on the row through its normal error path
//! (the patch job: `dead`; rewards: `decisions.last_error`; schedules: `last_error` and
//! `next_run_at = NULL`; ticks: `failed`; memory: `memory_last_error` with a backoff), and the
//! rest of the batch goes on.
//!
//! SQL that computes with a row's values (the outcome job subtracts timestamps) refuses
//! non-finite values itself, in the same statement, the same way.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::cap_error;

/// JSON documents (patches, states) nested deeper than this are refused as that row's
/// permanent error (serde_json cannot read past 128 levels; ours stays well inside it).
pub const MAX_DOCUMENT_DEPTH: usize = 100;

/// A JSON array of rows, each kept raw (any depth, any values) until [`decode_rows`].
#[derive(Debug, Default)]
pub struct RawRows(pub Vec<Box<RawValue>>);

impl<'de> Deserialize<'de> for RawRows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `null` (an empty aggregate) is an empty batch.
        let rows: Option<Vec<Box<RawValue>>> = Option::deserialize(deserializer)?;
        Ok(RawRows(rows.unwrap_or_default()))
    }
}

/// A row that could not be decoded: its key (if even that could be read) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct RefusedRow<K> {
    /// The row's identifying fields, decoded on their own (`None`: unreadable too).
    pub key: Option<K>,
    /// What is wrong with the row, for its `last_error` and the log.
    pub reason: String,
}

/// Decoded rows (in order) and the rows refused.
#[derive(Debug)]
pub struct Decoded<T, K> {
    /// Rows that decoded.
    pub rows: Vec<T>,
    /// Rows that did not, with their keys.
    pub refused: Vec<RefusedRow<K>>,
}

/// Decodes each row as `T`; a row that fails is refused with its key `K` (a struct of the
/// row's id fields, which SQL always produces readable).
pub fn decode_rows<T: DeserializeOwned, K: DeserializeOwned>(rows: RawRows) -> Decoded<T, K> {
    // The reason can quote a value: capped like every stored error.
    let mut decoded = Decoded {
        rows: Vec::with_capacity(rows.0.len()),
        refused: Vec::new(),
    };
    for raw in rows.0 {
        match decode_row(&raw) {
            Ok(row) => decoded.rows.push(row),
            Err(reason) => decoded.refused.push(RefusedRow {
                key: serde_json::from_str(raw.get()).ok(),
                reason: cap_error(&reason),
            }),
        }
    }
    decoded
}

/// Decodes one row, or says which field is wrong and how.
pub fn decode_row<T: DeserializeOwned>(raw: &RawValue) -> Result<T, String> {
    let text = raw.get();
    // One level for the row object itself.
    check_depth(text, MAX_DOCUMENT_DEPTH + 1).ok_or_else(|| {
        format!("the row holds a JSON document nested deeper than {MAX_DOCUMENT_DEPTH} levels")
    })?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let what = strip_position(&inner.to_string());
        let hint = if what.contains("NaN")
            || what.contains("nfinity")
            || what.contains("invalid characters")
        {
            " (infinite or NaN values cannot be processed)"
        } else {
            ""
        };
        if path == "." || path.is_empty() {
            format!("the row cannot be read: {what}{hint}")
        } else {
            format!("the row's `{path}` cannot be read: {what}{hint}")
        }
    })
}

/// Decodes a JSON document (a patch, a state) of at most [`MAX_DOCUMENT_DEPTH`] levels.
pub fn decode_document<T: DeserializeOwned>(raw: &RawValue) -> Result<T, String> {
    check_depth(raw.get(), MAX_DOCUMENT_DEPTH)
        .ok_or_else(|| format!("nested deeper than {MAX_DOCUMENT_DEPTH} levels"))?;
    serde_json::from_str(raw.get()).map_err(|e| strip_position(&e.to_string()))
}

/// How deeply `json` nests arrays and objects, or `None` past `max` (a scan, no recursion).
pub fn check_depth(json: &str, max: usize) -> Option<usize> {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in json.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return None;
                }
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Some(deepest)
}

/// Depth of a JSON value (arrays and objects), counted without recursion.
pub fn value_depth(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        match value {
            Value::Array(items) => {
                deepest = deepest.max(depth);
                stack.extend(items.iter().map(|v| (v, depth + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(depth);
                stack.extend(map.values().map(|v| (v, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// serde_json's " at line L column C" says nothing to an operator reading `last_error`.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests;
