//! The part of PostgREST's OpenAPI (Swagger 2.0) description at `GET /rest/v1/` that the check
//! reads: every table and view the caller may use with its columns' formats (`definitions`),
//! and every RPC function (`paths` `/rpc/<name>`). PostgREST lists only what the caller's role
//! may use, so for the service role "absent" means missing or not granted to it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Tables and views (name -> column -> OpenAPI `format`) and RPC function names.
#[derive(Debug, Default)]
pub struct Described {
    /// Relations with their columns' formats (`uuid`, `int64`, `timestamp with time zone`, …).
    pub relations: BTreeMap<String, BTreeMap<String, String>>,
    /// Functions callable under `/rpc/`.
    pub functions: BTreeSet<String>,
}

impl Described {
    /// Reads the description; `None` when it is not a PostgREST OpenAPI document.
    pub fn from_document(doc: &Value) -> Option<Described> {
        let definitions = doc.get("definitions")?.as_object()?;
        let paths = doc.get("paths")?.as_object()?;
        let relations = definitions
            .iter()
            .map(|(name, definition)| {
                let columns = definition
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|properties| {
                        properties
                            .iter()
                            .map(|(column, p)| {
                                let format = p.get("format").and_then(Value::as_str).unwrap_or("");
                                (column.clone(), format.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (name.clone(), columns)
            })
            .collect();
        let functions = paths
            .keys()
            .filter_map(|path| path.strip_prefix("/rpc/"))
            .map(str::to_string)
            .collect();
        Some(Described {
            relations,
            functions,
        })
    }
}

/// The OpenAPI `format` PostgREST gives a column of PostgreSQL type `typname`.
pub fn format_of(typname: &str) -> &'static str {
    match typname {
        "int8" => "int64",
        "int4" | "int2" => "int32",
        "text" => "text",
        "varchar" => "character varying",
        "jsonb" => "jsonb",
        "timestamptz" => "timestamp with time zone",
        "float8" => "double precision",
        "float4" => "real",
        "numeric" => "numeric",
        "bool" => "boolean",
        "interval" => "interval",
        "uuid" => "uuid",
        _ => "",
    }
}

/// A PostgreSQL type name for an OpenAPI `format`, for messages (`int64` -> `bigint`).
pub fn type_name(format: &str) -> &str {
    match format {
        "int64" => "bigint",
        "int32" => "integer",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_relations_columns_and_functions() {
        let doc = json!({
            "swagger": "2.0",
            "definitions": {"patch_jobs": {"properties": {
                "id": {"format": "int64", "type": "integer"},
                "lease_owner": {"format": "text", "type": "string"}}}},
            "paths": {"/": {}, "/patch_jobs": {}, "/rpc/claim_patch_batch": {}}
        });
        let d = Described::from_document(&doc).unwrap();
        assert_eq!(d.relations["patch_jobs"]["id"], "int64");
        assert!(d.functions.contains("claim_patch_batch"));
        assert_eq!(d.functions.len(), 1);
        assert!(Described::from_document(&json!({"hello": 1})).is_none());
        assert_eq!(format_of("timestamptz"), "timestamp with time zone");
        assert_eq!(type_name("int64"), "bigint");
    }
}
