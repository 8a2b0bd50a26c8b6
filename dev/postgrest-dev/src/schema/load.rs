//! Introspection of `pg_catalog` into a [`SchemaCache`]. Runs with an empty `search_path` so
//! `format_type` and default expressions come out schema-qualified for user types.

use deadpool_postgres::Pool;
use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Error;
use crate::schema::{Column, ColumnDoc, Function, Param, Relation, Returns, SchemaCache};

const COLUMNS_SQL: &str = r#"
SELECT n.nspname::text, c.relname::text, c.relkind::text, a.attname::text,
       format_type(a.atttypid, a.atttypmod),
       coalesce(bt.typname, t.typname)::text,
       CASE
         WHEN a.attidentity <> '' THEN
              (SELECT format('nextval(%L::regclass)', s.oid::regclass::text)
               FROM pg_depend dep JOIN pg_class s ON s.oid = dep.objid AND s.relkind = 'S'
               WHERE dep.classid = 'pg_class'::regclass AND dep.refclassid = 'pg_class'::regclass
                 AND dep.refobjid = c.oid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i'
               LIMIT 1)
         WHEN a.attgenerated <> '' THEN NULL
         ELSE coalesce(pg_get_expr(d.adbin, d.adrelid), pg_get_expr(t.typdefaultbin, 0))
       END,
       a.attnotnull,
       CASE
         WHEN t.typtype = 'd' AND bt.typnamespace = 'pg_catalog'::regnamespace
           THEN format_type(t.typbasetype, NULL)
         WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN format_type(a.atttypid, NULL)
         ELSE format_type(a.atttypid, a.atttypmod)
       END,
       CASE WHEN coalesce(bt.oid, t.oid) IN (1042, 1043)
                 AND coalesce(nullif(a.atttypmod, -1), t.typtypmod) > 4
            THEN coalesce(nullif(a.atttypmod, -1), t.typtypmod) - 4 END::int4,
       coalesce((SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                 FROM pg_enum e WHERE e.enumtypid = coalesce(bt.oid, t.oid)), '{}'::text[]),
       c.oid::int8,
       c.relkind IN ('r', 'p') OR (pg_relation_is_updatable(c.oid, true) & 28) <> 0
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND n.nspname = ANY($1)
ORDER BY 1, 2, a.attnum
"#;

const SCHEMA_COMMENTS_SQL: &str = r#"
SELECT n.nspname::text, d.description
FROM pg_namespace n
JOIN pg_description d ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass
WHERE n.nspname = ANY($1)
"#;

const PKS_SQL: &str = r#"
SELECT n.nspname::text, c.relname::text, array_agg(a.attname::text ORDER BY k.ord)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE con.contype = 'p'
GROUP BY 1, 2
"#;

const VIEW_BASES_SQL: &str = r#"
SELECT DISTINCT vn.nspname::text, v.relname::text, bn.nspname::text, b.relname::text
FROM pg_class v
JOIN pg_namespace vn ON vn.oid = v.relnamespace
JOIN pg_rewrite r ON r.ev_class = v.oid
JOIN pg_depend d ON d.objid = r.oid AND d.classid = 'pg_rewrite'::regclass
                 AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> v.oid
JOIN pg_class b ON b.oid = d.refobjid AND b.relkind IN ('r', 'p', 'v', 'm', 'f')
JOIN pg_namespace bn ON bn.oid = b.relnamespace
WHERE v.relkind = 'v' AND vn.nspname = ANY($1)
"#;

const FUNCTIONS_SQL: &str = r#"
SELECT n.nspname::text, p.proname::text, p.provolatile::text, p.proretset,
       p.oid::int8,
       format_type(p.prorettype, NULL), rt.typtype::text, coalesce(rbt.typtype, rt.typtype)::text,
       p.pronargdefaults::int4, p.provariadic <> 0,
       coalesce(p.proargnames, '{}'::text[]), coalesce(p.proargmodes::text[], '{}'::text[]),
       coalesce((SELECT array_agg(format_type(u.x, NULL) ORDER BY u.i)
                 FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS u(x, i)),
                '{}'::text[]),
       coalesce((SELECT array_agg(coalesce(bt.typname, t.typname)::text ORDER BY u.i)
                 FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY AS u(x, i)
                 JOIN pg_type t ON t.oid = u.x
                 LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype),
                '{}'::text[]),
       coalesce((SELECT json_agg(json_build_array(a.attname, format_type(a.atttypid, a.atttypmod),
                                                  coalesce(bt.typname, t.typname)) ORDER BY a.attnum)
                 FROM pg_attribute a
                 JOIN pg_type t ON t.oid = a.atttypid
                 LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
                 WHERE a.attrelid = coalesce(nullif(rt.typrelid, 0), rbt.typrelid)
                   AND a.attnum > 0 AND NOT a.attisdropped)::text, '[]')
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_type rt ON rt.oid = p.prorettype
LEFT JOIN pg_type rbt ON rt.typtype = 'd' AND rbt.oid = rt.typbasetype
WHERE n.nspname = ANY($1) AND p.prokind = 'f'
  AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
