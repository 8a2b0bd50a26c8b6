//! Server configuration: the PostgREST settings this dev server understands, with defaults that
//! match a Supabase project (`public` schema, `anon` role, no `db-max-rows`).

use std::fmt;
use std::time::Duration;

/// `db-tx-end`: how each request's transaction ends, and whether `Prefer: tx=` may override it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TxEnd {
    /// Commit (PostgREST's default); `Prefer: tx=` is not honoured.
    #[default]
    Commit,
    /// Commit unless the request sends `Prefer: tx=rollback`.
    CommitAllowOverride,
    /// Roll back every request (test databases stay untouched); `Prefer: tx=` is not honoured.
    Rollback,
    /// Roll back unless the request sends `Prefer: tx=commit`.
    RollbackAllowOverride,
}

impl TxEnd {
    /// Parses PostgREST's values `commit`, `commit-allow-override`, `rollback`,
    /// `rollback-allow-override`.
    pub fn parse(s: &str) -> Option<TxEnd> {
        Some(match s {
            "commit" => TxEnd::Commit,
            "commit-allow-override" => TxEnd::CommitAllowOverride,
            "rollback" => TxEnd::Rollback,
            "rollback-allow-override" => TxEnd::RollbackAllowOverride,
            _ => return None,
        })
    }

    /// Whether `Prefer: tx=commit|rollback` is honoured.
    pub fn allows_override(self) -> bool {
        matches!(
            self,
            TxEnd::CommitAllowOverride | TxEnd::RollbackAllowOverride
        )
    }

    /// Whether a request without an honoured `Prefer: tx=` rolls back.
    pub fn rolls_back(self) -> bool {
        matches!(self, TxEnd::Rollback | TxEnd::RollbackAllowOverride)
    }
}

/// How a [`crate::Server`] connects to PostgreSQL and behaves towards clients.
#[derive(Clone)]
pub struct Config {
    /// PostgreSQL connection URL (`postgres://user:pass@host:port/db`); the user should be able to
    /// switch to every role a token may name (a superuser, or PostgREST's `authenticator`).
    pub database_url: String,
    /// Served schemas (`db-schemas`); the first is the default, `Accept-Profile` /
    /// `Content-Profile` select the others. Default `["public"]`.
    pub schemas: Vec<String>,
    /// Role used for requests without a token (`db-anon-role`). Default `"anon"`; empty means
    /// anonymous access is disabled (unauthenticated requests get 401 PGRST302).
    pub anon_role: String,
    /// HS256 secret that verifies `Authorization: Bearer` tokens (`jwt-secret`).
    pub jwt_secret: String,
    /// Opaque Supabase secret keys (`sb_secret_…`) accepted in the `apikey` header as role
    /// `service_role`, the way Supabase's API gateway translates them.
    pub secret_api_keys: Vec<String>,
    /// Delay added before every response, modelling the network between Vercel and Supabase.
    pub latency: Duration,
    /// Maximum number of pooled PostgreSQL connections. Default 16.
    pub pool_size: usize,
    /// `db-max-rows`: upper bound on rows returned by reads and RPC. Default `None`.
    pub max_rows: Option<u64>,
    /// `db-pre-request`: a function (`name` or `schema.name`) called with no arguments in every
    /// request's transaction after the request GUCs are set and before the main statement.
    pub pre_request: Option<String>,
    /// `db-tx-end`. Default [`TxEnd::Commit`].
    pub tx_end: TxEnd,
}

impl Config {
    /// A configuration with the given database and JWT secret and every other field defaulted.
    pub fn new(database_url: impl Into<String>, jwt_secret: impl Into<String>) -> Config {
        Config {
            database_url: database_url.into(),
            schemas: vec!["public".to_string()],
            anon_role: "anon".to_string(),
            jwt_secret: jwt_secret.into(),
            secret_api_keys: Vec::new(),
            latency: Duration::ZERO,
            pool_size: 16,
            max_rows: None,
            pre_request: None,
            tx_end: TxEnd::Commit,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &"[redacted]")
            .field("schemas", &self.schemas)
            .field("anon_role", &self.anon_role)
            .field("jwt_secret", &"[redacted]")
            .field(
                "secret_api_keys",
                &format_args!("[{} redacted]", self.secret_api_keys.len()),
            )
            .field("latency", &self.latency)
            .field("pool_size", &self.pool_size)
            .field("max_rows", &self.max_rows)
            .field("pre_request", &self.pre_request)
            .field("tx_end", &self.tx_end)
            .finish()
    }
}
