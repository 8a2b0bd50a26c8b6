-- The catalog of the public schema as (key, definition) rows: what dev/testkit/src/catalog.rs
-- compares between a database built from supabase/migrations and one from supabase/schemas.
-- Column order, comments and owners are left out (a later migration's added column comes last).
with
rels as (select c.oid, c.relname, c.relkind from pg_class c where c.relnamespace = 'public'::regnamespace),
objects(key, def) as (
    select 'relation ' || r.relname, 'kind ' || r.relkind::text || ' rls ' || c.relrowsecurity || ' force ' || c.relforcerowsecurity
           || coalesce(' options ' || array_to_string(c.reloptions, ','), '')
    from rels r join pg_class c on c.oid = r.oid where r.relkind in ('r', 'v', 'S', 'p', 'm')
    union all
    select 'column ' || r.relname || '.' || a.attname,
           format_type(a.atttypid, a.atttypmod) || case when a.attnotnull then ' not null' else '' end
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
           || case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end
           || case when a.attgenerated <> '' then ' generated' else '' end
    from rels r join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where r.relkind in ('r', 'v')
    union all
    select 'constraint ' || r.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
    from pg_constraint con join rels r on r.oid = con.conrelid
    union all
    select 'index ' || i.relname, pg_get_indexdef(i.oid)
    from pg_index x join pg_class i on i.oid = x.indexrelid join rels r on r.oid = x.indrelid
    union all
    select 'trigger ' || r.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
    from pg_trigger t join rels r on r.oid = t.tgrelid where not t.tgisinternal
    union all
    select 'view ' || r.relname, pg_get_viewdef(r.oid) from rels r where r.relkind = 'v'
    union all
    select 'policy ' || r.relname || '.' || p.polname, pg_get_expr(p.polqual, p.polrelid) || ' / ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
    from pg_policy p join rels r on r.oid = p.polrelid
    union all
    select 'function ' || p.oid::regprocedure::text,
           'args ' || pg_get_function_arguments(p.oid) || ' returns ' || pg_get_function_result(p.oid)
           || ' language ' || l.lanname || ' volatility ' || p.provolatile::text || ' strict ' || p.proisstrict
           || ' security_definer ' || p.prosecdef || ' config ' || coalesce(array_to_string(p.proconfig, ','), '')
           || E'\nbody ' || p.prosrc
    from pg_proc p join pg_language l on l.oid = p.prolang where p.pronamespace = 'public'::regnamespace
    union all
    select 'grant ' || r.relname || ' to ' || coalesce(g.rolname, 'PUBLIC'),
           string_agg(a.privilege_type, ',' order by a.privilege_type)
    from rels r join pg_class c on c.oid = r.oid, aclexplode(c.relacl) a left join pg_roles g on g.oid = a.grantee
    group by r.relname, g.rolname
    union all
    select 'grant ' || p.oid::regprocedure::text || ' to ' || coalesce(g.rolname, 'PUBLIC'),
           string_agg(a.privilege_type, ',' order by a.privilege_type)
    from pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a left join pg_roles g on g.oid = a.grantee
    where p.pronamespace = 'public'::regnamespace
    group by p.oid, g.rolname
)
select key, def from objects order by key
