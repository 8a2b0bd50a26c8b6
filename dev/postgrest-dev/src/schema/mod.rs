//! The schema cache: relations (columns, defaults, primary keys) and functions (parameters,
//! volatility, result shape) of the served schemas, introspected from `pg_catalog`
//! ([`load`]), swapped atomically on reload, and reloaded on `NOTIFY pgrst` ([`listener`]) or
//! once when a lookup misses (tests create objects after the server started).

pub(crate) mod listener;
pub(crate) mod load;

use deadpool_postgres::Pool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::{ApiError, ApiResult, Error};

/// A column of a relation or of a function's composite result.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    /// `format_type` output, schema-qualified for user types (usable in casts and DDL).
    pub type_name: String,
    /// json/jsonb (or a domain over them): JSON arrows apply directly instead of via `to_jsonb`.
    pub json: bool,
    /// Default expression (column default, identity `nextval`, or domain default).
    pub default: Option<String>,
    /// What the OpenAPI description shows (see [`ColumnDoc`]).
    pub doc: ColumnDoc,
}

/// Column facts only the OpenAPI description needs.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnDoc {
    /// `NOT NULL` (PostgREST lists these as `required`).
    pub not_null: bool,
    /// PostgREST's `data_type`: builtin types without modifiers (`character varying`,
    /// `numeric`), a domain over a builtin as its base type, user types as declared.
    pub data_type: String,
    /// `character varying(n)` / `character(n)`: n.
    pub max_len: Option<i32>,
    /// An enum's labels in order.
    pub enum_values: Vec<String>,
}

/// A table, view, materialized view, foreign or partitioned table.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    /// `pg_class.oid`, to match the privileges of a request's role.
    pub oid: i64,
    /// A table or a view that accepts INSERT, UPDATE or DELETE.
    pub writable: bool,
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
    /// Primary-key columns (views inherit them from a single base table).
    pub pk: Vec<String>,
}

impl Relation {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// What a function returns, which decides the response body (reference §6.6).
#[derive(Debug, Clone)]
pub(crate) enum Returns {
    Void,
    Scalar { set: bool },
    Composite { set: bool, columns: Vec<Column> },
}

/// An input parameter.
#[derive(Debug, Clone)]
pub(crate) struct Param {
    /// Empty for the single unnamed json/jsonb/text/xml/bytea parameter.
    pub name: String,
    pub type_name: String,
    pub required: bool,
    pub variadic: bool,
}

/// A callable function.
#[derive(Debug, Clone)]
pub(crate) struct Function {
    /// `pg_proc.oid`, to match the privileges of a request's role.
    pub oid: i64,
    pub schema: String,
    pub name: String,
    pub params: Vec<Param>,
    pub returns: Returns,
    /// `VOLATILE` (POST runs READ WRITE) as opposed to `STABLE` / `IMMUTABLE`.
    pub volatile: bool,
}

impl Function {
    /// The single unnamed parameter's type, when the function takes the raw body.
    pub fn raw_body_type(&self) -> Option<&str> {
        match self.params.as_slice() {
            [p] if p.name.is_empty() => Some(p.type_name.as_str()),
            _ => None,
        }
    }
}

/// One introspection of the served schemas.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    pub relations: HashMap<(String, String), Arc<Relation>>,
    pub functions: HashMap<(String, String), Vec<Arc<Function>>>,
    /// `ALTER ROLE … SET` values (user-settable ones) per role, as a JSON object text, applied
    /// in every transaction that impersonates the role (e.g. Supabase's `statement_timeout`).
    pub role_settings: HashMap<String, String>,
    /// `COMMENT ON SCHEMA` per served schema (the OpenAPI title and description).
    pub schema_comments: HashMap<String, String>,
}

impl SchemaCache {
    pub fn relation(&self, schema: &str, name: &str) -> Option<Arc<Relation>> {
        self.relations
            .get(&(schema.to_string(), name.to_string()))
            .cloned()
    }

