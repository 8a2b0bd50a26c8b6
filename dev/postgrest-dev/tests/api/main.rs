//! Integration tests: postgrest-dev over real PostgreSQL, driven through plain HTTP (reqwest)
//! and through the `postgrest` crate. Every test gets its own database (see `helpers`).

mod auth;
mod bench;
mod client_crate;
mod errors;
mod features;
mod filters;
mod helpers;
mod openapi;
mod reads;
mod rpc;
mod schema_cache;
mod server;
mod startup;
mod supabase_js;
mod writes;
