//! The schema contract as the binary knows it.
//!
//! [`SCHEMA_VERSION`] is the migration that last changed supacron's schema; the database
//! answers its own with `supacron_schema_version()` (`supabase/schemas/00_helpers.sql`). A
//! migration that changes the schema rewrites both (docs/development.md "Changing the
//! schema"); `dev/testkit`-based tests fail while they differ.

/// The name of the latest migration this binary's SQL calls were written against.
pub const SCHEMA_VERSION: &str = "20261203232200_alert_incidents";
