//! Function calls (reference §6.7). The call runs once in a `pgrst_rows` CTE whose rows are then
//! read like a relation (select, filters, order, limit, count) by [`crate::sql::read`].

use crate::schema::{Function, Returns};
use crate::sql::{Sql, ident, qualified};

/// How the arguments reach the function.
#[derive(Debug, Clone)]
pub(crate) enum Args {
    /// A JSON object whose keys name the parameters: expanded with `json_to_record`.
    Json { object: String, names: Vec<String> },
    /// Text values (GET query string), each cast to its parameter type; a variadic parameter
    /// receives an array literal.
    Text(Vec<(String, String)>),
    /// The whole body for the single unnamed json/jsonb parameter.
    Raw(String),
}

/// Appends `WITH pgrst_rows AS (SELECT … FROM <call>), ` to `sql`.
pub(crate) fn call_cte(sql: &mut Sql, f: &Function, args: &Args) {
    let scalar = !matches!(f.returns, Returns::Composite { .. });
    let fname = qualified(&f.schema, &f.name);
    sql.push("WITH pgrst_rows AS (SELECT ");
    sql.push(if scalar {
        "pgrst_call.pgrst_scalar"
    } else {
        "pgrst_call.*"
    });
    sql.push(" FROM ");
    let param = |name: &str| f.params.iter().find(|p| p.name == name);
    match args {
        Args::Json { object, names } if !names.is_empty() => {
            sql.push("(SELECT ")
                .param(object.clone())
                .push("::json AS json_data) pgrst_payload, LATERAL (SELECT ");
            let cols: Vec<String> = names.iter().map(|n| ident(n)).collect();
            sql.push(&cols.join(", "))
                .push(" FROM json_to_record(pgrst_payload.json_data) AS _(");
            let defs: Vec<String> = names
                .iter()
                .filter_map(|n| param(n).map(|p| format!("{} {}", ident(n), p.type_name)))
                .collect();
            sql.push(&defs.join(", "))
                .push(") LIMIT 1) pgrst_body, LATERAL ")
                .push(&fname)
                .push("(");
            let passed: Vec<String> = names
                .iter()
                .map(|n| {
                    let variadic = if param(n).is_some_and(|p| p.variadic) {
                        "VARIADIC "
                    } else {
                        ""
                    };
                    format!("{variadic}{0} := pgrst_body.{0}", ident(n))
                })
                .collect();
            sql.push(&passed.join(", ")).push(")");
        }
        Args::Json { .. } => {
            sql.push(&fname).push("()");
        }
        Args::Text(values) => {
            sql.push(&fname).push("(");
            for (i, (name, value)) in values.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                let p = param(name).expect("arguments were matched against the parameters");
                if p.variadic {
                    sql.push("VARIADIC ");
                }
                sql.ident(name)
                    .push(" := ")
                    .param(value.clone())
                    .push("::")
                    .push(&p.type_name);
            }
            sql.push(")");
        }
        Args::Raw(body) => {
            let ty = f.raw_body_type().unwrap_or("json");
            sql.push(&fname)
                .push("(")
                .param(body.clone())
                .push("::")
                .push(ty)
                .push(")");
        }
    }
    sql.push(" pgrst_call");
    if scalar {
        sql.push("(pgrst_scalar)");
    }
    sql.push("), ");
}
