//! One request = one transaction (reference §9.1): `BEGIN`, the per-request GUCs (§8.4), the main
//! statement and `COMMIT`/`ROLLBACK`, pipelined on one pooled connection so a read costs a single
//! round trip. Statements are prepared once per connection and cached; parameters are sent as
//! text and typed by PostgreSQL from context, like PostgREST's `unknown` literals.

use bytes::BytesMut;
use deadpool_postgres::{Pool, PoolError};
use futures_util::future::{join, join4};
use std::error::Error as StdError;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

use crate::auth::Identity;
use crate::error::{ApiError, ApiResult};
use crate::sql::Sql;

/// A text parameter that PostgreSQL types from context (an untyped literal).
#[derive(Debug)]
struct Untyped<'a>(&'a str);

impl ToSql for Untyped<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// The transaction-local settings of one request.
pub(crate) struct TxSettings<'a> {
    pub read_only: bool,
    /// End with ROLLBACK instead of COMMIT (`db-tx-end`, `Prefer: tx=rollback`).
    pub rollback: bool,
    /// `SELECT <db-pre-request>()`, run after the GUCs and before the main statement.
    pub pre_request: Option<&'a str>,
    pub identity: &'a Identity,
    pub search_path: String,
    pub method: &'a str,
    pub path: &'a str,
    pub headers_json: String,
    pub cookies_json: String,
    pub timezone: Option<&'a str>,
    /// The role's `ALTER ROLE … SET` values as a JSON object (`{}` for none).
    pub role_settings: String,
}

/// The single row every main statement returns (see [`crate::sql::outer_select`]).
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub total: Option<i64>,
    pub page_total: i64,
    pub body: Option<String>,
    pub response_headers: Option<String>,
    pub response_status: Option<String>,
    pub inserted: Option<i64>,
}

/// Beyond this many cached statements a connection starts its cache afresh.
const MAX_CACHED_STATEMENTS: usize = 512;

const GUC_SQL: &str = "SELECT (SELECT count(set_config(k, v, true)) FROM json_each_text($9::json) AS s(k, v)), \
    set_config('search_path', $1, true), set_config('role', $2, true), \
    set_config('request.jwt.claims', $3, true), set_config('request.method', $4, true), \
    set_config('request.path', $5, true), set_config('request.headers', $6, true), \
    set_config('request.cookies', $7, true), set_config('timezone', coalesce($8, current_setting('timezone')), true)";

