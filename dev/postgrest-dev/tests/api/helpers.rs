//! Test harness: a fresh database per test (`pgrst_dev_test_<random>`) with the fixture schema
//! and the Supabase roles, a running server, and clients (plain reqwest and the `postgrest`
//! crate) authenticated as service_role.

use postgrest_dev::{Config, Server, mint_jwt};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio_postgres::NoTls;

/// HS256 secret the test servers use.
pub const SECRET: &str = "postgrest-dev-test-secret-at-least-32-chars";
/// An opaque Supabase secret key accepted as service_role.
pub const SB_SECRET: &str = "sb_secret_postgrest_dev_tests";

/// The Supabase roles and the NOINHERIT `authenticator` with its local password — the same
/// file the testkit and `scripts/db.sh` use (idempotent, safe to run concurrently).
const BOOTSTRAP_SQL: &str = include_str!("../../../sql/bootstrap.sql");

/// `authenticator`'s local development password (set by `dev/sql/bootstrap.sql`).
pub const AUTHENTICATOR_PASSWORD: &str = "authenticator-local-dev";

/// A server over a private database.
pub struct TestApp {
    pub server: Server,
    pub rest: String,
    pub http: reqwest::Client,
    pub service_jwt: String,
    pub db_url: String,
    db: DbGuard,
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://supacron:supacron@127.0.0.1:5432/postgres".into())
}

/// `url` with its user and password replaced (PostgREST's login role connects like this).
pub fn with_login(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host = match rest[..end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    format!("{scheme}://{user}:{password}@{host}")
}

/// `admin_url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map(|(b, q)| (b, Some(q)))
        .unwrap_or((url, None));
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

impl TestApp {
    /// Default configuration.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// Creates the database and schema, then starts a server configured by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::spawn_after("", configure).await
    }

    /// Like [`TestApp::spawn_with`], running `sql` (as the superuser) before the server starts.
    /// The server logs in as the NOINHERIT `authenticator`, like PostgREST on Supabase.
    pub async fn spawn_after(sql: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
        let admin_url = admin_url();
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        let db_name = format!("pgrst_dev_test_{:016x}", h.finish());
        let admin = connect(&admin_url).await;
        admin
            .batch_execute(BOOTSTRAP_SQL)
            .await
            .expect("dev/sql/bootstrap.sql");
        admin
            .batch_execute(&format!("create database {db_name}"))
            .await
            .expect("create database");
        let db_url = with_database(&admin_url, &db_name);
        connect(&db_url)
            .await
            .batch_execute(&format!("{}\n{sql}", include_str!("fixture.sql")))
            .await
            .expect("fixture schema");

        let login = with_login(&db_url, "authenticator", AUTHENTICATOR_PASSWORD);
        let mut config = Config::new(login, SECRET);
        config.secret_api_keys = vec![SB_SECRET.to_string()];
        config.pool_size = 4;
        configure(&mut config);
        let server = Server::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("server starts");
        TestApp {
            rest: server.rest_url(),
            server,
            http: reqwest::Client::new(),
            service_jwt: mint_jwt(SECRET, "service_role", None),
            db_url,
            db: DbGuard {
                admin_url,
                db_name,
                armed: true,
            },
        }
    }

    /// A request as service_role to `path` (relative to `/rest/v1`, e.g. `/items?id=eq.1`).
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.anon(method, path).bearer_auth(&self.service_jwt)
    }

    /// A request without any credentials.
    pub fn anon(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.rest))
    }

    pub async fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().await.expect("request")
    }

    /// POST `body` as JSON with the given `Prefer` header.
    pub async fn post(&self, path: &str, prefer: &str, body: Value) -> Response {
        self.req(Method::POST, path)
            .header("Prefer", prefer)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// The `postgrest` crate client, as supacron's functions use it.
    pub fn client(&self) -> postgrest::Postgrest {
        postgrest::Postgrest::new(&self.rest).insert_header("apikey", SB_SECRET)
    }

    /// Runs SQL directly against the test database.
    pub async fn sql(&self, sql: &str) {
        connect(&self.db_url)
            .await
            .batch_execute(sql)
            .await
            .expect("sql");
    }

    /// Runs a query returning one value as text.
    pub async fn scalar(&self, sql: &str) -> String {
        let row = connect(&self.db_url)
            .await
            .query_one(sql, &[])
            .await
            .expect("query");
        row.get(0)
    }

    /// Inserts rows into `items` as service_role.
    pub async fn seed_items(&self, rows: Value) {
        let r = self.post("/items", "return=minimal", rows).await;
        assert_eq!(r.status(), 201, "seed: {}", r.text().await.unwrap());
    }

    /// Stops the server and drops the database.
    pub async fn stop(mut self) {
        self.server.shutdown().await;
        let sql = self.db.drop_sql();
        self.db.armed = false;
        let _ = connect(&self.db.admin_url).await.batch_execute(&sql).await;
    }
}

/// Drops the test database if a test panics before `stop()`.
struct DbGuard {
    admin_url: String,
    db_name: String,
    armed: bool,
}

impl DbGuard {
    fn drop_sql(&self) -> String {
        format!("drop database if exists {} with (force)", self.db_name)
    }
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (url, sql) = (self.admin_url.clone(), self.drop_sql());
        // Never block the test's runtime here: PostgreSQL's DROP DATABASE waits until every
        // backend acknowledges it, including ones whose client lives in that runtime.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                let _ = rt.block_on(async { connect(&url).await.batch_execute(&sql).await });
            }
        });
    }
}

/// The body as JSON.
pub async fn json(r: Response) -> Value {
    let text = r.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A header as text (`""` if absent).
pub fn header(r: &Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Asserts a PostgREST error: status, `code`, and that the body has exactly the four keys.
pub async fn assert_error(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "status for {code}");
    assert_eq!(
        header(&r, "proxy-status"),
        format!("PostgREST; error={code}")
    );
    let body = json(r).await;
    assert_eq!(body["code"], code, "{body}");
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["code", "details", "hint", "message"], "{body}");
    body
}
