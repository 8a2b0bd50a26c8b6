//! SQL generation. Identifiers are always double-quoted; every user-supplied value becomes a
//! bind parameter sent as an untyped (`unknown`) text literal, so PostgreSQL coerces it to the
//! column type exactly like PostgREST's parameters (reference §3.3, §9.2). Nothing a client sends
//! is ever spliced into the SQL text.

pub(crate) mod mutate;
pub(crate) mod read;
pub(crate) mod rpc;

use crate::query::{
    Arrow, Field, Filter, IsValue, JsonKey, Logic, Operation, OrderTerm, Quant, SelectItem,
};
use crate::schema::Column;

/// A statement under construction and its parameters (all sent as text of type `unknown`).
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<String>,
}

impl Sql {
    pub fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    pub fn ident(&mut self, name: &str) -> &mut Sql {
        self.text.push_str(&ident(name));
        self
    }

    /// Appends `$n` bound to `value`.
    pub fn param(&mut self, value: impl Into<String>) -> &mut Sql {
        self.params.push(value.into());
        let n = self.params.len();
        self.text.push('$');
        self.text.push_str(&n.to_string());
        self
    }
}

/// `"name"` with embedded quotes doubled.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `SELECT "schema"."fn"()` (or `"fn"()`, found through the request's search_path) for
/// `db-pre-request`; the name is quoted part by part, never spliced raw.
pub(crate) fn pre_request_call(name: &str) -> String {
    let quoted: Vec<String> = name.split('.').map(|p| ident(p.trim())).collect();
    format!("SELECT {}()", quoted.join("."))
}

/// `"schema"."name"`
pub(crate) fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// What column references are resolved against: a qualifier (`"s"."t"`, `pgrst_call`, …) and,
/// when known, the columns (to decide how JSON arrows apply).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub qualifier: &'a str,
    pub columns: &'a [Column],
}

impl Scope<'_> {
    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A column reference with its JSON path; non-json columns go through `to_jsonb` first.
    pub fn field(&self, sql: &mut Sql, field: &Field) {
        let col = format!("{}.{}", self.qualifier, ident(&field.name));
        if field.path.is_empty() {
            sql.push(&col);
            return;
        }
        let direct = self.column(&field.name).is_none_or(|c| c.json);
        if direct {
            sql.push(&col);
        } else {
            sql.push("to_jsonb(").push(&col).push(")");
        }
        for op in &field.path {
            sql.push(match op.arrow {
                Arrow::Json => "->",
                Arrow::Text => "->>",
            });
            match &op.key {
                JsonKey::Key(k) => {
                    sql.param(k.clone()).push("::text");
                }
                JsonKey::Index(i) => {
                    sql.push(&format!("({i})"));
                }
            }
        }
    }

    /// The select list (`*` expands to `qualifier.*`).
    pub fn select_list(&self, sql: &mut Sql, items: &[SelectItem]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            match item {
                SelectItem::Star => {
                    sql.push(self.qualifier).push(".*");
                }
                SelectItem::Field { field, alias, cast } => {
                    if let Some(cast) = cast {
                        sql.push("CAST(");
                        self.field(sql, field);
                        sql.push(" AS ").push(cast).push(")");
                    } else {
                        self.field(sql, field);
                    }
                    let name = alias.as_deref().unwrap_or_else(|| field.output_name());
                    sql.push(" AS ").ident(name);
                }
            }
        }
    }

    /// ` WHERE …` for root filters and logic trees (nothing when there are none).
    pub fn where_clause(&self, sql: &mut Sql, filters: &[Filter], trees: &[Logic]) {
        if filters.is_empty() && trees.is_empty() {
            return;
        }
        sql.push(" WHERE ");
        let mut first = true;
        for f in filters {
            if !first {
                sql.push(" AND ");
            }
            first = false;
            self.filter(sql, f);
        }
        for t in trees {
            if !first {
                sql.push(" AND ");
            }
            first = false;
            self.logic(sql, t);
        }
    }

    fn logic(&self, sql: &mut Sql, node: &Logic) {
        match node {
            Logic::Filter(f) => self.filter(sql, f),
            Logic::Tree {
                negated,
                or,
                children,
            } => {
                if *negated {
                    sql.push("NOT ");
                }
                sql.push("(");
                for (i, child) in children.iter().enumerate() {
                    if i > 0 {
                        sql.push(if *or { " OR " } else { " AND " });
                    }
                    self.logic(sql, child);
                }
                sql.push(")");
            }
        }
    }

    fn filter(&self, sql: &mut Sql, f: &Filter) {
        if f.negated {
            sql.push("NOT (");
        }
        match &f.operation {
            Operation::Simple { op, quant, value } => {
                let value = if matches!(
                    op,
                    crate::query::SimpleOp::Like | crate::query::SimpleOp::Ilike
                ) {
                    value.replace('*', "%")
                } else {
                    value.clone()
                };
                self.field(sql, &f.field);
                sql.push(" ").push(op.sql()).push(" ");
                match quant {
                    Some(q) => {
                        sql.push(if *q == Quant::Any { "ANY(" } else { "ALL(" })
                            .param(value)
                            .push(")");
                    }
                    None => {
                        sql.param(value);
                    }
                }
            }
            Operation::In(items) => {
                self.field(sql, &f.field);
                sql.push(" = ANY(").param(array_literal(items)).push(")");
            }
            Operation::Is(v) => {
                self.field(sql, &f.field);
                sql.push(match v {
                    IsValue::Null => " IS NULL",
                    IsValue::NotNull => " IS NOT NULL",
                    IsValue::True => " IS TRUE",
                    IsValue::False => " IS FALSE",
                    IsValue::Unknown => " IS UNKNOWN",
                });
            }
            Operation::Fts { kind, lang, value } => {
                let tsvector = f.field.path.is_empty()
                    && self
                        .column(&f.field.name)
                        .is_none_or(|c| c.type_name == "tsvector");
                if tsvector {
                    self.field(sql, &f.field);
                } else {
                    sql.push("to_tsvector(");
                    if let Some(l) = lang {
                        sql.param(l.clone()).push("::regconfig, ");
                    }
                    self.field(sql, &f.field);
                    sql.push(")");
                }
                sql.push(" @@ ").push(kind.function()).push("(");
                if let Some(l) = lang {
                    sql.param(l.clone()).push("::regconfig, ");
                }
                sql.param(value.clone()).push(")");
            }
        }
        if f.negated {
            sql.push(")");
        }
    }

    /// ` ORDER BY …` (nothing when there are no terms).
    pub fn order_by(&self, sql: &mut Sql, terms: &[OrderTerm]) {
        for (i, t) in terms.iter().enumerate() {
            sql.push(if i == 0 { " ORDER BY " } else { ", " });
            self.field(sql, &t.field);
            match t.desc {
                Some(true) => {
                    sql.push(" DESC");
                }
                Some(false) => {
                    sql.push(" ASC");
                }
                None => {}
            }
            match t.nulls_first {
                Some(true) => {
                    sql.push(" NULLS FIRST");
                }
                Some(false) => {
                    sql.push(" NULLS LAST");
                }
                None => {}
            }
        }
    }
}

