-- dev/sql/bootstrap.sql: the Supabase API roles, for plain PostgreSQL only.
--
-- A Supabase project already has these roles; the migrations in supabase/migrations only
-- GRANT to them and never create them. On a plain PostgreSQL 15+ server (local development,
-- tests, CI) run this file once per cluster before the migrations:
--
--   anon           what PostgREST runs as for requests without a token (publishable key)
--   authenticated  what PostgREST runs as for a signed-in user's token
--   service_role   the backend's role (secret / service-role key); BYPASSRLS like on Supabase
--   authenticator  the LOGIN role PostgREST connects as; NOINHERIT, member of the three above,
--                  so it gets their rights only after SET ROLE (exactly like Supabase)
--
-- Roles are cluster-wide, so this file is idempotent and safe when several test processes run
-- it at the same time (advisory locks are per database and cannot serialise them):
--   * a role or membership is created only when missing;
--   * when two sessions race to create the same role or membership, the loser's
--     duplicate_object / unique_violation error is caught and ignored;
--   * an existing role is ALTERed only if an attribute differs, so the common case (everything
--     already there) writes nothing at all.
-- Like PostgREST on Supabase, the local dev server (dev/postgrest-dev, started by scripts/dev.sh,
-- the testkit and the benchmark) logs in as `authenticator` and switches role per request with
-- SET LOCAL ROLE. Run as a superuser, this file gives `authenticator` the local development
-- password `authenticator-local-dev` when it has none (a plain PostgreSQL for development only:
-- on Supabase the platform owns that role and its password; never run this file there).

do $bootstrap$
declare
    r record;
begin
    -- Each row: role name, whether it may log in, whether it bypasses RLS, whether it inherits.
    for r in
        select *
        from (values
            ('anon',          false, false, true),
            ('authenticated', false, false, true),
            ('service_role',  false, true,  true),
            ('authenticator', true,  false, false)
        ) as wanted(rolname, canlogin, bypassrls, inherit)
    loop
        if not exists (select 1 from pg_catalog.pg_roles where rolname = r.rolname) then
            begin
                execute format(
                    'create role %I %s %s %s',
                    r.rolname,
                    case when r.canlogin then 'login' else 'nologin' end,
                    case when r.bypassrls then 'bypassrls' else 'nobypassrls' end,
                    case when r.inherit then 'inherit' else 'noinherit' end
                );
                raise notice 'bootstrap: created role %', r.rolname;
            exception
                when duplicate_object or unique_violation then
                    -- Another session created it between our check and our CREATE: fine.
                    null;
            end;
        elsif exists (
            select 1
            from pg_catalog.pg_roles
            where rolname = r.rolname
              and (rolcanlogin, rolbypassrls, rolinherit)
                  is distinct from (r.canlogin, r.bypassrls, r.inherit)
        ) then
            execute format(
                'alter role %I %s %s %s',
                r.rolname,
                case when r.canlogin then 'login' else 'nologin' end,
                case when r.bypassrls then 'bypassrls' else 'nobypassrls' end,
                case when r.inherit then 'inherit' else 'noinherit' end
            );
            raise notice 'bootstrap: corrected attributes of role %', r.rolname;
        end if;
    end loop;

    -- authenticator may SET ROLE to each API role.
    for r in select unnest(array['anon', 'authenticated', 'service_role']) as granted loop
        if not pg_catalog.pg_has_role('authenticator', r.granted, 'member') then
            begin
                execute format('grant %I to authenticator', r.granted);
            exception
                when duplicate_object or unique_violation then
                    null;
            end;
        end if;
    end loop;

    -- The local development password, only when the role has none (pg_authid is readable by
    -- superusers only); a concurrent session setting it first is fine.
    if (select rolsuper from pg_catalog.pg_roles where rolname = current_user) then
        if exists (select 1 from pg_catalog.pg_authid
                   where rolname = 'authenticator' and rolpassword is null) then
            begin
                alter role authenticator password 'authenticator-local-dev';
                raise notice 'bootstrap: set the local development password of authenticator';
            exception
                when others then
                    null;
            end;
        end if;
    end if;
end
$bootstrap$;
