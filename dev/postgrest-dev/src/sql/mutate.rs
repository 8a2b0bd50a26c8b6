//! INSERT (with upsert), UPDATE and DELETE statements (reference §5, §9.2). The JSON payload is
//! one parameter expanded by `json_populate_recordset(NULL::<relation>, …)`, so PostgreSQL's own
//! input functions convert every value to its column type.

use crate::prefer::Resolution;
use crate::query::{OrderTerm, SelectItem};
use crate::schema::Relation;
use crate::sql::{BodyShape, Scope, Sql, ident, outer_select, qualified};

/// What the mutation hands back.
#[derive(Debug, Clone)]
pub(crate) enum Returning<'a> {
    /// Only a row count (`return=minimal`, default).
    Count,
    /// Primary-key values as text, for the `Location` header (`return=headers-only`).
    PrimaryKey,
    /// The rows shaped by `select` and ordered by `order`.
    Rows {
        select: &'a [SelectItem],
        order: &'a [OrderTerm],
    },
}

/// Options shared by every mutation.
pub(crate) struct MutationSpec<'a> {
    pub rel: &'a Relation,
    pub returning: Returning<'a>,
    pub body: BodyShape,
    pub count: bool,
}

const INC: &str = "set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) + 1)::text, true) IS NOT NULL";
const DEC: &str = "set_config('pgrst.inserted', (coalesce(nullif(current_setting('pgrst.inserted', true), '')::int, 0) - 1)::text, true) IS NOT NULL";

/// Rows of the payload (a JSON array) typed as the relation's row type; with `defaults`, absent
/// keys of the listed columns get their column default.
fn payload_rows(sql: &mut Sql, rel: &Relation, payload: String, defaults: &[&str]) {
    let rowtype = qualified(&rel.schema, &rel.name);
    let with_defaults: Vec<(&str, &str)> = defaults
        .iter()
        .filter_map(|c| {
            rel.column(c)
                .and_then(|col| col.default.as_deref().map(|d| (*c, d)))
        })
        .collect();
    if with_defaults.is_empty() {
        sql.push("json_populate_recordset(NULL::")
            .push(&rowtype)
            .push(", ")
            .param(payload)
            .push("::json)");
        return;
    }
    sql.push("(SELECT pgrst_r.* FROM json_array_elements(")
        .param(payload)
        .push("::json) pgrst_e, LATERAL jsonb_populate_record(NULL::");
    sql.push(&rowtype).push(", jsonb_build_object(");
    for (i, (col, default)) in with_defaults.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.param(col.to_string())
            .push("::text, (")
            .push(default)
            .push(")");
    }
    sql.push(") || pgrst_e::jsonb) pgrst_r)");
}

fn column_list(cols: &[String]) -> String {
    cols.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
}

/// `INSERT INTO rel(cols) SELECT cols FROM payload [ON CONFLICT …] RETURNING …`
pub(crate) fn insert(
    sql: &mut Sql,
    spec: &MutationSpec,
    cols: &[String],
    payload: String,
    missing_default: bool,
    upsert: Option<(Resolution, &[String])>,
) {
    let target = qualified(&spec.rel.schema, &spec.rel.name);
    let list = column_list(cols);
    let count_inserts = matches!(upsert, Some((Resolution::MergeDuplicates, _)));
    sql.push("WITH pgrst_source AS (INSERT INTO ").push(&target);
    if !cols.is_empty() {
        sql.push("(").push(&list).push(")");
    }
    sql.push(" SELECT ");
    sql.push(&list).push(" FROM ");
    let defaults: Vec<&str> = if missing_default {
        cols.iter().map(String::as_str).collect()
    } else {
        vec![]
    };
    payload_rows(sql, spec.rel, payload, &defaults);
    sql.push(" pgrst_body WHERE ")
        .push(if count_inserts { INC } else { "true" });
    if let Some((resolution, conflict)) = upsert {
        sql.push(" ON CONFLICT(")
            .push(&column_list(conflict))
            .push(") ");
        if resolution == Resolution::IgnoreDuplicates || cols.is_empty() {
            sql.push("DO NOTHING");
        } else {
            sql.push("DO UPDATE SET ");
            let sets: Vec<String> = cols
                .iter()
                .map(|c| format!("{0} = EXCLUDED.{0}", ident(c)))
                .collect();
            sql.push(&sets.join(", ")).push(" WHERE ").push(DEC);
        }
    }
    returning_and_outer(sql, spec, &target, count_inserts);
}

/// `UPDATE rel SET c = pgrst_body.c … FROM (payload) pgrst_body WHERE … RETURNING …`
pub(crate) fn update(
    sql: &mut Sql,
    spec: &MutationSpec,
    cols: &[String],
    payload: String,
    missing_default: bool,
    filters: impl FnOnce(&mut Sql, Scope),
) {
    let target = qualified(&spec.rel.schema, &spec.rel.name);
    sql.push("WITH pgrst_source AS (UPDATE ")
        .push(&target)
        .push(" SET ");
    let sets: Vec<String> = cols
        .iter()
        .map(|c| format!("{0} = pgrst_body.{0}", ident(c)))
        .collect();
    sql.push(&sets.join(", "))
        .push(" FROM (SELECT ")
        .push(&column_list(cols))
        .push(" FROM ");
    let defaults: Vec<&str> = if missing_default {
        cols.iter().map(String::as_str).collect()
    } else {
        vec![]
    };
    payload_rows(sql, spec.rel, payload, &defaults);
    sql.push(" pgrst_p LIMIT 1) pgrst_body");
    filters(
        sql,
        Scope {
            qualifier: &target,
            columns: &spec.rel.columns,
        },
    );
    returning_and_outer(sql, spec, &target, false);
}

