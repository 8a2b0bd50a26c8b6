//! The binary and the schema agree on the schema version: `SCHEMA_VERSION` equals what
//! `supacron_schema_version()` answers on a database built from `supabase/migrations` (and
//! the catalog test keeps `supabase/schemas` equal to that).

use supacron::check::contract::SCHEMA_VERSION;
use testkit::TestDb;

#[tokio::test]
async fn the_binary_expects_the_schema_version_the_migrations_install() {
    let db = TestDb::new().await;
    let installed: String = db
        .client
        .query_one("select public.supacron_schema_version()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        installed, SCHEMA_VERSION,
        "a migration changed supacron_schema_version(): set SCHEMA_VERSION in src/check/contract.rs to it"
    );
    let latest = testkit::migrations().last().unwrap().0.clone();
    assert_eq!(
        format!("{SCHEMA_VERSION}.sql"),
        latest,
        "the latest migration must set supacron_schema_version() to its own name"
    );
}