"#;

const ROLE_SETTINGS_SQL: &str = r#"
SELECT r.rolname::text, split_part(c, '=', 1), substr(c, strpos(c, '=') + 1)
FROM pg_db_role_setting s
JOIN pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS c
LEFT JOIN pg_settings ps ON ps.name = split_part(c, '=', 1)
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND (ps.context = 'user' OR (ps.name IS NULL AND strpos(split_part(c, '=', 1), '.') > 0))
ORDER BY s.setdatabase, 1
"#;

/// Reads tables, views and functions of `schemas`.
pub(crate) async fn introspect(pool: &Pool, schemas: &[String]) -> Result<SchemaCache, Error> {
    let client = pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => Error::Database(e),
        deadpool_postgres::PoolError::Timeout(_) => Error::Pool(
            "timed out connecting to PostgreSQL (10 s). What to do: check that it is running \
             and reachable at the host and port of --db-uri / PGRST_DB_URI"
                .into(),
        ),
        other => Error::Pool(other.to_string()),
    })?;
    client
        .batch_execute("BEGIN READ ONLY; SET LOCAL search_path TO ''")
        .await?;
    let result = async {
        let cols = client.query(COLUMNS_SQL, &[&schemas]).await?;
        let pks = client.query(PKS_SQL, &[]).await?;
        let bases = client.query(VIEW_BASES_SQL, &[&schemas]).await?;
        let funcs = client.query(FUNCTIONS_SQL, &[&schemas]).await?;
        let settings = client.query(ROLE_SETTINGS_SQL, &[]).await?;
        let comments = client.query(SCHEMA_COMMENTS_SQL, &[&schemas]).await?;
        Ok::<_, tokio_postgres::Error>((cols, pks, bases, funcs, settings, comments))
    }
    .await;
    client
        .batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })
        .await?;
    let (cols, pks, bases, funcs, settings, comments) = result?;

    let pk_map: HashMap<(String, String), Vec<String>> = pks
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect();
    let mut relations: HashMap<(String, String), Relation> = HashMap::new();
    for r in &cols {
        let key: (String, String) = (r.get(0), r.get(1));
        let rel = relations.entry(key.clone()).or_insert_with(|| Relation {
            oid: r.get(11),
            writable: r.get(12),
            schema: key.0.clone(),
            name: key.1.clone(),
            columns: Vec::new(),
            pk: pk_map.get(&key).cloned().unwrap_or_default(),
        });
        let base: String = r.get(5);
        rel.columns.push(Column {
            name: r.get(3),
            type_name: r.get(4),
            json: is_json(&base),
            default: r.get(6),
            doc: ColumnDoc {
                not_null: r.get(7),
                data_type: r.get(8),
                max_len: r.get(9),
                enum_values: r.get(10),
            },
        });
    }
    inherit_view_keys(&mut relations, &pk_map, &bases);

    let mut functions: HashMap<(String, String), Vec<Arc<Function>>> = HashMap::new();
    for r in &funcs {
        if let Some(f) = function_from_row(r) {
            functions
                .entry((f.schema.clone(), f.name.clone()))
                .or_default()
                .push(Arc::new(f));
        }
    }
    // Database-specific settings come after global ones, so they win.
    let mut role_settings: HashMap<String, serde_json::Map<String, serde_json::Value>> =
        HashMap::new();
    for r in &settings {
        let value: String = r.get(2);
        role_settings
            .entry(r.get(0))
            .or_default()
            .insert(r.get(1), serde_json::Value::String(value));
    }
    Ok(SchemaCache {
        relations: relations
            .into_iter()
            .map(|(k, v)| (k, Arc::new(v)))
            .collect(),
        functions,
        role_settings: role_settings
            .into_iter()
            .map(|(role, m)| (role, serde_json::Value::Object(m).to_string()))
            .collect(),
        schema_comments: comments.iter().map(|r| (r.get(0), r.get(1))).collect(),
    })
}