/// `DELETE FROM rel WHERE … RETURNING …`
pub(crate) fn delete(sql: &mut Sql, spec: &MutationSpec, filters: impl FnOnce(&mut Sql, Scope)) {
    let target = qualified(&spec.rel.schema, &spec.rel.name);
    sql.push("WITH pgrst_source AS (DELETE FROM ").push(&target);
    filters(
        sql,
        Scope {
            qualifier: &target,
            columns: &spec.rel.columns,
        },
    );
    returning_and_outer(sql, spec, &target, false);
}

/// ` RETURNING <needed columns>)` and the outer select reading `pgrst_source`.
fn returning_and_outer(sql: &mut Sql, spec: &MutationSpec, target: &str, inserted: bool) {
    let rel = spec.rel;
    sql.push(" RETURNING ");
    match &spec.returning {
        Returning::Count => {
            sql.push("1");
        }
        Returning::PrimaryKey if rel.pk.is_empty() => {
            sql.push("1");
        }
        Returning::PrimaryKey => {
            let cols: Vec<String> = rel
                .pk
                .iter()
                .map(|k| format!("{target}.{}", ident(k)))
                .collect();
            sql.push(&cols.join(", "));
        }
        Returning::Rows { select, order } => {
            let star = select.iter().any(|s| matches!(s, SelectItem::Star));
            let mut needed: Vec<&str> = Vec::new();
            for item in select.iter() {
                if let SelectItem::Field { field, .. } = item {
                    needed.push(&field.name);
                }
            }
            needed.extend(order.iter().map(|o| o.field.name.as_str()));
            needed.dedup();
            if star || needed.is_empty() {
                sql.push(target).push(".*");
            } else {
                let mut seen = Vec::new();
                for n in needed {
                    if !seen.contains(&n) {
                        seen.push(n);
                    }
                }
                let cols: Vec<String> = seen
                    .iter()
                    .map(|n| format!("{target}.{}", ident(n)))
                    .collect();
                sql.push(&cols.join(", "));
            }
        }
    }
    sql.push(")");
    let total = if spec.count {
        "(SELECT pg_catalog.count(*) FROM pgrst_source)"
    } else {
        "NULL"
    };
    outer_select(sql, total, spec.body, inserted);
    sql.push(" FROM (SELECT ");
    let scope = Scope {
        qualifier: "pgrst_source",
        columns: &rel.columns,
    };
    match &spec.returning {
        Returning::Count => {
            sql.push("1 AS pgrst_one FROM pgrst_source");
        }
        Returning::PrimaryKey if rel.pk.is_empty() => {
            sql.push("1 AS pgrst_one FROM pgrst_source");
        }
        Returning::PrimaryKey => {
            let cols: Vec<String> = rel
                .pk
                .iter()
                .map(|k| format!("pgrst_source.{0}::text AS {0}", ident(k)))
                .collect();
            sql.push(&cols.join(", ")).push(" FROM pgrst_source");
        }
        Returning::Rows { select, order } => {
            scope.select_list(sql, select);
            sql.push(" FROM pgrst_source");
            scope.order_by(sql, order);
        }
    }
    sql.push(") _postgrest_t");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Column;

    fn rel() -> Relation {
        let col = |n: &str| Column {
            name: n.into(),
            type_name: "integer".into(),
            json: false,
            default: None,
            doc: Default::default(),
        };
        Relation {
            oid: 0,
            writable: true,
            schema: "public".into(),
            name: "t".into(),
            columns: vec![col("id"), col("n")],
            pk: vec!["id".into()],
        }
    }

    #[test]
    fn headers_only_insert_returns_the_key() {
        let rel = rel();
        let spec = MutationSpec {
            rel: &rel,
            returning: Returning::PrimaryKey,
            body: BodyShape::Array,
            count: false,
        };
        let mut sql = Sql::default();
        insert(
            &mut sql,
            &spec,
            &["n".to_string()],
            "[{\"n\":1}]".into(),
            false,
            None,
        );
        assert!(
            sql.text.contains("RETURNING \"public\".\"t\".\"id\")"),
            "{}",
            sql.text
        );
        assert!(sql.text.ends_with(
            "FROM (SELECT pgrst_source.\"id\"::text AS \"id\" FROM pgrst_source) _postgrest_t"
        ));
    }

    #[test]
    fn empty_objects_insert_defaults() {
        let rel = rel();
        let spec = MutationSpec {
            rel: &rel,
            returning: Returning::Count,
            body: BodyShape::Nothing,
            count: false,
        };
        let mut sql = Sql::default();
        insert(&mut sql, &spec, &[], "[{},{}]".into(), false, None);
        assert!(
            sql.text
                .starts_with("WITH pgrst_source AS (INSERT INTO \"public\".\"t\" SELECT  FROM"),
            "{}",
            sql.text
        );
    }
}
