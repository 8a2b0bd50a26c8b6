//! postgrest-dev: a small PostgREST-compatible HTTP server over real PostgreSQL, used by
//! supacron's tests and local demo (never deployed).
//!
//! It follows PostgREST v13 as served by Supabase under `/rest/v1` (the protocol notes live in
//! `shared/reference/postgrest.md`): tables and views with `select`, filters, logic trees,
//! ordering, ranges and counts; inserts, upserts, updates and deletes with every `Prefer: return`;
//! RPC with overload resolution by argument names; HS256 JWT and Supabase `apikey` auth; one
//! transaction per request with PostgREST's GUCs; PostgREST's error bodies and status mapping.
//!
//! ```no_run
//! # async fn demo() -> Result<(), postgrest_dev::Error> {
//! let config = postgrest_dev::Config::new(
//!     "postgres://supacron:supacron@127.0.0.1:5432/postgres",
//!     "super-secret-jwt-token-with-at-least-32-characters",
//! );
//! let server = postgrest_dev::Server::start(config, "127.0.0.1:0".parse().unwrap()).await?;
//! let service_key = postgrest_dev::mint_jwt(
//!     "super-secret-jwt-token-with-at-least-32-characters", "service_role", None);
//! println!("{} (Bearer {service_key})", server.rest_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod db;
mod error;
mod handler;
mod openapi;
mod prefer;
mod query;
mod request;
mod response;
mod schema;
mod server;
mod sql;

pub use auth::mint_jwt;
pub use config::{Config, TxEnd};
pub use error::Error;
pub use server::Server;

/// Signs arbitrary claims with HS256 — for tests that need expired, future or odd tokens.
pub fn sign_jwt(secret: &str, claims: &serde_json::Value) -> String {
    auth::sign_claims(secret, claims)
}