    pub fn functions(&self, schema: &str, name: &str) -> &[Arc<Function>] {
        self.functions
            .get(&(schema.to_string(), name.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The closest relation name in `schema`, for PGRST205's hint.
    pub fn closest_relation(&self, schema: &str, name: &str) -> Option<String> {
        closest(
            name,
            self.relations
                .keys()
                .filter(|(s, _)| s == schema)
                .map(|(_, n)| n.as_str()),
        )
    }

    /// The closest function name in `schema`, for PGRST202's hint.
    pub fn closest_function(&self, schema: &str, name: &str) -> Option<String> {
        closest(
            name,
            self.functions
                .keys()
                .filter(|(s, _)| s == schema)
                .map(|(_, n)| n.as_str()),
        )
    }
}

/// The live cache plus what is needed to reload it.
pub(crate) struct SchemaStore {
    pool: Pool,
    schemas: Vec<String>,
    cache: RwLock<Arc<SchemaCache>>,
    generation: AtomicU64,
    reload_lock: tokio::sync::Mutex<()>,
    /// Publishes the generation after every reload (for `Server::wait_for_schema_reload`).
    reloaded: tokio::sync::watch::Sender<u64>,
}

impl SchemaStore {
    /// Introspects the schemas once; fails when the database cannot be queried.
    pub async fn load(pool: Pool, schemas: Vec<String>) -> Result<SchemaStore, Error> {
        let cache = load::introspect(&pool, &schemas).await?;
        Ok(SchemaStore {
            pool,
            schemas,
            cache: RwLock::new(Arc::new(cache)),
            generation: AtomicU64::new(0),
            reload_lock: tokio::sync::Mutex::new(()),
            reloaded: tokio::sync::watch::Sender::new(0),
        })
    }

    /// The current cache and its generation.
    pub fn snapshot(&self) -> (u64, Arc<SchemaCache>) {
        let cache = self.cache.read().expect("schema cache lock").clone();
        (self.generation.load(Ordering::Acquire), cache)
    }

    /// How many times the cache was reloaded since start.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Resolves once the generation exceeds `seen`.
    pub async fn wait_beyond(&self, seen: u64) {
        let mut rx = self.reloaded.subscribe();
        let _ = rx.wait_for(|g| *g > seen).await;
    }

    /// Reloads unconditionally (NOTIFY).
    pub async fn reload(&self) -> Result<(), Error> {
        let _guard = self.reload_lock.lock().await;
        self.reload_locked().await
    }

    async fn reload_locked(&self) -> Result<(), Error> {
        let cache = load::introspect(&self.pool, &self.schemas).await?;
        *self.cache.write().expect("schema cache lock") = Arc::new(cache);
        // Prepared statements may have been planned against the old definitions.
        self.pool.manager().statement_caches.clear();
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.reloaded.send_replace(generation);
        tracing::debug!(generation, "schema cache reloaded");
        Ok(())
    }

    /// Reloads unless someone else already did since generation `seen`.
    async fn reload_since(&self, seen: u64) {
        let _guard = self.reload_lock.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return;
        }
        if let Err(e) = self.reload_locked().await {
            tracing::warn!(error = %e, "schema cache reload failed");
        }
    }

    /// Runs `find` on the cache; when it fails, reloads once and runs it again.
    pub async fn find<T>(&self, find: impl Fn(&SchemaCache) -> ApiResult<T>) -> ApiResult<T> {
        let (seen, cache) = self.snapshot();
        match find(&cache) {
            Ok(v) => Ok(v),
            Err(_) => {
                self.reload_since(seen).await;
                find(&self.snapshot().1)
            }
        }
    }

    /// A relation of `schema`, or PGRST205.
    pub async fn relation(&self, schema: &str, name: &str) -> ApiResult<Arc<Relation>> {
        self.find(|cache| {
            cache.relation(schema, name).ok_or_else(|| {
                let mut e = ApiError::new(
                    404,
                    "PGRST205",
                    format!("Could not find the table '{schema}.{name}' in the schema cache"),
                );
                if let Some(c) = cache.closest_relation(schema, name) {
                    e = e.hint(format!("Perhaps you meant the table '{schema}.{c}'"));
                }
                e
            })
        })
        .await
    }
}

/// Best trigram match above a small threshold (PostgREST uses a fuzzy set; hints are best-effort).
fn closest<'a>(target: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let t = trigrams(target);
    candidates
        .map(|c| {
            let ct = trigrams(c);
            let common = t.iter().filter(|g| ct.contains(g)).count() as f64;
            let score = common / (t.len() + ct.len()) as f64 * 2.0;
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.3)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c.to_string())
}

fn trigrams(s: &str) -> Vec<String> {
    let chars: Vec<char> = format!("  {} ", s.to_lowercase()).chars().collect();
    let mut v: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_the_nearest_name() {
        let names = ["items", "projects", "private_table"];
        assert_eq!(
            closest("itemz", names.iter().copied()).as_deref(),
            Some("items")
        );
        assert_eq!(closest("zzzz", names.iter().copied()), None);
    }
}
