//! What a database must hold for supacron to run on it: the schema version this binary was
//! built for ([`contract::SCHEMA_VERSION`]) and, per job, the tables, columns, RPC functions
//! and views it uses ([`contract`]), written down once in Rust for `supacron check`.
//! The SQL side is `supabase/schemas/` (`supacron_schema_version()`,
//! `supacron_app_contract()`); tests keep the two equal.

pub mod contract;
