//! [`TestEnv`]: a test database plus a local PostgREST-compatible server in front of it, with
//! the keys a Supabase project hands out, so code under test talks HTTP exactly as on Vercel.

use std::net::SocketAddr;

use crate::{JWT_SECRET, SECRET_API_KEY, TestDb};

/// A fresh database served over the PostgREST protocol on a random local port.
///
/// The server is declared (and so dropped) before the database: its pool goes away before the
/// database is dropped.
pub struct TestEnv {
    /// The PostgREST-compatible server (`dev/postgrest-dev`) over `db`.
    pub server: postgrest_dev::Server,
    /// The database behind the server; use `db.client` to arrange and inspect rows directly.
    pub db: TestDb,
    /// Legacy service-role key: an HS256 JWT with `role = service_role` (send it as `apikey`
    /// and as `Authorization: Bearer`).
    pub service_key: String,
    /// Legacy anon key: an HS256 JWT with `role = anon`.
    pub anon_key: String,
    /// Opaque secret key (`sb_secret_…`, send it as `apikey` only), also `service_role`.
    pub secret_key: String,
}

impl TestEnv {
    /// A fresh database and a server for it on 127.0.0.1 with an OS-assigned port.
    pub async fn start() -> TestEnv {
        TestEnv::start_with(|_| {}).await
    }

    /// Like [`TestEnv::start`], with a chance to adjust the server's configuration first
    /// (latency, pool size, max rows, ...).
    pub async fn start_with(configure: impl FnOnce(&mut postgrest_dev::Config)) -> TestEnv {
        TestEnv::serve(TestDb::new().await, configure).await
    }

    /// A server over a database the test prepared itself (e.g. an app's own tables, then the
    /// install: [`TestDb::empty`], [`TestDb::bootstrap`], [`TestDb::try_migrate`]).
    pub async fn start_on(db: TestDb) -> TestEnv {
        TestEnv::serve(db, |_| {}).await
    }

    async fn serve(db: TestDb, configure: impl FnOnce(&mut postgrest_dev::Config)) -> TestEnv {
        // Logged in as the NOINHERIT authenticator, like PostgREST on Supabase.
        let mut config = postgrest_dev::Config::new(crate::authenticator_url(&db.url), JWT_SECRET);
        config.secret_api_keys = vec![SECRET_API_KEY.to_string()];
        configure(&mut config);
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = postgrest_dev::Server::start(config, addr)
            .await
            .unwrap_or_else(|e| panic!("testkit: cannot start postgrest-dev: {e}"));
        TestEnv {
            server,
            db,
            service_key: postgrest_dev::mint_jwt(JWT_SECRET, "service_role", None),
            anon_key: postgrest_dev::mint_jwt(JWT_SECRET, "anon", None),
            secret_key: SECRET_API_KEY.to_string(),
        }
    }

    /// The REST base URL, like `https://<project>.supabase.co/rest/v1`.
    pub fn rest_url(&self) -> String {
        self.server.rest_url()
    }
}
