-- 20261122000100_helpers.sql: small trigger functions shared by every later migration.
--
-- Conventions for all supacron migrations:
--   * timestamped file names, forward-only (never edit a migration that has shipped: add one);
--   * objects are schema-qualified (public.*), so the migration does not depend on search_path;
--   * every table has RLS enabled and explicit grants to service_role only
--     (see 20261122000600_security.sql); every function sets `search_path = public, pg_temp`
--     and is executable by service_role only;
--   * only core PostgreSQL 15+ features (gen_random_uuid() is core since 13): the same files run
--     on Supabase and on a plain server bootstrapped with dev/sql/bootstrap.sql.

-- Keeps updated_at honest without every writer remembering to set it. Used as a
-- BEFORE UPDATE trigger on every table with an updated_at column.
create function public.set_updated_at()
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
