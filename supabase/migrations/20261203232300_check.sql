-- 20261203232300_check.sql: what `supacron check` asks the database (issue #16 item 3).
--   supacron_exposure          new (99_security.sql): the privileges anon / authenticated hold
--                              on supacron's objects, which the service role cannot see as them
--   supacron_schema_version    now '20261203232300_check' (00_helpers.sql)
-- Written from `scripts/db.sh diff` (docs/development.md "Changing the schema").

create or replace function public.supacron_schema_version()
returns text
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select '20261203232300_check'::text;
$$;

-- For `supacron check` (src/check): which of the given relations and functions the client
-- roles may use. The check runs with the service role, which cannot look as anon; it passes
-- supacron's own tables, views and functions (and the patch queue), and every privilege
-- anon or authenticated holds on them is a finding. [{"object", "role", "privilege"}].
create or replace function public.supacron_exposure(p_relations text[], p_functions text[])
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(jsonb_build_object('object', x.object, 'role', x.role,
                                                 'privilege', x.privilege)
                              order by x.object, x.role, x.privilege), '[]'::jsonb)
    from (
        select r.name as object, g.role, p.privilege
        from unnest(p_relations) as r(name)
        cross join unnest(array['anon', 'authenticated']) as g(role)
        cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as p(privilege)
        where to_regclass(format('public.%I', r.name)) is not null
          and has_table_privilege(g.role, to_regclass(format('public.%I', r.name)), p.privilege)
        union all
        select f.proname::text, g.role, 'EXECUTE'
        from pg_proc f
        cross join unnest(array['anon', 'authenticated']) as g(role)
        where f.pronamespace = 'public'::regnamespace and f.proname = any(p_functions)
          and has_function_privilege(g.role, f.oid, 'EXECUTE')
    ) as x;
$$;

comment on function public.supacron_exposure(text[], text[]) is
    'For supacron check: the privileges anon and authenticated hold on the given objects.';

revoke all on function public.supacron_exposure(text[], text[]) from public, anon, authenticated;
grant execute on function public.supacron_exposure(text[], text[]) to service_role;