/// A PostgreSQL array literal with every element double-quoted and escaped.
pub(crate) fn array_literal(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|i| format!("\"{}\"", i.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// ` LIMIT n OFFSET m` (nothing when neither applies).
pub(crate) fn limit_offset(sql: &mut Sql, limit: Option<i64>, offset: i64) {
    if let Some(l) = limit {
        sql.push(&format!(" LIMIT {l}"));
    }
    if offset > 0 {
        sql.push(&format!(" OFFSET {offset}"));
    }
}

/// How the result rows become the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyShape {
    /// No body (HEAD, `return=minimal`, void functions).
    Nothing,
    /// A JSON array of row objects.
    Array,
    /// The single row object (`application/vnd.pgrst.object+json`).
    Object { strip_nulls: bool },
    /// The first value of the `pgrst_scalar` column (scalar function, or singular Accept).
    Scalar,
    /// An array of `pgrst_scalar` values (SETOF scalar).
    ScalarArray,
    /// `text/csv`.
    Csv,
}

/// The final `SELECT` over `_postgrest_t`: total count, page count, body, response GUCs and the
/// upsert insert counter, always with builtin types so the driver needs no type lookups.
pub(crate) fn outer_select(sql: &mut Sql, total: &str, body: BodyShape, inserted: bool) {
    let body = match body {
        BodyShape::Nothing => "NULL::text",
        BodyShape::Array => "coalesce(json_agg(_postgrest_t), '[]')::text",
        BodyShape::Object { strip_nulls: false } => {
            "coalesce((json_agg(_postgrest_t)->0), 'null')::text"
        }
        BodyShape::Object { strip_nulls: true } => {
            "coalesce(json_strip_nulls(json_agg(_postgrest_t)->0), 'null')::text"
        }
        BodyShape::Scalar => "coalesce((json_agg(_postgrest_t.pgrst_scalar)->0), 'null')::text",
        BodyShape::ScalarArray => "coalesce(json_agg(_postgrest_t.pgrst_scalar), '[]')::text",
        // PostgREST's asCsvF: the first row's keys as the header, each row's record text
        // without its parentheses.
        BodyShape::Csv => {
            "coalesce((SELECT string_agg(k, ',') FROM json_object_keys(json_agg(_postgrest_t)->0) AS k), '') \
             || E'\\n' || coalesce(string_agg(substring(_postgrest_t::text, 2, length(_postgrest_t::text) - 2), E'\\n'), '')"
        }
    };
    let inserted = if inserted {
        "nullif(current_setting('pgrst.inserted', true), '')::int8"
    } else {
        "NULL::int8"
    };
    sql.push(&format!(
        " SELECT {total}::int8 AS total, pg_catalog.count(_postgrest_t)::int8 AS page_total, {body} AS body, \
         nullif(current_setting('response.headers', true), '') AS response_headers, \
         nullif(current_setting('response.status', true), '') AS response_status, \
         {inserted} AS inserted"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Mode, QueryParams, decode_query};

    #[test]
    fn values_never_reach_the_sql_text() {
        let q = QueryParams::parse(
            &decode_query("name=eq.x'; drop table t;--&or=(id.in.(1,\"2,3\"),data->>k.like.a*)"),
            Mode::Filters,
        )
        .unwrap();
        let mut sql = Sql::default();
        Scope {
            qualifier: "\"public\".\"t\"",
            columns: &[],
        }
        .where_clause(&mut sql, &q.filters, &q.trees);
        assert_eq!(
            sql.text,
            " WHERE \"public\".\"t\".\"name\" = $1 AND (\"public\".\"t\".\"id\" = ANY($2) OR \
             \"public\".\"t\".\"data\"->>$3::text LIKE $4)"
        );
        assert_eq!(
            sql.params,
            vec!["x'; drop table t;--", "{\"1\",\"2,3\"}", "k", "a%"]
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
    }
}
