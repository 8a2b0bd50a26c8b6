//! testkit: the shared harness for supacron's integration tests.
//!
//! Every test gets its own PostgreSQL database ([`TestDb`]), cloned in milliseconds from a
//! template that holds the roles' grants and every migration in `supabase/migrations`. The
//! template is built at most once per schema version, whichever test process gets there first
//! (see `template.rs`), so test binaries running in parallel share it. [`TestEnv`] adds a local
//! PostgREST-compatible server (`dev/postgrest-dev`) over that database, with the keys a
//! Supabase project would hand out; [`factory`] builds fixtures with optional fields.
//!
//! The server comes from [`database_url`] (`DATABASE_URL`, or the local default that
//! `scripts/ensure-postgres.sh` sets up); its user must be a superuser (it creates databases and
//! runs `dev/sql/bootstrap.sql`, which creates cluster-wide roles). The PostgREST server logs in
//! as [`AUTHENTICATOR`] (NOINHERIT, no privileges of its own), as on Supabase, so every test
//! goes through the real privilege path.

pub mod catalog;
mod db;
mod env;
pub mod factory;
mod sql;
mod template;

pub use db::TestDb;
pub use env::TestEnv;
pub use sql::{apply, bootstrap_sql, migrations, repo_root, schemas, seed_sql};

/// HS256 secret shared by the local PostgREST server and the keys minted for tests.
pub const JWT_SECRET: &str = "supacron-local-dev-jwt-secret-0123456789abcdef";

/// An opaque Supabase-style secret key (`sb_secret_…`) the local server accepts as
/// `service_role` in the `apikey` header.
pub const SECRET_API_KEY: &str = "sb_secret_supacron_local_dev_0123456789";

/// The login role the local PostgREST server connects as, like PostgREST on Supabase: LOGIN,
/// NOINHERIT, no privileges of its own, granted anon, authenticated and service_role
/// (`dev/sql/bootstrap.sql`).
pub const AUTHENTICATOR: &str = "authenticator";

/// The local development password `dev/sql/bootstrap.sql` gives [`AUTHENTICATOR`].
pub const AUTHENTICATOR_PASSWORD: &str = "authenticator-local-dev";

/// `url` logging in as [`AUTHENTICATOR`] instead of its own user (same server and database).
pub fn authenticator_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("{url} user={AUTHENTICATOR} password={AUTHENTICATOR_PASSWORD}");
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{scheme}://{AUTHENTICATOR}:{AUTHENTICATOR_PASSWORD}@{host}")
}

/// The server tests run against when `DATABASE_URL` is not set.
pub const DEFAULT_DATABASE_URL: &str = "postgres://supacron:supacron@127.0.0.1:5432/postgres";

/// `DATABASE_URL`, or [`DEFAULT_DATABASE_URL`]. It names the maintenance database; test
/// databases live on the same server.
pub fn database_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => DEFAULT_DATABASE_URL.to_string(),
    }
}

/// `url` with its database name replaced by `dbname` (query parameters are kept). Accepts URLs
/// (`postgres://…/db?x=y`) and key=value connection strings.
pub fn url_with_dbname(url: &str, dbname: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("{url} dbname={dbname}");
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{dbname}?{query}"),
        None => format!("{scheme}://{authority}/{dbname}"),
    }
}

#[cfg(test)]
mod tests {
    use super::url_with_dbname;

    #[test]
    fn authenticator_url_replaces_only_the_user() {
        assert_eq!(
            super::authenticator_url("postgres://u:p@127.0.0.1:5432/t1?sslmode=disable"),
            "postgres://authenticator:authenticator-local-dev@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(
            super::authenticator_url("postgres://h/t1"),
            "postgres://authenticator:authenticator-local-dev@h/t1"
        );
    }

    #[test]
    fn url_with_dbname_replaces_only_the_database() {
        assert_eq!(
            url_with_dbname("postgres://u:p@127.0.0.1:5432/postgres", "t1"),
            "postgres://u:p@127.0.0.1:5432/t1"
        );
        assert_eq!(
            url_with_dbname("postgresql://u@h/postgres?sslmode=disable", "t1"),
            "postgresql://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            url_with_dbname("postgres://u@h:5433", "t1"),
            "postgres://u@h:5433/t1"
        );
        assert_eq!(
            url_with_dbname("host=h user=u", "t1"),
            "host=h user=u dbname=t1"
        );
    }
}