/// Runs `sql` in its own transaction. `check` inspects the outcome before commit; an error from
/// it rolls the transaction back (singular-object and max-affected checks).
pub(crate) async fn execute(
    pool: &Pool,
    tx: &TxSettings<'_>,
    sql: &Sql,
    check: impl FnOnce(&Outcome) -> ApiResult<()>,
) -> ApiResult<Outcome> {
    let client = pool.get().await.map_err(pool_error)?;
    let pg_err = |e: tokio_postgres::Error| ApiError::from_pg(&e, tx.identity.authenticated);

    let claims = serde_json::Value::Object(tx.identity.claims.clone()).to_string();
    let guc_values: [Option<&str>; 9] = [
        Some(&tx.search_path),
        Some(&tx.identity.role),
        Some(&claims),
        Some(tx.method),
        Some(tx.path),
        Some(&tx.headers_json),
        Some(&tx.cookies_json),
        tx.timezone,
        Some(&tx.role_settings),
    ];
    let guc_params: Vec<Option<Untyped>> = guc_values.iter().map(|v| v.map(Untyped)).collect();
    let guc_refs: Vec<&(dyn ToSql + Sync)> = guc_params
        .iter()
        .map(|p| p as &(dyn ToSql + Sync))
        .collect();
    let main_params: Vec<Untyped> = sql.params.iter().map(|p| Untyped(p)).collect();
    let main_refs: Vec<&(dyn ToSql + Sync)> = main_params
        .iter()
        .map(|p| p as &(dyn ToSql + Sync))
        .collect();

    // Named prepared statements, cached per connection (as PostgREST does): parsing and planning
    // the main statement costs more than running it. The main statement is prepared after
    // BEGIN and the GUCs, so it is parsed as the request's role (PostgREST's NOINHERIT
    // authenticator may have no USAGE on the served schema); on a cache hit it is sent in the
    // same round trip, on a miss the Parse is pipelined behind the GUCs.
    if client.statement_cache.size() > MAX_CACHED_STATEMENTS {
        client.statement_cache.clear();
    }
    let guc_stmt = client.prepare_cached(GUC_SQL).await.map_err(pg_err)?;

    let begin = if tx.read_only {
        "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"
    } else {
        "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
    };

    let end = if tx.rollback { "ROLLBACK" } else { "COMMIT" };
    // db-pre-request, in the same flight after the GUCs; nothing to send when not configured.
    let pre = async {
        match tx.pre_request {
            Some(call) => client.batch_execute(call).await,
            None => Ok(()),
        }
    };

    if tx.read_only {
        // Nothing to undo in a read-only transaction: its end follows the main statement in the
        // same flight (after a failure it ends the aborted transaction either way).
        let main = async {
            match client.prepare_cached(&sql.text).await {
                Ok(stmt) => join(client.query(&stmt, &main_refs), client.batch_execute(end)).await,
                Err(e) => (Err(e), client.batch_execute(end).await),
            }
        };
        let (b, g, p, (m, c)) = join4(
            client.batch_execute(begin),
            client.query(&guc_stmt, &guc_refs),
            pre,
            main,
        )
        .await;
        b.map_err(pg_err)?;
        g.map_err(pg_err)?;
        p.map_err(pg_err)?;
        let rows = m.map_err(pg_err)?;
        c.map_err(pg_err)?;
        let outcome = outcome(&rows)?;
        check(&outcome)?;
        return Ok(outcome);
    }

    let main = async {
        let stmt = client.prepare_cached(&sql.text).await?;
        client.query(&stmt, &main_refs).await
    };
    let (b, g, p, m) = join4(
        client.batch_execute(begin),
        client.query(&guc_stmt, &guc_refs),
        pre,
        main,
    )
    .await;
    let result = b
        .and(g.map(|_| ()))
        .and(p)
        .and(m)
        .map_err(pg_err)
        .and_then(|rows: Vec<tokio_postgres::Row>| outcome(&rows))
        .and_then(|o| check(&o).map(|_| o));
    match result {
        Ok(o) => {
            client.batch_execute(end).await.map_err(pg_err)?;
            Ok(o)
        }
        Err(e) => {
            if client.batch_execute("ROLLBACK").await.is_err() {
                // Never hand a connection in an unknown transaction state back to the pool.
                let _ = deadpool_postgres::Object::take(client);
            }
            Err(e)
        }
    }
}

fn outcome(rows: &[tokio_postgres::Row]) -> ApiResult<Outcome> {
    let row = rows.first().ok_or_else(|| {
        ApiError::new(500, "PGRSTX00", "Internal error").details("statement returned no row")
    })?;
    Ok(Outcome {
        total: row.get(0),
        page_total: row.get::<_, Option<i64>>(1).unwrap_or(0),
        body: row.get(2),
        response_headers: row.get(3),
        response_status: row.get(4),
        inserted: row.get(5),
    })
}

fn pool_error(e: PoolError) -> ApiError {
    match e {
        PoolError::Timeout(_) => ApiError::new(
            504,
            "PGRST003",
            "Timed out acquiring connection from connection pool.",
        ),
        other => ApiError::new(
            503,
            "PGRST000",
            "Database connection error. Retrying the connection.",
        )
        .details(match &other {
            PoolError::Backend(e) => crate::error::describe_pg(e),
            _ => other.to_string(),
        })
        .header("Retry-After", "0"),
    }
}
