//! The catalog of a database's `public` schema, for comparing a database built from
//! `supabase/migrations` with one built from `supabase/schemas` (the one-home rule of
//! docs/development.md "Changing the schema").
//!
//! [`catalog`] reads every relation (kind, RLS flags), column (type, NOT NULL, default,
//! identity), constraint, index, trigger, view (definition), policy, function (arguments,
//! result, language, volatility, strictness, security definer, settings, body) and grant
//! (per grantee) as `key -> definition`; [`drift`] names each object that differs. Column
//! order, comments and owners are left out: a column added by a later migration comes last,
//! wherever the schema file writes it.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::sql::describe;

const CATALOG_SQL: &str = include_str!("catalog.sql");

/// `key -> definition` of every object of the `public` schema, e.g.
/// `"function claim_patch_batch(text,integer,integer,timestamp with time zone)" -> "args … body …"`.
pub async fn catalog(client: &Client) -> BTreeMap<String, String> {
    let rows = client
        .query(CATALOG_SQL, &[])
        .await
        .unwrap_or_else(|e| panic!("testkit: read the catalog: {}", describe(&e)));
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// One line per object that differs between `expected` (e.g. the schemas) and `actual` (the
/// migrations): only in one of them, or defined differently (both definitions shown).
pub fn drift(
    expected_name: &str,
    expected: &BTreeMap<String, String>,
    actual_name: &str,
    actual: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (key, def) in expected {
        match actual.get(key) {
            None => lines.push(format!(
                "{key}: in {expected_name}, missing from {actual_name}"
            )),
            Some(other) if other != def => lines.push(format!(
                "{key}: differs\n    {expected_name}: {def}\n    {actual_name}: {other}"
            )),
            Some(_) => {}
        }
    }
    for key in actual.keys().filter(|k| !expected.contains_key(*k)) {
        lines.push(format!(
            "{key}: in {actual_name}, missing from {expected_name}"
        ));
    }
    lines
}
