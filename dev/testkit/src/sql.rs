//! The SQL files of the repository (bootstrap, migrations, schemas, seed) and how tests apply
//! them.
//!
//! Files are read at run time from the checkout (via `CARGO_MANIFEST_DIR`), so editing a
//! migration needs no rebuild: the next test run hashes the new content into a new template.

use std::fs;
use std::path::{Path, PathBuf};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("dev/testkit lives two levels below the repository root")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `dev/sql/bootstrap.sql`: the Supabase API roles for a plain PostgreSQL server.
pub fn bootstrap_sql() -> String {
    read(&repo_root().join("dev/sql/bootstrap.sql"))
}

/// `supabase/seed.sql`: the demo data.
pub fn seed_sql() -> String {
    read(&repo_root().join("supabase/seed.sql"))
}

/// Every `supabase/migrations/*.sql` as (file name, SQL), in file-name (= timestamp) order.
pub fn migrations() -> Vec<(String, String)> {
    sql_files("supabase/migrations")
}

/// Every `*.sql` in `dir` (relative to the repository root), sorted by file name.
fn sql_files(dir: &str) -> Vec<(String, String)> {
    let dir = repo_root().join(dir);
    let entries =
        fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    let mut files: Vec<(String, String)> = entries
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, read(&path))
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!files.is_empty(), "no SQL files in {}", dir.display());
    files
}

/// Every `supabase/schemas/*.sql` as (file name, SQL), in file-name order: the declarative
/// schema, one home per object (docs/development.md "Changing the schema").
pub fn schemas() -> Vec<(String, String)> {
    sql_files("supabase/schemas")
}

/// Runs one SQL file in one transaction, panicking with the file name and the server's
/// message, detail and position when it fails.
pub async fn apply(client: &mut tokio_postgres::Client, name: &str, sql: &str) {
    let tx = client
        .transaction()
        .await
        .unwrap_or_else(|e| panic!("{name}: begin: {e}"));
    if let Err(e) = tx.batch_execute(sql).await {
        let line = e
            .as_db_error()
            .and_then(|db| match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(pos)) => Some(*pos as usize),
                _ => None,
            })
            .map(|pos| {
                sql.chars()
                    .take(pos.saturating_sub(1))
                    .filter(|c| *c == '\n')
                    .count()
                    + 1
            });
        match line {
            Some(line) => panic!("{name}:{line}: {}", describe(&e)),
            None => panic!("{name} failed: {}", describe(&e)),
        }
    }
    tx.commit()
        .await
        .unwrap_or_else(|e| panic!("{name}: commit: {}", describe(&e)));
}

/// Runs `sql` in one transaction; a failure is rolled back and answered as the server's
/// message (with its detail and hint).
pub(crate) async fn try_apply(
    client: &mut tokio_postgres::Client,
    sql: &str,
) -> Result<(), String> {
    let tx = client.transaction().await.map_err(|e| describe(&e))?;
    if let Err(e) = tx.batch_execute(sql).await {
        let mut text = describe(&e);
        if let Some(hint) = e.as_db_error().and_then(|db| db.hint()) {
            text.push_str(&format!("; hint: {hint}"));
        }
        return Err(text);
    }
    tx.commit().await.map_err(|e| describe(&e))
}

/// A readable one-line description of a database error.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!("; detail: {detail}"));
            }
            if let Some(where_) = db.where_() {
                text.push_str(&format!("; where: {where_}"));
            }
            text
        }
        None => e.to_string(),
    }
}

/// 64-bit FNV-1a: a stable content hash (unlike std's hasher, the same on every toolchain).
pub(crate) fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter() {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separate parts, so ("ab", "c") and ("a", "bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