/// `character` / `bit` without a length mean length 1; parameters take the varying types.
fn unbounded(type_name: &str) -> String {
    match type_name {
        "character" => "character varying".to_string(),
        "bit" => "bit varying".to_string(),
        other => other.to_string(),
    }
}

fn is_json(base_type: &str) -> bool {
    base_type == "json" || base_type == "jsonb"
}

/// A view over exactly one relation with a primary key gets that key when it exposes all of
/// its columns under the same names.
fn inherit_view_keys(
    relations: &mut HashMap<(String, String), Relation>,
    pks: &HashMap<(String, String), Vec<String>>,
    bases: &[tokio_postgres::Row],
) {
    let mut by_view: HashMap<(String, String), Vec<(String, String)>> = HashMap::new();
    for r in bases {
        by_view
            .entry((r.get(0), r.get(1)))
            .or_default()
            .push((r.get(2), r.get(3)));
    }
    for (view, bases) in by_view {
        let [base] = bases.as_slice() else { continue };
        let Some(pk) = pks
            .get(base)
            .or_else(|| relations.get(base).map(|r| &r.pk))
            .cloned()
        else {
            continue;
        };
        if let Some(rel) = relations.get_mut(&view) {
            if rel.pk.is_empty() && !pk.is_empty() && pk.iter().all(|k| rel.column(k).is_some()) {
                rel.pk = pk;
            }
        }
    }
}

fn function_from_row(r: &tokio_postgres::Row) -> Option<Function> {
    let volatility: String = r.get(2);
    let retset: bool = r.get(3);
    let rettype: String = r.get(5);
    let ret_typtype: String = r.get(6);
    let ret_base_typtype: String = r.get(7);
    let n_defaults: i32 = r.get(8);
    let variadic: bool = r.get(9);
    let names: Vec<String> = r.get(10);
    let modes: Vec<String> = r.get(11);
    let types: Vec<String> = r.get(12);
    let bases: Vec<String> = r.get(13);
    let composite_cols: String = r.get(14);

    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (i, type_name) in types.iter().enumerate() {
        let mode = modes.get(i).map(String::as_str).unwrap_or("i");
        let name = names.get(i).cloned().unwrap_or_default();
        let base = bases.get(i).cloned().unwrap_or_default();
        if matches!(mode, "i" | "b" | "v") {
            inputs.push((name.clone(), type_name.clone(), base.clone()));
        }
        if matches!(mode, "o" | "b" | "t") {
            outputs.push(Column {
                name,
                type_name: type_name.clone(),
                json: is_json(&base),
                default: None,
                doc: ColumnDoc::default(),
            });
        }
    }
    let required = inputs.len().saturating_sub(n_defaults.max(0) as usize);
    let last = inputs.len().saturating_sub(1);
    let params: Vec<Param> = inputs
        .iter()
        .enumerate()
        .map(|(i, (name, type_name, _))| Param {
            name: name.clone(),
            type_name: unbounded(type_name),
            required: i < required,
            variadic: variadic && i == last,
        })
        .collect();
    let all_named = params.iter().all(|p| !p.name.is_empty());
    let raw_body = matches!(inputs.as_slice(), [(n, _, base)] if n.is_empty()
        && matches!(base.as_str(), "json" | "jsonb" | "text" | "xml" | "bytea"));
    if !all_named && !raw_body {
        return None;
    }
    let returns = if rettype == "void" {
        Returns::Void
    } else if !outputs.is_empty() {
        Returns::Composite {
            set: retset,
            columns: outputs,
        }
    } else if ret_typtype == "c" || ret_base_typtype == "c" || rettype == "record" {
        let cols: Vec<(String, String, String)> =
            serde_json::from_str(&composite_cols).unwrap_or_default();
        let columns = cols
            .into_iter()
            .map(|(name, type_name, base)| Column {
                name,
                type_name,
                json: is_json(&base),
                default: None,
                doc: ColumnDoc::default(),
            })
            .collect();
        Returns::Composite {
            set: retset,
            columns,
        }
    } else {
        Returns::Scalar { set: retset }
    };
    Some(Function {
        oid: r.get(4),
        schema: r.get(0),
        name: r.get(1),
        params,
        returns,
        volatile: volatility == "v",
    })
}
