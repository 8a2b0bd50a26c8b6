//! Unit tests of row-by-row decoding.

use serde::Deserialize;
use serde_json::{Value, json};

use super::*;

#[derive(Debug, Deserialize, PartialEq)]
struct Row {
    id: i64,
    at: chrono::DateTime<chrono::Utc>,
    x: f64,
    doc: Value,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Key {
    id: i64,
}

fn nested(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
}

fn rows(json: &str) -> RawRows {
    serde_json::from_str(json).unwrap()
}

#[test]
fn one_bad_row_is_refused_with_its_key_and_the_others_decode() {
    let batch = format!(
        r#"[{{"id":1,"at":"2026-01-01T00:00:00Z","x":1.5,"doc":{{}}}},
            {{"id":2,"at":"infinity","x":1,"doc":{{}}}},
            {{"id":3,"at":"2026-01-01T00:00:00Z","x":"NaN","doc":{{}}}},
            {{"id":4,"at":"2026-01-01T00:00:00Z","x":1,"doc":{}}},
            {{"id":5,"at":"2026-01-01T00:00:00Z","x":2,"doc":[1]}}]"#,
        nested(130)
    );
    let decoded = decode_rows::<Row, Key>(rows(&batch));
    assert_eq!(
        decoded.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        [1, 5]
    );
    let refused: Vec<_> = decoded
        .refused
        .iter()
        .map(|r| (r.key.as_ref().map(|k| k.id), r.reason.as_str()))
        .collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert_eq!(refused[0].0, Some(2));
    assert!(refused[0].1.contains("`at`"), "{}", refused[0].1);
    assert!(refused[0].1.contains("infinite or NaN"), "{}", refused[0].1);
    assert_eq!(refused[1].0, Some(3));
    assert!(
        refused[1].1.contains("`x`") && refused[1].1.contains("NaN"),
        "{}",
        refused[1].1
    );
    assert_eq!(refused[2].0, Some(4));
    assert!(
        refused[2].1.contains("deeper than 100 levels"),
        "{}",
        refused[2].1
    );
}

#[test]
fn a_batch_of_any_depth_is_read_raw() {
    let batch = format!(r#"[{{"id":1,"doc":{}}}]"#, nested(5000));
    assert_eq!(rows(&batch).0.len(), 1);
    assert_eq!(rows("null").0.len(), 0);
}

#[test]
fn depth_is_counted_outside_strings_only() {
    assert_eq!(check_depth(r#"{"a":"[[[[\"{{"}"#, 10), Some(1));
    assert_eq!(check_depth(&nested(100), 100), Some(100));
    assert_eq!(check_depth(&nested(101), 100), None);
    assert_eq!(value_depth(&json!({"a": [{"b": 1}]})), 3);
    assert_eq!(value_depth(&json!(1)), 0);
}

#[test]
fn documents_are_decoded_within_the_depth_limit() {
    let ok: Value = decode_document(&RawValue::from_string(nested(100)).unwrap()).unwrap();
    assert_eq!(value_depth(&ok), 100);
    let deep = decode_document::<Value>(&RawValue::from_string(nested(101)).unwrap());
    assert_eq!(deep.unwrap_err(), "nested deeper than 100 levels");
}
