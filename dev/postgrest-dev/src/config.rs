//! Server configuration: the PostgREST settings this dev server understands, with defaults that
//! match a Supabase project (`public` schema, `anon` role, no `db-max-rows`).

use std::fmt;
use std::time::Duration;

/// How a [`crate::Server`] connects to PostgreSQL and behaves towards clients.
#[derive(Clone)]
pub struct Config {
    /// PostgreSQL connection URL (`postgres://user:pass@host:port/db`); the user should be able to
    /// switch to every role a token may name (a superuser, or PostgREST's `authenticator`).
    pub database_url: String,
    /// Served schemas (`db-schemas`); the first is the default, `Accept-Profile` /
    /// `Content-Profile` select the others. Default `["public"]`.
    pub schemas: Vec<String>,
    /// Role used for requests without a token (`db-anon-role`). Default `"anon"`.
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
            .finish()
    }
}
