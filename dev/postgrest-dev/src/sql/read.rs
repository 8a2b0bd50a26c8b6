//! Read statements over a relation or over a function's result rows (reference §9.2):
//! `WITH pgrst_source AS (SELECT … WHERE … ORDER BY … LIMIT …) [, pgrst_source_count …] SELECT …`.

use crate::query::QueryParams;
use crate::sql::{BodyShape, Scope, Sql, limit_offset, outer_select};

/// Everything a read needs besides the source.
pub(crate) struct ReadSpec<'a> {
    pub query: &'a QueryParams,
    pub limit: Option<i64>,
    pub offset: i64,
    pub count: bool,
    pub body: BodyShape,
    /// Replaces the requested select list (scalar functions select `pgrst_scalar`).
    pub select_override: Option<&'a str>,
}

/// Appends the read to `sql`, which may already hold a `WITH pgrst_rows AS (…), ` prefix for
/// function calls. `from` is the FROM item and `scope` resolves the columns.
pub(crate) fn build(sql: &mut Sql, from: &str, scope: Scope, spec: &ReadSpec) {
    if !sql.text.starts_with("WITH ") {
        sql.push("WITH ");
    }
    sql.push("pgrst_source AS (SELECT ");
    match spec.select_override {
        Some(list) => {
            sql.push(list);
        }
        None => scope.select_list(sql, &spec.query.select),
    }
    sql.push(" FROM ").push(from);
    scope.where_clause(sql, &spec.query.filters, &spec.query.trees);
    scope.order_by(sql, &spec.query.order);
    limit_offset(sql, spec.limit, spec.offset);
    sql.push(")");
    let total = if spec.count {
        sql.push(", pgrst_source_count AS (SELECT 1 FROM ")
            .push(from);
        scope.where_clause(sql, &spec.query.filters, &spec.query.trees);
        sql.push(")");
        "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
    } else {
        "NULL"
    };
    outer_select(sql, total, spec.body, false);
    sql.push(" FROM (SELECT * FROM pgrst_source) _postgrest_t");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Mode, decode_query};

    #[test]
    fn shapes_a_counted_page() {
        let q = QueryParams::parse(
            &decode_query("select=id&id=gt.1&order=id.desc"),
            Mode::Filters,
        )
        .unwrap();
        let spec = ReadSpec {
            query: &q,
            limit: Some(2),
            offset: 1,
            count: true,
            body: BodyShape::Array,
            select_override: None,
        };
        let mut sql = Sql::default();
        build(
            &mut sql,
            "\"public\".\"t\"",
            Scope {
                qualifier: "\"public\".\"t\"",
                columns: &[],
            },
            &spec,
        );
        assert!(sql.text.starts_with(
            "WITH pgrst_source AS (SELECT \"public\".\"t\".\"id\" AS \"id\" FROM \"public\".\"t\" WHERE \"public\".\"t\".\"id\" > $1 ORDER BY \"public\".\"t\".\"id\" DESC LIMIT 2 OFFSET 1), pgrst_source_count AS (SELECT 1 FROM \"public\".\"t\" WHERE \"public\".\"t\".\"id\" > $2)"
        ), "{}", sql.text);
        assert_eq!(sql.params, vec!["1", "1"]);
    }
}
