//! One home per object: a database built from `supabase/migrations` and one built from
//! `supabase/schemas` have the same catalog (tables, columns, constraints, indexes, triggers,
//! functions with their bodies, views, policies, grants, RLS flags), and a drifted copy of the
//! schemas is caught, naming the object.

use std::collections::BTreeMap;

use testkit::TestDb;
use testkit::catalog::{catalog, drift};

async fn from_migrations() -> BTreeMap<String, String> {
    let mut db = TestDb::empty().await;
    db.bootstrap().await;
    db.migrate().await;
    catalog(&db.client).await
}

/// A database from the schema files, each given as (name, SQL).
async fn from_schema_files(files: &[(String, String)]) -> BTreeMap<String, String> {
    let mut db = TestDb::empty().await;
    db.bootstrap().await;
    for (name, text) in files {
        db.apply(name, text).await;
    }
    catalog(&db.client).await
}

#[tokio::test]
async fn migrations_and_schemas_build_the_same_catalog() {
    let migrations = from_migrations().await;
    let schemas = from_schema_files(&testkit::schemas()).await;
    let lines = drift(
        "supabase/schemas",
        &schemas,
        "supabase/migrations",
        &migrations,
    );
    assert!(
        lines.is_empty(),
        "supabase/migrations and supabase/schemas disagree (write the change in schemas/ and \
         a migration from the diff, docs/development.md):\n{}",
        lines.join("\n")
    );
    // The comparison sees what it claims to see.
    for key in [
        "relation patch_jobs",
        "column patch_jobs.lease_owner",
        "constraint cron_runs.cron_runs_run_id_key",
        "index patch_jobs_due_idx",
        "trigger items.items_bump_status_changed_at",
        "view queue_health",
        "function claim_patch_batch(text,integer,integer,timestamp with time zone)",
        "grant cron_runs to service_role",
    ] {
        assert!(schemas.contains_key(key), "the catalog has no {key}");
    }
    assert!(
        schemas["relation cron_runs"].contains("rls true"),
        "{}",
        schemas["relation cron_runs"]
    );
}

#[tokio::test]
async fn a_drifted_copy_of_the_schemas_fails_naming_each_object() {
    let migrations = from_migrations().await;
    let drifted: Vec<(String, String)> = testkit::schemas()
        .into_iter()
        .map(|(name, text)| {
            let text = text
                // A function body changed in schemas/ without a migration (whatever the
                // current version is).
                .replace("    select '2026", "    select 'drifted-2026")
                // An index dropped, a grant added.
                .replace(
                    "create index if not exists patch_jobs_due_idx",
                    "create index if not exists patch_jobs_due_idx_renamed",
                )
                .replace(
                    "grant select on table public.queue_health, public.cron_run_summary to service_role;",
                    "grant select on table public.queue_health, public.cron_run_summary to service_role, authenticated;",
                );
            (name, text)
        })
        .collect();
    let schemas = from_schema_files(&drifted).await;
    let lines = drift(
        "supabase/schemas",
        &schemas,
        "supabase/migrations",
        &migrations,
    );
    let named = |key: &str| lines.iter().any(|l| l.starts_with(key));
    assert!(
        named("function supacron_schema_version(): differs"),
        "{lines:#?}"
    );
    assert!(
        named("index patch_jobs_due_idx: in supabase/migrations, missing from supabase/schemas"),
        "{lines:#?}"
    );
    assert!(
        named("index patch_jobs_due_idx_renamed: in supabase/schemas, missing"),
        "{lines:#?}"
    );
    assert!(
        named("grant queue_health to authenticated: in supabase/schemas")
            && named("grant cron_run_summary to authenticated: in supabase/schemas"),
        "{lines:#?}"
    );
    assert_eq!(lines.len(), 5, "{lines:#?}");
}

#[tokio::test]
async fn the_baseline_applied_twice_changes_nothing() {
    let mut db = TestDb::empty().await;
    db.bootstrap().await;
    db.migrate().await;
    let once = catalog(&db.client).await;
    db.migrate().await;
    let twice = catalog(&db.client).await;
    let lines = drift("applied once", &once, "applied twice", &twice);
    assert!(lines.is_empty(), "{}", lines.join("\n"));
}
