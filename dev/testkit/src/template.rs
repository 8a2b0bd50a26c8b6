//! The migrated template database every test database is cloned from.
//!
//! Name: `supacron_tpl_<16 hex digits>`, a hash of bootstrap.sql and every migration (names and
//! content), so a schema change gets a new template and an unchanged schema reuses the old one,
//! across test binaries and runs.
//!
//! Concurrency: test binaries run in parallel, each with many tests. Within a process the
//! template is resolved once (a `tokio::sync::OnceCell`); across processes, whoever builds it
//! holds a session-level `pg_advisory_lock` on the maintenance database, and everyone else
//! blocks on that lock and then finds the template ready: no polling, no sleeps. The template is
//! built under a temporary name and renamed when complete, so a crash mid-build never leaves a
//! half-migrated template behind. It is marked `is_template` and `allow_connections = false`,
//! because `CREATE DATABASE … TEMPLATE` fails while anyone is connected to the source.
//!
//! Housekeeping, under the same lock, once per process: test databases
//! (`supacron_test_<unix seconds>_…`) older than an hour are dropped (a failed test keeps its
//! database for inspection until then), and so are templates of other schema versions built more
//! than an hour ago (their build time is in the database comment).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::OnceCell;
use tokio_postgres::{Client, NoTls};

use crate::sql::{self, describe};

/// Prefix of every per-test database.
pub(crate) const TEST_DB_PREFIX: &str = "supacron_test_";
/// Prefix of every template database.
const TEMPLATE_PREFIX: &str = "supacron_tpl_";
/// Leftovers older than this are dropped.
const STALE_AFTER: Duration = Duration::from_secs(3600);
/// Advisory lock key (on the maintenance database) that serialises template builds.
const LOCK_KEY: i64 = 0x5375_7061_6372_6f6e; // "Supacron"

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// The template's name, building it first if no process has yet.
pub(crate) async fn template() -> String {
    TEMPLATE.get_or_init(prepare).await.clone()
}

/// The template name for the current checkout.
pub(crate) fn template_name() -> String {
    let bootstrap = sql::bootstrap_sql();
    let migrations = sql::migrations();
    let mut parts: Vec<&[u8]> = vec![bootstrap.as_bytes()];
    for (name, text) in &migrations {
        parts.push(name.as_bytes());
        parts.push(text.as_bytes());
    }
    format!("{TEMPLATE_PREFIX}{:016x}", sql::fnv1a64(&parts))
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Connects and drives the connection on the current runtime.
pub(crate) async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "testkit: cannot connect to PostgreSQL ({}): {e}. Start it with \
             `export DATABASE_URL=$(scripts/ensure-postgres.sh | tail -1)`",
                redact(url)
            )
        });
    tokio::spawn(async move {
        // Errors surface on the client's next query; a dropped test database ends it anyway.
        let _ = connection.await;
    });
    client
}

/// `url` without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &url[start + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..start + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn prepare() -> String {
    let name = template_name();
    let admin = connect(&crate::database_url()).await;
    admin
        .execute("select pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .unwrap_or_else(|e| panic!("testkit: advisory lock: {}", describe(&e)));

    sweep(&admin, &name).await;
    let exists = admin
        .query_opt("select 1 from pg_database where datname = $1", &[&name])
        .await
        .expect("look up template")
        .is_some();
    if !exists {
        build(&admin, &name).await;
    }

    admin
        .execute("select pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .expect("advisory unlock");
    name
}

/// Builds `name` from scratch: bootstrap + migrations into `<name>_building`, then rename.
async fn build(admin: &Client, name: &str) {
    let building = format!("{name}_building");
    drop_database(admin, &building).await;
    admin
        .batch_execute(&format!("create database \"{building}\""))
        .await
        .unwrap_or_else(|e| panic!("testkit: create {building}: {}", describe(&e)));

    {
        let url = crate::url_with_dbname(&crate::database_url(), &building);
        let mut client = connect(&url).await;
        sql::apply(&mut client, "dev/sql/bootstrap.sql", &sql::bootstrap_sql()).await;
        for (file, text) in sql::migrations() {
            sql::apply(&mut client, &file, &text).await;
        }
        // Dropping the client closes the session; PostgreSQL waits (up to 5 s) for a closing
        // backend before it refuses the rename below.
    }

    admin
        .batch_execute(&format!(
            "alter database \"{building}\" rename to \"{name}\";
             alter database \"{name}\" with is_template true allow_connections false;
             comment on database \"{name}\" is 'supacron test template, built {}';",
            unix_now()
        ))
        .await
        .unwrap_or_else(|e| panic!("testkit: finish template {name}: {}", describe(&e)));
}

/// Drops stale test databases and stale templates of other schema versions.
async fn sweep(admin: &Client, current: &str) {
    let rows = admin
        .query(
            "select d.datname, shobj_description(d.oid, 'pg_database')
             from pg_database d
             where d.datname like 'supacron\\_test\\_%' or d.datname like 'supacron\\_tpl\\_%'",
            &[],
        )
        .await
        .expect("list test databases");
    let now = unix_now();
    for row in rows {
        let db: String = row.get(0);
        let comment: Option<String> = row.get(1);
        let born = if let Some(rest) = db.strip_prefix(TEST_DB_PREFIX) {
            rest.split('_')
                .next()
                .and_then(|secs| secs.parse::<u64>().ok())
        } else if db == current {
            continue;
        } else {
            // A template; no comment means an interrupted build (we hold the lock): stale.
            comment
                .as_deref()
                .and_then(|c| c.rsplit(' ').next())
                .and_then(|s| s.parse().ok())
        };
        if born.is_none_or(|born| now.saturating_sub(born) > STALE_AFTER.as_secs()) {
            drop_database(admin, &db).await;
        }
    }
}

/// `drop database if exists … with (force)`, clearing is_template first. Failures are reported,
/// not fatal: housekeeping must never fail a test.
pub(crate) async fn drop_database(admin: &Client, db: &str) {
    let _ = admin
        .batch_execute(&format!("alter database \"{db}\" with is_template false"))
        .await;
    if let Err(e) = admin
        .batch_execute(&format!("drop database if exists \"{db}\" with (force)"))
        .await
    {
        eprintln!("testkit: could not drop database {db}: {}", describe(&e));
    }
}
