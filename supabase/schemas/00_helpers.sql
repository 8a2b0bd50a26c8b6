-- supabase/schemas/00_helpers.sql: what every other schema file uses.
--   set_updated_at            BEFORE UPDATE trigger keeping updated_at honest
--   supacron_schema_version   the version of this schema, for `supacron check`
--
-- Conventions for every file in supabase/schemas (docs/development.md "Changing the schema"):
--   * one home per object: each table, column, index, trigger, function, view and grant is
--     written once, in its current form, in the file of its concern (docs/architecture.md
--     "Where the SQL lives"); supabase/migrations holds the history that reaches it;
--   * objects are schema-qualified (public.*), so nothing depends on search_path;
--   * every function sets `search_path = public, pg_temp` and is executable by service_role
--     only (99_security.sql); supacron never changes default privileges;
--   * only core PostgreSQL 15+ features: the same files run on Supabase and on a plain server
--     bootstrapped with dev/sql/bootstrap.sql.

-- Keeps updated_at honest without every writer remembering to set it. Used as a
-- BEFORE UPDATE trigger on every table with an updated_at column.
create or replace function public.set_updated_at()
returns trigger
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

comment on function public.set_updated_at() is
    'BEFORE UPDATE trigger: sets updated_at to now() (the transaction time).';

-- The schema version this database holds: the name of the latest migration that changed
-- supacron's schema. Every migration that changes anything rewrites this function (the
-- catalog test compares it with supabase/schemas), and the binary says which version it
-- expects (src/check/contract.rs, SCHEMA_VERSION), so `supacron check` can tell them apart.
create or replace function public.supacron_schema_version()
returns text
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select '20261204012000_run_deadline_wording'::text;
$$;

comment on function public.supacron_schema_version() is
    'The migration that last changed supacron''s schema (compared by supacron check).';
