//! Issue #22: a property test of every job's work-row decoder. Batches of rows whose fields
//! are replaced, at random, by any JSON value (deeply nested documents, strings such as
//! `infinity`, `-infinity`, `NaN`, `Infinity`, huge or negative numbers, wrong types): the
//! decoder never panics and never fails the batch; every row is either decoded or refused with
//! its key and a reason; and every intact row decodes, whatever its neighbours hold.
//! (The outcome job has no Rust decoder: record_outcomes refuses non-finite times in SQL,
//! tested in `poison_rows`.)

use proptest::prelude::*;
use serde_json::{Value, json};
use supacron::jobs::memory::prompt::Candidate;
use supacron::jobs::patch::store::Claimed;
use supacron::jobs::rows::{RawRows, decode_rows};
use supacron::jobs::schedule::prompt::OpenTick;
use supacron::jobs::schedule::slots::decode_due;
use supacron::jobs::training::rewards::decode_batch;

/// Any JSON value: scalars, the non-finite spellings PostgreSQL sends, and nested documents.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            "infinity",
            "-infinity",
            "NaN",
            "Infinity",
            "-Infinity",
            "",
            "2026-13-45"
        ])
        .prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    let nested = leaf.clone().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::hash_map("[a-z]{1,3}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop_oneof![
        4 => nested,
        1 => (90usize..200).prop_map(deep),
    ]
}

/// A document nested `levels` deep.
fn deep(levels: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..levels {
        value = json!({ "a": value });
    }
    value
}

/// A timestamp field: valid, infinite, or anything.
fn any_time() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(json!("2026-11-22T12:00:00+00:00")),
        1 => Just(json!("infinity")),
        1 => Just(json!("-infinity")),
        1 => any_json(),
    ]
}

/// A row from `good`, with each of `fields` replaced (or not) by what `bad` generates.
fn rows_with_poison(
    good: Value,
    fields: &'static [&'static str],
) -> impl Strategy<Value = Vec<(Value, bool)>> {
    let row = prop::collection::vec(
        prop::option::weighted(0.3, prop_oneof![any_json(), any_time()]),
        fields.len(),
    )
    .prop_map(move |replacements| {
        let mut row = good.clone();
        let mut intact = true;
        for (field, replacement) in fields.iter().zip(replacements) {
            if let Some(value) = replacement {
                row[*field] = value;
                intact = false;
            }
        }
        (row, intact)
    });
    prop::collection::vec(row, 1..12)
}

/// Gives each row a distinct id in `id_field` (ids are what SQL always sends readable).
fn number(rows: &mut [(Value, bool)], id_field: &str, id: impl Fn(usize) -> Value) {
    for (i, (row, _)) in rows.iter_mut().enumerate() {
        row[id_field] = id(i);
    }
}

fn uuid(i: usize) -> Value {
    json!(format!("00000000-0000-4000-8000-{:012}", i))
}

fn raw(rows: &[(Value, bool)]) -> RawRows {
    serde_json::from_value::<Value>(Value::Array(rows.iter().map(|(r, _)| r.clone()).collect()))
        .map(|v| serde_json::from_str(&v.to_string()).unwrap())
        .unwrap()
}

