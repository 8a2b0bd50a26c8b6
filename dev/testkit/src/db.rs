//! [`TestDb`]: one fresh, fully migrated database per test.
//!
//! `TestDb::new()` clones the template (see `template.rs`) with `CREATE DATABASE … TEMPLATE`,
//! which copies files instead of replaying migrations, and connects to it as the `DATABASE_URL`
//! user (a superuser: fixtures bypass RLS, exactly like a seed). When the `TestDb` is dropped
//! the database is dropped too, unless the test is panicking (then it is kept, its name printed,
//! and a later run removes it after an hour) or `SUPACRON_KEEP_TEST_DB=1` is set.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio_postgres::Client;

use crate::sql::{self, describe};
use crate::template::{self, TEST_DB_PREFIX};

/// A database of its own for one test.
pub struct TestDb {
    /// Database name, `supacron_test_<unix seconds>_<pid>_<n>`.
    pub name: String,
    /// Connection URL of this database (same server and user as `DATABASE_URL`).
    pub url: String,
    /// A connection to it as the `DATABASE_URL` user (superuser).
    pub client: Client,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDb {
    /// A fresh database with the roles' grants and every migration applied; no seed.
    pub async fn new() -> TestDb {
        let template = template::template().await;
        TestDb::create(&format!("template \"{template}\"")).await
    }

    /// A fresh, empty database (PostgreSQL's default template): nothing bootstrapped or
    /// migrated. For tests of the migrations themselves; see [`TestDb::migrate`].
    pub async fn empty() -> TestDb {
        TestDb::create("").await
    }

    async fn create(options: &str) -> TestDb {
        let name = format!(
            "{TEST_DB_PREFIX}{}_{}_{}",
            template::unix_now(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let admin = template::connect(&crate::database_url()).await;
        admin
            .batch_execute(&format!("create database \"{name}\" {options}"))
            .await
            .unwrap_or_else(|e| panic!("testkit: create database {name}: {}", describe(&e)));
        let url = crate::url_with_dbname(&crate::database_url(), &name);
        let client = template::connect(&url).await;
        TestDb { name, url, client }
    }

    /// Applies every migration, each in its own transaction (what the template holds already).
    pub async fn migrate(&mut self) {
        for (file, text) in sql::migrations() {
            sql::apply(&mut self.client, &file, &text).await;
        }
    }

    /// Applies every `supabase/schemas` file in name order, each in its own transaction: the
    /// declarative schema, which must build the same catalog as the migrations.
    pub async fn apply_schemas(&mut self) {
        for (file, text) in sql::schemas() {
            sql::apply(&mut self.client, &file, &text).await;
        }
    }

    /// Applies every migration like [`TestDb::migrate`], but answers the first failure (the
    /// server's message, detail and hint) instead of panicking; a failed file changes nothing.
    pub async fn try_migrate(&mut self) -> Result<(), String> {
        for (file, text) in sql::migrations() {
            sql::try_apply(&mut self.client, &text)
                .await
                .map_err(|e| format!("{file}: {e}"))?;
        }
        Ok(())
    }

    /// Runs `sql` in one transaction, panicking with `name` and the server's message.
    pub async fn apply(&mut self, name: &str, text: &str) {
        sql::apply(&mut self.client, name, text).await;
    }

    /// Loads `supabase/seed.sql` into this database (in one transaction).
    pub async fn seed(&mut self) {
        sql::apply(&mut self.client, "supabase/seed.sql", &sql::seed_sql()).await;
    }

    /// Runs `dev/sql/bootstrap.sql` again (it must be harmless).
    pub async fn bootstrap(&mut self) {
        sql::apply(
            &mut self.client,
            "dev/sql/bootstrap.sql",
            &sql::bootstrap_sql(),
        )
        .await;
    }

    /// A new connection to this database (e.g. to play a second, concurrent writer).
    pub async fn connect(&self) -> Client {
        template::connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let keep = std::env::var("SUPACRON_KEEP_TEST_DB").is_ok_and(|v| v == "1");
        if keep || std::thread::panicking() {
            eprintln!(
                "testkit: kept database {} (url {})",
                self.name,
                template::redact(&self.url)
            );
            return;
        }
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived thread
        // with its own runtime does the (quick) DROP DATABASE and is joined.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime for dropping a test database");
            runtime.block_on(async {
                let admin = template::connect(&crate::database_url()).await;
                template::drop_database(&admin, &name).await;
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("testkit: could not drop database {}", self.name);
        }
    }
}