fn intact(rows: &[(Value, bool)]) -> usize {
    rows.iter().filter(|(_, ok)| *ok).count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn patch_claims(mut rows in rows_with_poison(
        json!({"conversation_id": uuid(0), "character_id": null, "patch": {"conversation": {"a": 1}},
               "attempts": 1, "max_attempts": 25}),
        &["patch", "character_id", "attempts"],
    ), state in any_json()) {
        number(&mut rows, "id", |i| json!(i));
        let body = json!({
            "jobs": rows.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>(),
            "conversation_states": [{"id": uuid(0), "state": state, "run_state": {}, "version": 1},
                                    {"id": uuid(1), "state": {}, "run_state": {}, "version": 1}],
            "character_states": [],
        });
        let claimed: Claimed = serde_json::from_str(&body.to_string()).expect("a claim always decodes");
        prop_assert_eq!(claimed.jobs.len(), rows.len(), "every job is kept: decoded or dead");
        let readable = claimed.jobs.iter().filter(|j| j.unreadable.is_none()).count();
        prop_assert!(readable >= intact(&rows));
        prop_assert_eq!(claimed.states.conversation_states.len() + claimed.states.unreadable.len(), 2);
        prop_assert!(claimed.states.conversation_states.iter().any(|s| s.id.to_string().ends_with("000000000001")));
    }

    #[test]
    fn reward_rows(mut rows in rows_with_poison(
        json!({"action": "do_now", "confidence": 0.5, "decided_at": "2026-11-22T12:00:00+00:00",
               "terminal_status": "DONE", "reached_at": "2026-11-22T13:00:00+00:00", "resolution_seconds": 3600.0}),
        &["action", "confidence", "decided_at", "terminal_status", "resolution_seconds"],
    )) {
        number(&mut rows, "id", uuid);
        let batch = decode_batch(raw(&rows));
        prop_assert_eq!(batch.rows.len() + batch.refused.len(), rows.len());
        prop_assert!(batch.rows.len() >= intact(&rows));
        for refused in &batch.refused {
            prop_assert!(refused["id"].is_string() && refused["error"].is_string());
        }
    }

    #[test]
    fn due_schedules(mut rows in rows_with_poison(
        json!({"cron_expr": "0 * * * *", "timezone": "UTC", "catch_up": "latest",
               "catch_up_window_secs": 86400, "next_run_at": "2026-11-22T12:00:00+00:00"}),
        &["cron_expr", "timezone", "catch_up", "catch_up_window_secs", "next_run_at"],
    )) {
        number(&mut rows, "id", uuid);
        let (due, refused) = decode_due(raw(&rows));
        prop_assert_eq!(due.len() + refused.len(), rows.len());
        prop_assert!(due.len() >= intact(&rows));
        let now = chrono::Utc::now();
        for row in &due {
            // Planning any decoded row never panics either.
            let _ = supacron::jobs::schedule::slots::plan(row, now);
        }
    }

    #[test]
    fn open_ticks(mut rows in rows_with_poison(
        json!({"slot": "2026-11-22T12:00:00+00:00", "attempts": 0, "schedule_id": uuid(0), "kind": "post",
               "prompt": "hi", "timezone": "UTC", "character_id": uuid(0), "character_name": "A",
               "persona": "p", "memories": ["m"]}),
        &["slot", "attempts", "kind", "prompt", "persona", "memories"],
    )) {
        number(&mut rows, "tick_id", |i| json!(i));
        #[derive(serde::Deserialize)]
        struct Key { #[allow(dead_code)] tick_id: i64 }
        let decoded = decode_rows::<OpenTick, Key>(raw(&rows));
        prop_assert_eq!(decoded.rows.len() + decoded.refused.len(), rows.len());
        prop_assert!(decoded.rows.len() >= intact(&rows));
        prop_assert!(decoded.refused.iter().all(|r| r.key.is_some()));
        for tick in &decoded.rows {
            let _ = supacron::jobs::schedule::prompt::messages(tick);
        }
    }

    #[test]
    fn memory_candidates(mut rows in rows_with_poison(
        json!({"character_id": uuid(0), "character_name": "A", "persona": "p", "memory_cursor": 0,
               "new_count": 12, "previous_summary": null, "messages": [{"id": 1, "role": "user", "content": "hi"}]}),
        &["persona", "memory_cursor", "previous_summary", "messages"],
    )) {
        number(&mut rows, "conversation_id", uuid);
        #[derive(serde::Deserialize)]
        struct Key { #[allow(dead_code)] conversation_id: uuid::Uuid }
        let decoded = decode_rows::<Candidate, Key>(raw(&rows));
        prop_assert_eq!(decoded.rows.len() + decoded.refused.len(), rows.len());
        prop_assert!(decoded.rows.len() >= intact(&rows));
        prop_assert!(decoded.refused.iter().all(|r| r.key.is_some()));
    }
}
