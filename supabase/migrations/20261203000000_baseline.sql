-- 20261203000000_baseline.sql: supacron's whole schema, equal to supabase/schemas/*.sql.
--
-- Written as the concatenation of supabase/schemas/ in file-name order (nothing had been
-- deployed from the earlier migrations, so they were folded into this one). From here on a
-- change is made in supabase/schemas first and its migration is written from the diff
-- (docs/development.md "Changing the schema"); dev/testkit's catalog test builds one database
-- from supabase/migrations and one from supabase/schemas and fails on any difference.
--
-- It installs next to an app's existing tables (10_app_contract.sql): it stops with a message
-- naming what is incompatible before writing anything, creates what is missing, adds only the
-- columns, keys, indexes and triggers the jobs need, and applied twice changes nothing.

-- ============================================================================================
-- supabase/schemas/00_helpers.sql
-- ============================================================================================

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
    select '20261203000000_baseline'::text;
$$;

comment on function public.supacron_schema_version() is
    'The migration that last changed supacron''s schema (compared by supacron check).';

-- ============================================================================================
-- supabase/schemas/10_app_contract.sql
-- ============================================================================================

-- supabase/schemas/10_app_contract.sql: the app's tables that supacron's jobs read and write
-- (seed 000's chat app, seed 002's training app), and how supacron installs next to them.
--
-- These tables are the app's, not supacron's (docs/app-contract.md lists, per job, every table,
-- column, type and what the job writes). The install is additive:
--   1. supacron_app_contract() is the contract as data: every column a job reads or writes,
--      the types it can use, and, for the columns supacron keeps for itself, the definition it
--      adds when the column is absent.
--   2. The check (first DO block) looks at every app table that already exists: a column of
--      the wrong type, a column the app must have that is missing, a NOT NULL column without a
--      default in a table the jobs insert into, or a privilege the service role lacks stops the
--      install with one message naming each table, column, what it found and what it needs.
--      It raises before anything is written, so the migration changes nothing.
--   3. A table that is missing is created (`create table if not exists`: the app's columns the
--      jobs need, plus what a new project would want).
--   4. Columns supacron keeps are added where absent (`add column if not exists`), then the
--      unique keys, indexes and triggers the jobs rely on, each only where absent.
--   5. Only the tables created by this install get supacron's security (RLS on, no grant to
--      anon / authenticated, service_role's grants), its updated_at triggers and its stricter
--      constraints. A table that existed keeps its columns, data, defaults, policies, grants
--      and triggers: nothing of the app's is altered, revoked or dropped.
-- Applying it a second time changes nothing.

-- 1. The contract. `types` are pg_type names the jobs can use; `added` is null for a column
-- the app itself must have (supacron cannot invent its values), else the definition supacron
-- adds when it is absent. Kept equal to src/check/contract.rs by a test.
create or replace function public.supacron_app_contract()
returns table (table_name text, column_name text, types text[], added text, jobs text, purpose text)
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select * from (values
        ('characters', 'id', '{uuid}'::text[], null::text, 'patch memory schedule', 'the character'),
        ('characters', 'name', '{text,varchar}', null, 'memory schedule', 'named in the prompt'),
        ('characters', 'persona', '{text,varchar}', $d$text not null default ''$d$, 'memory schedule', 'the prompt''s persona'),
        ('conversations', 'id', '{uuid}', null, 'patch memory', 'the conversation'),
        ('conversations', 'character_id', '{uuid}', null, 'patch memory', 'its character'),
        ('conversations', 'memory_cursor', '{int8,int4}', 'bigint not null default 0 check (memory_cursor >= 0)', 'memory', 'the last message summarised'),
        ('conversations', 'memory_attempts', '{int4,int8}', 'integer not null default 0 check (memory_attempts >= 0)', 'memory', 'failed summaries in a row'),
        ('conversations', 'memory_last_error', '{text,varchar}', 'text', 'memory', 'why the last summary failed'),
        ('conversations', 'memory_retry_after', '{timestamptz}', 'timestamptz', 'memory', 'backoff after a failed summary'),
        ('messages', 'id', '{int8,int4}', null, 'memory', 'the reading order'),
        ('messages', 'conversation_id', '{uuid}', null, 'memory', 'its conversation'),
        ('messages', 'role', '{text,varchar}', null, 'memory', 'the speaker'),
        ('messages', 'content', '{text,varchar}', null, 'memory', 'what is summarised'),
        ('messages', 'created_at', '{timestamptz}', 'timestamptz not null default now()', 'memory', 'how long a message has waited'),
        ('conversation_states', 'conversation_id', '{uuid}', null, 'patch', 'the state row''s conversation'),
        ('conversation_states', 'state', '{jsonb}', $d$jsonb not null default '{}' check (jsonb_typeof(state) = 'object')$d$, 'patch', 'the patched document'),
        ('conversation_states', 'run_state', '{jsonb}', $d$jsonb not null default '{}' check (jsonb_typeof(run_state) = 'object')$d$, 'patch', 'the applied-jobs ledger'),
        ('conversation_states', 'version', '{int8,int4}', 'bigint not null default 0 check (version >= 0)', 'patch', 'compare-and-swap on every write'),
        ('character_states', 'character_id', '{uuid}', null, 'patch', 'the state row''s character'),
        ('character_states', 'state', '{jsonb}', $d$jsonb not null default '{}' check (jsonb_typeof(state) = 'object')$d$, 'patch', 'the patched document'),
        ('character_states', 'run_state', '{jsonb}', $d$jsonb not null default '{}' check (jsonb_typeof(run_state) = 'object')$d$, 'patch', 'the applied-jobs ledger'),
        ('character_states', 'version', '{int8,int4}', 'bigint not null default 0 check (version >= 0)', 'patch', 'compare-and-swap on every write'),
        ('patch_jobs', 'id', '{int8,int4}', null, 'patch', 'the job'),
        ('patch_jobs', 'conversation_id', '{uuid}', null, 'patch', 'the conversation it patches'),
        ('patch_jobs', 'patch', '{jsonb}', null, 'patch', 'the patch document'),
        ('patch_jobs', 'character_id', '{uuid}', 'uuid references public.characters (id) on delete cascade', 'patch', 'the character it patches'),
        ('patch_jobs', 'status', '{text,varchar}', $d$text not null default 'pending' check (status in ('pending', 'processing', 'done', 'failed', 'dead'))$d$, 'patch', 'pending, processing, done, failed or dead'),
        ('patch_jobs', 'attempts', '{int4,int8}', 'integer not null default 0 check (attempts >= 0)', 'patch', 'claims so far'),
        ('patch_jobs', 'max_attempts', '{int4,int8}', 'integer not null default 25 check (max_attempts > 0)', 'patch', 'when the job is given up'),
        ('patch_jobs', 'error_kind', '{text,varchar}', $d$text check (error_kind in ('conflict', 'retryable', 'permanent', 'timeout'))$d$, 'patch', 'the class of the last error'),
        ('patch_jobs', 'last_error', '{text,varchar}', 'text', 'patch', 'the last error'),
        ('patch_jobs', 'run_after', '{timestamptz}', 'timestamptz not null default now()', 'patch', 'backoff'),
        ('patch_jobs', 'lease_owner', '{text,varchar}', 'text', 'patch', 'the run that holds the job'),
        ('patch_jobs', 'lease_until', '{timestamptz}', 'timestamptz', 'patch', 'until when'),
        ('patch_jobs', 'idempotency_key', '{text,varchar}', 'text', 'patch', 'a producer cannot enqueue twice'),
        ('patch_jobs', 'created_at', '{timestamptz}', 'timestamptz not null default now()', 'console', 'when it was queued'),
        ('patch_jobs', 'updated_at', '{timestamptz}', 'timestamptz not null default now()', 'console', 'when it last changed'),
        ('patch_jobs', 'finished_at', '{timestamptz}', 'timestamptz', 'patch', 'when it became done or dead'),
        ('memories', 'conversation_id', '{uuid}', null, 'memory', 'the summarised conversation'),
        ('memories', 'summary', '{text,varchar}', null, 'memory schedule', 'the summary'),
        ('memories', 'character_id', '{uuid}', 'uuid references public.characters (id) on delete cascade', 'memory schedule', 'whose memory it is'),
        ('memories', 'from_message_id', '{int8,int4}', 'bigint', 'memory', 'first message summarised'),
        ('memories', 'to_message_id', '{int8,int4}', 'bigint', 'memory', 'last message summarised'),
        ('memories', 'facts', '{jsonb}', $d$jsonb not null default '[]' check (jsonb_typeof(facts) = 'array')$d$, 'memory', 'facts the model extracted'),
        ('memories', 'model', '{text,varchar}', 'text', 'memory', 'the model that wrote it'),
        ('memories', 'prompt_tokens', '{int4,int8}', 'integer check (prompt_tokens >= 0)', 'memory', 'usage'),
        ('memories', 'completion_tokens', '{int4,int8}', 'integer check (completion_tokens >= 0)', 'memory', 'usage'),
        ('memories', 'created_at', '{timestamptz}', 'timestamptz not null default now()', 'schedule', 'the latest memories go into a post'),
        ('character_schedules', 'id', '{uuid}', null, 'schedule', 'the schedule'),
        ('character_schedules', 'character_id', '{uuid}', null, 'schedule', 'whose schedule'),
        ('character_schedules', 'kind', '{text,varchar}', null, 'schedule', 'post or diary'),
        ('character_schedules', 'cron_expr', '{text,varchar}', null, 'schedule', '5-field cron expression'),
        ('character_schedules', 'timezone', '{text,varchar}', $d$text not null default 'UTC' check (btrim(timezone) <> '')$d$, 'schedule', 'the zone cron_expr is read in'),
        ('character_schedules', 'prompt', '{text,varchar}', $d$text not null default ''$d$, 'schedule', 'what to write about'),
        ('character_schedules', 'enabled', '{bool}', 'boolean not null default true', 'schedule', 'off = never fired'),
        ('character_schedules', 'catch_up', '{text,varchar}', $d$text not null default 'latest' check (catch_up in ('latest', 'skip', 'all'))$d$, 'schedule', 'what to do with missed slots'),
        ('character_schedules', 'catch_up_window', '{interval}', $d$interval not null default '24 hours' check (catch_up_window > interval '0')$d$, 'schedule', 'older slots are never fired'),
        ('character_schedules', 'next_run_at', '{timestamptz}', 'timestamptz', 'schedule', 'the next slot'),
        ('character_schedules', 'last_run_at', '{timestamptz}', 'timestamptz', 'schedule', 'the last firing'),
        ('character_schedules', 'last_error', '{text,varchar}', 'text', 'schedule', 'why the row cannot be used'),
        ('character_schedules', 'created_at', '{timestamptz}', 'timestamptz not null default now()', 'schedule', 'how long a new row has waited'),
        ('character_posts', 'character_id', '{uuid}', null, 'schedule', 'whose post'),
        ('character_posts', 'content', '{text,varchar}', null, 'schedule', 'the generated text'),
        ('character_posts', 'schedule_id', '{uuid}', 'uuid references public.character_schedules (id) on delete set null', 'schedule', 'the schedule that fired'),
        ('character_posts', 'tick_id', '{int8}', 'bigint', 'schedule', 'one post per fired slot'),
        ('character_posts', 'kind', '{text,varchar}', $d$text check (kind in ('post', 'diary'))$d$, 'schedule', 'post or diary'),
        ('character_posts', 'model', '{text,varchar}', 'text', 'schedule', 'the model that wrote it'),
        ('character_posts', 'prompt_tokens', '{int4,int8}', 'integer check (prompt_tokens >= 0)', 'schedule', 'usage'),
        ('character_posts', 'completion_tokens', '{int4,int8}', 'integer check (completion_tokens >= 0)', 'schedule', 'usage'),
        ('character_posts', 'created_at', '{timestamptz}', 'timestamptz not null default now()', 'schedule', 'when it was written'),
        ('items', 'id', '{uuid}', null, 'outcomes', 'the item'),
        ('items', 'status', '{text,varchar}', null, 'outcomes', 'DONE and COLD_STORAGE are terminal'),
        ('items', 'status_changed_at', '{timestamptz}', null, 'outcomes', 'when the terminal status was reached'),
        ('decisions', 'id', '{uuid}', null, 'outcomes rewards', 'the decision'),
        ('decisions', 'item_id', '{uuid}', null, 'outcomes', 'the item decided on'),
        ('decisions', 'action', '{text,varchar}', null, 'rewards', 'what the policy recommended'),
        ('decisions', 'decided_at', '{timestamptz}', null, 'outcomes rewards', 'when the decision was made'),
        ('decisions', 'confidence', '{float8,float4,numeric}', 'double precision check (confidence >= 0 and confidence <= 1)', 'rewards', 'the policy''s confidence'),
        ('decisions', 'reward', '{float8,float4,numeric}', 'double precision', 'rewards', 'the computed reward'),
        ('decisions', 'reward_details', '{jsonb}', 'jsonb', 'rewards', 'how it was computed'),
        ('decisions', 'reward_version', '{int4,int8}', 'integer', 'rewards', 'the reward function''s version'),
        ('decisions', 'reward_computed_at', '{timestamptz}', 'timestamptz', 'rewards', 'when'),
        ('decisions', 'last_error', '{text,varchar}', 'text', 'outcomes rewards', 'why the row was refused'),
        ('decisions', 'updated_at', '{timestamptz}', 'timestamptz not null default now()', 'console', 'when it last changed'),
        ('outcomes', 'decision_id', '{uuid}', null, 'outcomes rewards', 'one outcome per decision'),
        ('outcomes', 'item_id', '{uuid}', 'uuid references public.items (id) on delete cascade', 'outcomes', 'the item'),
        ('outcomes', 'terminal_status', '{text,varchar}', $d$text check (terminal_status in ('DONE', 'COLD_STORAGE'))$d$, 'outcomes rewards', 'DONE or COLD_STORAGE'),
        ('outcomes', 'reached_at', '{timestamptz}', 'timestamptz', 'outcomes rewards', 'when the item reached it'),
        ('outcomes', 'resolution_seconds', '{float8,float4,numeric}', 'double precision', 'outcomes rewards', 'reached_at - decided_at'),
        ('outcomes', 'created_at', '{timestamptz}', 'timestamptz not null default now()', 'rewards', 'how long a reward has waited')
    ) as c(table_name, column_name, types, added, jobs, purpose);
$$;

comment on function public.supacron_app_contract() is
    'Every app-table column supacron''s jobs read or write: types they can use, what supacron adds if absent.';

-- 2. The check, before anything is written. It also records which app tables this install
-- creates (supacron.install_new_tables, for step 5).
do $check$
declare
    c record;
    v_problems text[] := '{}';
    v_found text;
    v_new text[] := '{}';
    t text;
    p text;
begin
    foreach t in array array['characters', 'conversations', 'messages', 'conversation_states',
                             'character_states', 'patch_jobs', 'memories', 'character_schedules',
                             'character_posts', 'items', 'decisions', 'outcomes'] loop
        if to_regclass(format('public.%I', t)) is null then
            v_new := v_new || t;
        end if;
    end loop;
    perform set_config('supacron.install_new_tables', array_to_string(v_new, ','), false);

    -- Columns: the right type, or absent and added by supacron.
    for c in select * from public.supacron_app_contract() k
             where to_regclass(format('public.%I', k.table_name)) is not null loop
        select ty.typname into v_found
        from pg_attribute a join pg_type ty on ty.oid = a.atttypid
        where a.attrelid = format('public.%I', c.table_name)::regclass
          and a.attname = c.column_name and a.attnum > 0 and not a.attisdropped;
        if v_found is null and c.added is null then
            v_problems := v_problems || format(
                '%s.%s: found no such column, needs %s (%s; used by the %s job): add the column, then apply the migration again',
                c.table_name, c.column_name, array_to_string(c.types, ' or '), c.purpose, c.jobs);
        elsif v_found is not null and not v_found = any(c.types) then
            v_problems := v_problems || format(
                '%s.%s: found %s, needs %s (%s; used by the %s job): change the column''s type, then apply the migration again',
                c.table_name, c.column_name, v_found, array_to_string(c.types, ' or '), c.purpose, c.jobs);
        end if;
    end loop;

    -- Tables the jobs insert into: an app column they do not know must not block the insert.
    for c in select cl.relname::text as table_name, a.attname::text as column_name
             from pg_class cl
             join pg_attribute a on a.attrelid = cl.oid and a.attnum > 0 and not a.attisdropped
             where cl.relnamespace = 'public'::regnamespace
               and cl.relname in ('conversation_states', 'character_states', 'patch_jobs',
                                  'memories', 'character_posts', 'outcomes')
               and a.attnotnull and not a.atthasdef and a.attidentity = '' and a.attgenerated = ''
               and not exists (select 1 from public.supacron_app_contract() k
                               where k.table_name = cl.relname and k.column_name = a.attname)
             order by 1, 2 loop
        v_problems := v_problems || format(
            '%s.%s: found NOT NULL without a default, needs a default or NULL allowed (supacron inserts rows into %s without it): give it a default, then apply the migration again',
            c.table_name, c.column_name, c.table_name);
    end loop;

    -- An app CHECK on a column the jobs write must accept every value they write.
    for c in select con.conname::text as constraint_name, cl.relname::text as table_name,
                    a.attname::text as column_name, format_type(a.atttypid, a.atttypmod) as type,
                    pg_get_expr(con.conbin, con.conrelid) as expr, w.written
             from (values
                 ('patch_jobs', 'status', '{pending,processing,done,failed,dead}'::text[]),
                 ('patch_jobs', 'error_kind', '{conflict,retryable,permanent,timeout}'),
                 ('character_posts', 'kind', '{post,diary}'),
                 ('outcomes', 'terminal_status', '{DONE,COLD_STORAGE}')
             ) as w(table_name, column_name, written)
             join pg_class cl on cl.relnamespace = 'public'::regnamespace and cl.relname = w.table_name
             join pg_attribute a on a.attrelid = cl.oid and a.attname = w.column_name
             join pg_constraint con on con.conrelid = cl.oid and con.contype = 'c'
                                   and con.conkey = array[a.attnum] loop
        foreach p in array c.written loop
            execute format('select coalesce((%s), true) from (select %L::%s as %I) as t',
                           c.expr, p, c.type, c.column_name) into v_found;
            if not v_found::boolean then
                v_problems := v_problems || format(
                    '%s.%s: found CHECK %s, which refuses %L; needs it to allow %s (the jobs write them): widen the constraint, then apply the migration again',
                    c.table_name, c.column_name, c.constraint_name, p, array_to_string(c.written, ', '));
            end if;
        end loop;
    end loop;

    -- The service role runs the jobs: it needs these privileges on the app's tables.
    for c in select * from (values
                 ('characters', 'select'), ('conversations', 'select,update'), ('messages', 'select'),
                 ('conversation_states', 'select,insert,update'), ('character_states', 'select,insert,update'),
                 ('patch_jobs', 'select,insert,update'), ('memories', 'select,insert'),
                 ('character_schedules', 'select,update'), ('character_posts', 'select,insert'),
                 ('items', 'select'), ('decisions', 'select,update'), ('outcomes', 'select,insert')
             ) as g(table_name, privileges)
             where to_regclass(format('public.%I', g.table_name)) is not null loop
        foreach p in array string_to_array(c.privileges, ',') loop
            if not has_table_privilege('service_role', format('public.%I', c.table_name), p) then
                v_problems := v_problems || format(
                    '%s: found no %s privilege for service_role, needs it (the jobs run as service_role): grant %s on public.%s to service_role, then apply the migration again',
                    c.table_name, upper(p), p, c.table_name);
            end if;
        end loop;
    end loop;

    if cardinality(v_problems) > 0 then
        raise exception 'supacron cannot be installed next to these app tables; nothing was changed:%',
            E'\n  ' || array_to_string(v_problems, E'\n  ')
            using errcode = 'P0001',
                  hint = 'docs/app-contract.md lists every column each job needs and its type.';
    end if;
end;
$check$;

-- 3. The app's tables, created only where missing. `timezone` is an IANA name; PostgreSQL
-- cannot validate it in a CHECK, so the jobs report a bad value on the row that carries it.
create table if not exists public.characters (
    id          uuid primary key default gen_random_uuid(),
    name        text not null check (btrim(name) <> ''),
    timezone    text not null default 'UTC' check (btrim(timezone) <> ''),
    created_at  timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- One chat between a user and a character.
create table if not exists public.conversations (
    id            uuid primary key default gen_random_uuid(),
    character_id  uuid not null references public.characters (id) on delete cascade,
    user_id       uuid,
    title         text,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

-- The chat log. Ids grow with insertion, so (conversation_id, id) is the reading order and the
-- memory job's range scan "messages after the cursor".
create table if not exists public.messages (
    id               bigint generated by default as identity primary key,
    conversation_id  uuid not null references public.conversations (id) on delete cascade,
    role             text not null check (role in ('user', 'assistant', 'system')),
    content          text not null
);

-- Per-conversation state written by the patch pipeline with a compare-and-swap on `version`:
-- state is the app's JSON object (mood, topics, ...), run_state the pipeline's bookkeeping
-- (run_state.applied_patch_job_ids is the idempotency ledger of the row).
create table if not exists public.conversation_states (
    conversation_id  uuid primary key references public.conversations (id) on delete cascade,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);

-- Per-character state, same shape and protocol as conversation_states.
create table if not exists public.character_states (
    character_id  uuid primary key references public.characters (id) on delete cascade,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now()
);

-- A queued patch to a conversation's (and optionally its character's) state.
-- Lifecycle (only the functions of 30_patch_queue.sql move jobs):
--   pending    --claim-->     processing (lease_owner/lease_until set, attempts + 1)
--   processing --applied-->   done   (finished_at set)
--   processing --conflict / retryable error--> failed (run_after = backoff, lease cleared)
--   failed     --claim-->     processing
--   processing --lease expired--> reclaimed by a later claim like a due job
--   any non-final --permanent error, or attempts >= max_attempts--> dead (finished_at set)
-- done and dead are final. `patch` is {"conversation": P, "character": P}, each P an RFC 7396
-- merge patch (object) or an RFC 6902 JSON Patch (array); a malformed inner part is stored and
-- later marked dead with a readable last_error.
create table if not exists public.patch_jobs (
    id               bigint generated by default as identity primary key,
    conversation_id  uuid not null references public.conversations (id) on delete cascade,
    patch            jsonb not null check (jsonb_typeof(patch) = 'object')
);

-- A summary of the messages from_message_id..to_message_id (inclusive) of one conversation.
-- Unique (conversation_id, from_message_id): a repeated memory run is harmless.
create table if not exists public.memories (
    id               bigint generated by default as identity primary key,
    conversation_id  uuid not null references public.conversations (id) on delete cascade,
    summary          text not null
);

-- A recurring post or diary entry of a character. cron_expr is a 5-field cron expression read in
-- `timezone`; both are validated in Rust, which also computes next_run_at (NULL = not computed
-- yet) and records a readable last_error on a row it cannot use.
--   catch_up         latest = fire the newest missed slot once, record the others as skipped;
--                    skip = fire none of them; all = fire each one
--   catch_up_window  slots older than this are never fired, whatever the policy
create table if not exists public.character_schedules (
    id            uuid primary key default gen_random_uuid(),
    character_id  uuid not null references public.characters (id) on delete cascade,
    kind          text not null check (kind in ('post', 'diary')),
    cron_expr     text not null check (btrim(cron_expr) <> ''),
    updated_at    timestamptz not null default now()
);

-- Generated content, at most one per fired slot (unique tick_id). A post outlives its schedule
-- and tick (ON DELETE SET NULL); NULL tick_id also allows posts made outside schedules.
create table if not exists public.character_posts (
    id            bigint generated by default as identity primary key,
    character_id  uuid not null references public.characters (id) on delete cascade,
    content       text not null
);

-- Triaged items (seed 002); DONE and COLD_STORAGE are terminal. status_changed_at is when the
-- status last changed, maintained by a trigger unless the UPDATE sets it explicitly.
create table if not exists public.items (
    id                 uuid primary key default gen_random_uuid(),
    title              text not null,
    status             text not null default 'INBOX'
                       check (status in ('INBOX', 'ACTIVE', 'WAITING', 'DONE', 'COLD_STORAGE')),
    status_changed_at  timestamptz not null default now(),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);

-- One recommendation of the policy. `action` is free text on purpose (policies evolve); the
-- reward function rates unknown actions and records why in last_error. reward, reward_details,
-- reward_version and reward_computed_at are written once, together, by the reward job.
create table if not exists public.decisions (
    id              uuid primary key default gen_random_uuid(),
    item_id         uuid not null references public.items (id) on delete cascade,
    action          text not null check (btrim(action) <> ''),
    policy_version  text,
    context         jsonb not null default '{}' check (jsonb_typeof(context) = 'object'),
    decided_at      timestamptz not null default now(),
    created_at      timestamptz not null default now()
);

-- What became of a decision's item, recorded once per decision. resolution_seconds is
-- reached_at - decided_at.
create table if not exists public.outcomes (
    id           bigint generated by default as identity primary key,
    decision_id  uuid not null references public.decisions (id) on delete cascade
);

-- 4. The columns supacron keeps, added where absent (in the contract's order).
do $columns$
declare
    c record;
begin
    for c in select * from public.supacron_app_contract() k where k.added is not null loop
        execute format('alter table public.%I add column if not exists %I %s',
                       c.table_name, c.column_name, c.added);
    end loop;
end;
$columns$;

-- Unique keys the jobs' ON CONFLICT clauses and state triggers rely on: created unless the
-- table already has a unique index on exactly these columns (its primary key, say).
do $unique$
declare
    u record;
begin
    for u in select * from (values
                 ('conversation_states', '{conversation_id}'::text[], 'conversation_states_conversation_id_key'),
                 ('character_states', '{character_id}', 'character_states_character_id_key'),
                 ('patch_jobs', '{idempotency_key}', 'patch_jobs_idempotency_key_key'),
                 ('memories', '{conversation_id,from_message_id}', 'memories_conversation_from_key'),
                 ('character_posts', '{tick_id}', 'character_posts_tick_id_key'),
                 ('outcomes', '{decision_id}', 'outcomes_decision_id_key')
             ) as v(table_name, columns, index_name) loop
        if not exists (
            select 1 from pg_index i
            where i.indrelid = format('public.%I', u.table_name)::regclass
              and i.indisunique and i.indpred is null and i.indexprs is null
              and array(select a.attname::text
                        from unnest(i.indkey::int2[]) with ordinality k(attnum, n)
                        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                        order by k.n) = u.columns) then
            execute format('create unique index %I on public.%I (%s)', u.index_name, u.table_name,
                           (select string_agg(quote_ident(col), ', ') from unnest(u.columns) col));
        end if;
    end loop;
end;
$unique$;

-- Indexes the jobs' queries use.
create index if not exists conversations_character_id_idx on public.conversations (character_id);
create index if not exists messages_conversation_id_id_idx on public.messages (conversation_id, id);
-- Claim, part 1: due jobs in (run_after, id) order.
create index if not exists patch_jobs_due_idx on public.patch_jobs (run_after, id)
    where status in ('pending', 'failed');
-- Claim, part 2: processing jobs whose lease has expired.
create index if not exists patch_jobs_expired_lease_idx on public.patch_jobs (lease_until)
    where status = 'processing';
-- Claim, part 3: all unfinished jobs of the claimed conversations, in id order.
create index if not exists patch_jobs_open_by_conversation_idx on public.patch_jobs (conversation_id, id)
    where status <> 'done' and status <> 'dead';
-- Counting open jobs without reading finished ones: an index-only scan of the open jobs.
create index if not exists patch_jobs_unfinished_idx on public.patch_jobs (status, run_after, lease_until)
    where status <> 'done';
-- Foreign keys: deleting a conversation or character must not scan the whole queue.
create index if not exists patch_jobs_conversation_id_idx on public.patch_jobs (conversation_id);
create index if not exists patch_jobs_character_id_idx on public.patch_jobs (character_id)
    where character_id is not null;
create index if not exists memories_character_id_idx on public.memories (character_id);
-- Due schedules: enabled and (next_run_at is null or next_run_at <= now).
create index if not exists character_schedules_due_idx on public.character_schedules (next_run_at)
    where enabled;
create index if not exists character_schedules_character_id_idx on public.character_schedules (character_id);
create index if not exists character_posts_character_id_created_at_idx
    on public.character_posts (character_id, created_at desc);
create index if not exists character_posts_schedule_id_idx on public.character_posts (schedule_id)
    where schedule_id is not null;
create index if not exists items_status_idx on public.items (status, status_changed_at);
create index if not exists decisions_item_id_idx on public.decisions (item_id);
-- The reward job's work list: decisions without a reward, oldest first.
create index if not exists decisions_reward_pending_idx on public.decisions (decided_at, id)
    where reward is null;
create index if not exists outcomes_item_id_idx on public.outcomes (item_id);

-- Every character and conversation gets its (empty, version 0) state row when it is created,
-- so a compare-and-swap always has a row to compare against and the pipeline never has to
-- "insert if missing" (which two writers could race on). ON CONFLICT keeps an app that creates
-- the row itself working. Security definer: the row is written whichever role inserted the
-- character (the app's own users, under the app's RLS policies).
create or replace function public.create_character_state()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
    insert into public.character_states (character_id) values (new.id)
    on conflict (character_id) do nothing;
    return null;
end;
$$;

comment on function public.create_character_state() is
    'AFTER INSERT trigger on characters: creates the empty character_states row.';

create or replace function public.create_conversation_state()
returns trigger
language plpgsql
security definer
set search_path = public, pg_temp
as $$
begin
    insert into public.conversation_states (conversation_id) values (new.id)
    on conflict (conversation_id) do nothing;
    return null;
end;
$$;

comment on function public.create_conversation_state() is
    'AFTER INSERT trigger on conversations: creates the empty conversation_states row.';

-- A status change bumps status_changed_at, which the outcome job reads as "when the terminal
-- state was reached". An UPDATE that sets status_changed_at itself (a backfill, or a test moving
-- time) keeps its value.
create or replace function public.items_bump_status_changed_at()
returns trigger
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
begin
    if new.status is distinct from old.status
       and new.status_changed_at is not distinct from old.status_changed_at then
        new.status_changed_at := now();
    end if;
    return new;
end;
$$;

comment on function public.items_bump_status_changed_at() is
    'BEFORE UPDATE trigger on items: a status change sets status_changed_at = now().';

-- The triggers the jobs rely on, created where a trigger of that name is absent.
do $triggers$
declare
    g record;
begin
    for g in select * from (values
                 ('characters', 'characters_create_state',
                  'after insert on public.characters for each row execute function public.create_character_state()'),
                 ('conversations', 'conversations_create_state',
                  'after insert on public.conversations for each row execute function public.create_conversation_state()'),
                 ('items', 'items_bump_status_changed_at',
                  'before update of status on public.items for each row execute function public.items_bump_status_changed_at()'),
                 ('patch_jobs', 'patch_jobs_set_updated_at',
                  'before update on public.patch_jobs for each row execute function public.set_updated_at()')
             ) as v(table_name, trigger_name, definition) loop
        if not exists (select 1 from pg_trigger
                       where tgrelid = format('public.%I', g.table_name)::regclass
                         and tgname = g.trigger_name) then
            execute format('create trigger %I %s', g.trigger_name, g.definition);
        end if;
    end loop;
end;
$triggers$;

-- 5. Tables this install created: supacron's security and its stricter rules. Only the backend
-- (service_role: the secret / service-role key) reads and writes them: RLS on with no policies
-- (anon and authenticated see nothing even if a grant slipped in; service_role has BYPASSRLS),
-- nothing granted to PUBLIC, anon or authenticated, explicit grants to service_role (new
-- projects no longer grant them by default).
do $new_tables$
declare
    t text;
    s text;
begin
    foreach t in array string_to_array(current_setting('supacron.install_new_tables', true), ',') loop
        execute format('alter table public.%I enable row level security', t);
        execute format('revoke all on table public.%I from public, anon, authenticated', t);
        execute format('grant select, insert, update, delete on table public.%I to service_role', t);
        for s in select pg_get_serial_sequence(format('public.%I', t), a.attname)
                 from pg_attribute a
                 where a.attrelid = format('public.%I', t)::regclass and a.attidentity <> '' loop
            execute format('revoke all on sequence %s from public, anon, authenticated', s);
            execute format('grant usage, select on sequence %s to service_role', s);
        end loop;
        if t in ('characters', 'conversations', 'conversation_states', 'character_states',
                 'character_schedules', 'items', 'decisions') then
            execute format('create trigger %I before update on public.%I for each row execute function public.set_updated_at()',
                           t || '_set_updated_at', t);
        end if;
        case t
            when 'patch_jobs' then
                -- A job being worked on says by whom and until when; a final job says when.
                alter table public.patch_jobs
                    add constraint patch_jobs_processing_has_lease
                        check (status <> 'processing' or (lease_owner is not null and lease_until is not null)),
                    add constraint patch_jobs_final_has_finished_at
                        check (status not in ('done', 'dead') or finished_at is not null);
            when 'memories' then
                alter table public.memories
                    alter column character_id set not null,
                    alter column from_message_id set not null,
                    alter column to_message_id set not null,
                    add constraint memories_range_check check (from_message_id <= to_message_id);
            when 'character_posts' then
                alter table public.character_posts alter column kind set not null;
            when 'outcomes' then
                alter table public.outcomes
                    alter column item_id set not null,
                    alter column terminal_status set not null,
                    alter column reached_at set not null,
                    alter column resolution_seconds set not null;
            else
                null;
        end case;
    end loop;
end;
$new_tables$;

-- ============================================================================================
-- supabase/schemas/20_run_history.sql
-- ============================================================================================

-- supabase/schemas/20_run_history.sql: what the runs themselves leave behind (supacron's own).
--   cron_runs              one row per invocation of a job function (running, then its outcome)
--   cron_schedules         each job's schedule (vercel.json), maxDuration and tick grace
--   cron_field_bits / cron_field_values / cron_expression_valid / cron_previous_tick
--                          a 5-field cron evaluator (UTC), for the CHECK on cron_schedules and
--                          the missing-tick check of the run summary (60_status.sql)
--   cron_run_housekeeping  keeps cron_schedules current, marks runs whose end was never recorded
--   cron_job_pending       how many items a job has pending (its `remaining`)
--   begin_cron_run         a run opens: housekeeping, then idle (one finished row) or running
--   finish_cron_run        ... ends: the same row gets status, counts, error; old rows pruned
--   prune_cron_runs        operators: drop run history older than p_keep
-- Written by src/function/record.rs for every entry point (functions, supacron serve/run, the
-- scheduler). Every function takes p_now, so tests move time instead of sleeping.

-- trigger: who woke the function (Vercel Cron, a person with curl, our own scheduler).
-- status:  running -> ok | partial (some items failed, the run went on) | error | skipped
--          (e.g. another run held the job's lease). Dry runs are recorded too but never count
--          as the job's work.
create table if not exists public.cron_runs (
    id             bigint generated by default as identity primary key,
    run_id         uuid not null unique,
    job            text not null check (btrim(job) <> ''),
    trigger        text not null check (trigger in ('vercel_cron', 'manual', 'scheduler')),
    status         text not null default 'running'
                   check (status in ('running', 'ok', 'partial', 'error', 'skipped')),
    started_at     timestamptz not null default now(),
    finished_at    timestamptz,
    duration_ms    integer check (duration_ms >= 0),
    counts         jsonb not null default '{}' check (jsonb_typeof(counts) = 'object'),
    error          text,
    deployment_id  text,
    dry_run        boolean not null default false
);

comment on table public.cron_runs is 'One row per job invocation; counts is the run''s result.';
comment on column public.cron_runs.deployment_id is 'VERCEL_DEPLOYMENT_ID of the function, if any.';
comment on column public.cron_runs.dry_run is '?dry_run=1: recorded, ignored by the summaries.';

-- Per job by start time (summary, retention); the timeline by start time; the sweep of
-- unfinished runs by status.
create index if not exists cron_runs_job_started_at_idx on public.cron_runs (job, started_at desc);
create index if not exists cron_runs_started_at_idx on public.cron_runs (started_at);
create index if not exists cron_runs_running_idx on public.cron_runs (job, started_at) where status = 'running';

-- One field of a cron expression as a bitmap: element v (p_min..p_max) is true when the
-- field allows v. Grammar as before: `*`, `n`, `a-b`, with an optional `/step`,
-- comma-separated; `a/step` means a..max. Raises 22023 on a malformed field.
create or replace function public.cron_field_bits(p_field text, p_min integer, p_max integer)
returns boolean[]
language plpgsql
immutable
strict
set search_path = public, pg_temp
as $$
declare
    v_bits boolean[] := array_fill(false, array[p_max - p_min + 1], array[p_min]);
    v_part text;
    v_range text;
    v_step integer;
    v_lo integer;
    v_hi integer;
    v_i integer;
    m text[];
begin
    foreach v_part in array string_to_array(p_field, ',') loop
        m := regexp_match(v_part, '^(\*|\d+|\d+-\d+)(?:/(\d+))?$');
        if m is null then
            raise exception 'invalid cron field `%`', p_field using errcode = '22023';
        end if;
        v_range := m[1];
        v_step := coalesce(m[2]::integer, 1);
        if v_range = '*' then
            v_lo := p_min; v_hi := p_max;
        elsif position('-' in v_range) > 0 then
            v_lo := split_part(v_range, '-', 1)::integer;
            v_hi := split_part(v_range, '-', 2)::integer;
        else
            v_lo := v_range::integer;
            v_hi := case when m[2] is null then v_lo else p_max end;
        end if;
        if v_step < 1 or v_lo < p_min or v_hi > p_max or v_lo > v_hi then
            raise exception 'invalid cron field `%` (values % to %)', p_field, p_min, p_max
                using errcode = '22023';
        end if;
        if v_step = 1 and v_lo = p_min and v_hi = p_max then
            v_bits := array_fill(true, array[p_max - p_min + 1], array[p_min]);
            continue;
        end if;
        v_i := v_lo;
        while v_i <= v_hi loop
            v_bits[v_i] := true;
            v_i := v_i + v_step;
        end loop;
    end loop;
    return v_bits;
end;
$$;

comment on function public.cron_field_bits(text, integer, integer) is
    'One 5-field cron field as a bitmap indexed by value (p_min..p_max).';

-- The values one field of a cron expression allows, ascending (read off cron_field_bits, so
-- there is one grammar).
create or replace function public.cron_field_values(p_field text, p_min integer, p_max integer)
returns integer[]
language plpgsql
immutable
strict
set search_path = public, pg_temp
as $$
declare
    v_bits boolean[] := public.cron_field_bits(p_field, p_min, p_max);
begin
    return array(select v from generate_series(p_min, p_max) v where v_bits[v]);
end;
$$;

comment on function public.cron_field_values(text, integer, integer) is
    'The values one 5-field cron field allows, ascending.';

-- True for a valid 5-field expression; raises 22023 naming the bad field otherwise (the CHECK
-- on cron_schedules.schedule, so a bad schedule is refused where it is written, not later by
-- every read of cron_run_summary).
create or replace function public.cron_expression_valid(p_expr text)
returns boolean
language plpgsql
immutable
strict
security invoker
set search_path = public, pg_temp
as $$
declare
    v_fields text[] := regexp_split_to_array(btrim(p_expr), '\s+');
begin
    if array_length(v_fields, 1) is distinct from 5 then
        raise exception 'invalid cron expression `%`: 5 fields expected', p_expr using errcode = '22023';
    end if;
    perform cron_field_values(v_fields[1], 0, 59), cron_field_values(v_fields[2], 0, 23),
            cron_field_values(v_fields[3], 1, 31), cron_field_values(v_fields[4], 1, 12),
            cron_field_values(v_fields[5], 0, 7);
    return true;
end;
$$;

comment on function public.cron_expression_valid(text) is
    'True for a valid 5-field cron expression; raises naming the bad field otherwise.';

-- The latest minute at or before p_at (UTC) that the 5-field expression p_expr matches, or null
-- if none within four years. Standard cron semantics: when both day of month and day of week
-- are restricted (neither starts with `*`), a day matching either one matches. A field is a
-- boolean array indexed by value (cron_field_bits), searched with plain plpgsql expressions:
-- no SPI queries (~0.04-0.07 ms a call).
create or replace function public.cron_previous_tick(p_expr text, p_at timestamptz)
returns timestamptz
language plpgsql
immutable
strict
set search_path = public, pg_temp
as $$
declare
    v_fields text[] := regexp_split_to_array(btrim(p_expr), '\s+');
    v_minutes boolean[];
    v_hours boolean[];
    v_doms boolean[];
    v_months boolean[];
    v_dows boolean[];
    v_dom_any boolean;
    v_dow_any boolean;
    v_at timestamp := date_trunc('minute', p_at at time zone 'UTC');
    v_day date := v_at::date;
    v_last_hour integer := extract(hour from v_at)::integer;
    v_last_minute integer := extract(minute from v_at)::integer;
    v_dom_ok boolean;
    v_dow_ok boolean;
    v_hour integer;
    v_minute integer;
begin
    if array_length(v_fields, 1) is distinct from 5 then
        raise exception 'invalid cron expression `%`: 5 fields expected', p_expr using errcode = '22023';
    end if;
    v_minutes := public.cron_field_bits(v_fields[1], 0, 59);
    v_hours := public.cron_field_bits(v_fields[2], 0, 23);
    v_doms := public.cron_field_bits(v_fields[3], 1, 31);
    v_months := public.cron_field_bits(v_fields[4], 1, 12);
    v_dows := public.cron_field_bits(v_fields[5], 0, 7);
    v_dows[0] := v_dows[0] or v_dows[7];  -- 7 is Sunday too
    v_dom_any := v_fields[3] like '*%';
    v_dow_any := v_fields[5] like '*%';
    -- Day by day backwards from p_at's day (whose hours and minutes end at p_at), latest
    -- hour and minute first; at most four years back (a 29 February tick).
    for v_back in 0 .. 4 * 366 loop
        if v_back > 0 then
            v_day := v_day - 1;
            v_last_hour := 23;
            v_last_minute := 59;
        end if;
        continue when not v_months[extract(month from v_day)::integer];
        v_dom_ok := v_doms[extract(day from v_day)::integer];
        v_dow_ok := v_dows[extract(dow from v_day)::integer];
        if v_dom_any or v_dow_any then
            continue when not (v_dom_ok and v_dow_ok);
        else
            continue when not (v_dom_ok or v_dow_ok);
        end if;
        v_hour := v_last_hour;
        while v_hour >= 0 loop
            if v_hours[v_hour] then
                v_minute := case when v_hour = v_last_hour then v_last_minute else 59 end;
                while v_minute >= 0 loop
                    if v_minutes[v_minute] then
                        return (v_day + make_interval(hours => v_hour, mins => v_minute)) at time zone 'UTC';
                    end if;
                    v_minute := v_minute - 1;
                end loop;
            end if;
            v_hour := v_hour - 1;
        end loop;
    end loop;
    return null;
end;
$$;

comment on function public.cron_previous_tick(text, timestamptz) is
    'Latest minute <= p_at (UTC) matching a 5-field cron expression.';

-- The schedules the status page checks ticks against. Seeded with vercel.json's values; every
-- run of a function writes its own (Job::schedule in Rust, kept equal to vercel.json by a
-- test), so a changed schedule reaches this table with the first run after the deployment.
-- tick_grace: how late a tick may start before it counts as missing. Vercel Pro starts crons
-- within the minute; on Hobby (±59 min) set it to '1 hour'. Runs never overwrite it.
create table if not exists public.cron_schedules (
    job                text primary key check (btrim(job) <> ''),
    path               text not null,
    schedule           text not null check (public.cron_expression_valid(schedule)),
    max_duration_secs  integer not null check (max_duration_secs > 0),
    tick_grace         interval not null default '5 minutes' check (tick_grace >= interval '0'),
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now()
);

comment on table public.cron_schedules is
    'Each job''s cron schedule (vercel.json), maxDuration and tick grace, for missing-tick checks.';

create or replace trigger cron_schedules_set_updated_at
    before update on public.cron_schedules
    for each row execute function public.set_updated_at();

insert into public.cron_schedules (job, path, schedule, max_duration_secs) values
    ('patch',    '/api/cron/patch',                 '*/2 * * * *',  60),
    ('memory',   '/api/cron/memory',                '*/10 * * * *', 300),
    ('schedule', '/api/cron/schedule',              '0 * * * *',    300),
    ('outcomes', '/api/training/outcomes',          '15 * * * *',   120),
    ('rewards',  '/api/training/calculate-pending', '0 * * * *',    120)
on conflict (job) do nothing;

-- Keeps p_job's cron_schedules row equal to what the code says (when given; read first, written
-- only when it differs: once per deployment) and marks its runs still `running` past
-- maxDuration + 60 s as error. The run history is committed asynchronously
-- (synchronous_commit = off for this transaction): a PostgreSQL crash can lose the run rows of
-- the last ~0.6 s, never a job's effects, which are committed by their own requests.
create or replace function public.cron_run_housekeeping(
    p_job text,
    p_schedule text,
    p_path text,
    p_max_duration_secs integer,
    p_now timestamptz
)
returns void
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_current public.cron_schedules%rowtype;
    v_max integer;
begin
    select * into v_current from public.cron_schedules where job = p_job;
    if p_schedule is not null and p_path is not null and p_max_duration_secs is not null
       and (v_current.job is null
            or (v_current.path, v_current.schedule, v_current.max_duration_secs)
               is distinct from (p_path, p_schedule, p_max_duration_secs)) then
        insert into public.cron_schedules as s (job, path, schedule, max_duration_secs)
        values (p_job, p_path, p_schedule, p_max_duration_secs)
        on conflict (job) do update
            set path = excluded.path, schedule = excluded.schedule,
                max_duration_secs = excluded.max_duration_secs;
        v_max := p_max_duration_secs;
    else
        v_max := coalesce(v_current.max_duration_secs, 300);
    end if;
    update public.cron_runs
    set status = 'error',
        finished_at = started_at + make_interval(secs => v_max),
        error = format('the run''s end was never recorded within maxDuration (%s s) + 60 s: it was killed '
                       'at maxDuration, the process died, or it answered but could not write its end '
                       '(Supabase unreachable); its answer and counts are in the function''s log line '
                       'for its run_id', v_max)
    where job = p_job and status = 'running'
      and started_at < p_now - make_interval(secs => v_max + 60);
    -- Run history only (see the header): no need to wait for the WAL flush.
    perform set_config('synchronous_commit', 'off', true);
end;
$$;

comment on function public.cron_run_housekeeping(text, text, text, integer, timestamptz) is
    'Keeps a job''s cron_schedules row current and marks its runs whose end was never recorded as error.';

-- A run opens with begin_cron_run (src/function/record.rs), which
--   1. does the housekeeping (cron_run_housekeeping),
--   2. asks whether the job has anything pending, with the same count the job reports as
--      `remaining` (cron_job_pending), and
--   3. when nothing is pending, records the run as finished `ok` with the counts the job
--      would have answered (given by the caller) and answers {"idle": true}: one request in
--      all; otherwise records the run as `running` and answers {"idle": false, "pending": n},
--      and finish_cron_run records how it ended.
-- A job this file does not know, or a check without its arguments, is never idle: the job
-- runs and decides for itself, so a mismatch can cost a request but never skip work.
-- How many items `p_job` has pending now: the count each job reports as `remaining` (and
-- checks first itself). p_work carries the job's settings that the count needs. NULL when
-- it cannot tell.
create or replace function public.cron_job_pending(p_job text, p_work jsonb, p_now timestamptz)
returns bigint
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
declare
    v_work jsonb;
begin
    case p_job
        when 'patch' then
            return (public.count_patch_jobs(p_now) ->> 'due')::bigint;
        when 'memory' then
            if p_work ->> 'min_new_messages' is null then
                return null;
            end if;
            return public.count_memory_candidates((p_work ->> 'min_new_messages')::integer, p_now);
        when 'schedule' then
            if p_work ->> 'max_attempts' is null then
                return null;
            end if;
            v_work := public.count_schedule_work(p_now, (p_work ->> 'max_attempts')::integer);
            return (v_work ->> 'due_schedules')::bigint + (v_work ->> 'open_ticks')::bigint
                   + (v_work ->> 'waiting_for_fix')::bigint;
        when 'outcomes' then
            return public.count_pending_outcomes();
        when 'rewards' then
            return (public.count_pending_rewards() ->> 'pending')::bigint;
        else
            return null;
    end case;
end;
$$;

comment on function public.cron_job_pending(text, jsonb, timestamptz) is
    'How many items a job has pending now (its remaining count); NULL when it cannot tell.';

-- A function invocation starts (see the header). p_idle = {"work": {...}, "counts": {...}}
-- asks for the idle check; without it (dry runs) the run is always recorded as running.
create or replace function public.begin_cron_run(
    p_run_id uuid,
    p_job text,
    p_trigger text,
    p_dry_run boolean default false,
    p_deployment_id text default null,
    p_schedule text default null,
    p_path text default null,
    p_max_duration_secs integer default null,
    p_idle jsonb default null,
    p_duration_ms integer default 0,
    p_keep_days integer default 30,
    p_now timestamptz default null
)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_pending bigint;
begin
    perform public.cron_run_housekeeping(p_job, p_schedule, p_path, p_max_duration_secs, v_now);
    if p_idle is not null then
        v_pending := public.cron_job_pending(p_job, coalesce(p_idle -> 'work', '{}'), v_now);
    end if;
    if v_pending = 0 then
        insert into public.cron_runs
            (run_id, job, trigger, dry_run, deployment_id, status, started_at, finished_at,
             duration_ms, counts)
        values
            (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id, 'ok',
             v_now - make_interval(secs => greatest(p_duration_ms, 0) / 1000.0), v_now,
             greatest(p_duration_ms, 0), coalesce(p_idle -> 'counts', '{}'))
        on conflict (run_id) do nothing;
        delete from public.cron_runs
        where job = p_job
          and started_at < v_now - make_interval(days => greatest(coalesce(p_keep_days, 30), 1));
        return jsonb_build_object('idle', true);
    end if;
    insert into public.cron_runs (run_id, job, trigger, dry_run, deployment_id, started_at)
    values (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id, v_now)
    on conflict (run_id) do nothing;
    return jsonb_build_object('idle', false, 'pending', v_pending);
end;
$$;

comment on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz) is
    'Opens a job run: housekeeping; records it finished when the job has nothing pending, else running.';

-- A function invocation ends. Sets the run's outcome, or inserts the whole row when its start
-- was not recorded (a short run, or the database was unreachable then), so each invocation
-- that reached the database leaves exactly one row; does the housekeeping a start would have
-- done; prunes the job's runs that started more than p_keep_days ago.
create or replace function public.finish_cron_run(
    p_run_id uuid,
    p_job text,
    p_trigger text,
    p_status text,
    p_duration_ms integer,
    p_counts jsonb default '{}',
    p_error text default null,
    p_dry_run boolean default false,
    p_deployment_id text default null,
    p_keep_days integer default 30,
    p_now timestamptz default null,
    p_schedule text default null,
    p_path text default null,
    p_max_duration_secs integer default null
)
returns void
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
begin
    perform public.cron_run_housekeeping(p_job, p_schedule, p_path, p_max_duration_secs, v_now);
    insert into public.cron_runs as r
        (run_id, job, trigger, dry_run, deployment_id, status, started_at, finished_at,
         duration_ms, counts, error)
    values
        (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id, p_status,
         v_now - make_interval(secs => greatest(p_duration_ms, 0) / 1000.0), v_now,
         greatest(p_duration_ms, 0), coalesce(p_counts, '{}'), p_error)
    on conflict (run_id) do update
        set status = excluded.status, finished_at = excluded.finished_at,
            duration_ms = excluded.duration_ms, counts = excluded.counts, error = excluded.error;
    delete from public.cron_runs
    where job = p_job
      and started_at < v_now - make_interval(days => greatest(coalesce(p_keep_days, 30), 1));
end;
$$;

comment on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer) is
    'Records how a job run ended (inserting the row if its start was not recorded); housekeeping; prunes old runs.';

-- Operators: drop every run (of any job, also of jobs that no longer exist) older than p_keep.
create or replace function public.prune_cron_runs(p_keep interval default '30 days', p_now timestamptz default null)
returns integer
language sql
security invoker
set search_path = public, pg_temp
as $$
    with gone as (
        delete from public.cron_runs
        where started_at < coalesce(p_now, now()) - greatest(p_keep, interval '1 hour')
        returning 1)
    select count(*)::integer from gone;
$$;

comment on function public.prune_cron_runs(interval, timestamptz) is
    'Deletes run history older than p_keep (default 30 days); returns how many rows.';

-- ============================================================================================
-- supabase/schemas/30_patch_queue.sql
-- ============================================================================================

-- supabase/schemas/30_patch_queue.sql: the state transitions of patch_jobs (the patch job,
-- src/jobs/patch; the table itself is the app's, 10_app_contract.sql).
--
-- Every transition is one function = one transaction, called through PostgREST /rpc/:
--   enqueue_patch_job    producers: insert a job, idempotent by idempotency_key
--   claim_patch_batch    the job: lease whole conversations' due jobs + return their states
--   read_patch_states    the job: re-read state rows after a version conflict
--   commit_patch_batch   the job: per unit, CAS the state rows and finish the jobs, fenced by lease
--   count_patch_jobs     the job's dry run and `remaining`; operators
--   requeue_patch_jobs   operators: bring failed or dead jobs back to pending
--
-- Protocol (see docs/architecture.md "The patch pipeline"):
--   * A conversation's jobs are applied in id order by one run at a time. A claim takes whole
--     conversations: it locks their `conversations` rows FOR NO KEY UPDATE SKIP LOCKED, then,
--     in a new statement (a fresh snapshot that sees every claim committed before the lock was
--     granted), skips any conversation that still has a job under a live lease, and leases the
--     due prefix of the rest. A failed job waiting for its run_after blocks the jobs behind it
--     (strict order per conversation); dead jobs do not.
--   * Every write-back is fenced: a unit commits only if all its jobs are still `processing`
--     with lease_owner = the caller, so a run whose lease was taken over commits nothing.
--   * State rows are compare-and-swapped on version; a conflict rolls back only that unit.
-- Time is a parameter everywhere (p_now, default now()) so tests move time instead of sleeping.

-- Producers: enqueue one job. With an idempotency_key already used, returns the existing job
-- instead of inserting a second one (a producer that retries cannot enqueue twice). An unknown
-- conversation or character fails here with 23503 (PostgREST answers 409), at the producer.
create or replace function public.enqueue_patch_job(
    p_conversation_id uuid,
    p_patch jsonb,
    p_character_id uuid default null,
    p_idempotency_key text default null,
    p_max_attempts integer default null
)
returns public.patch_jobs
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_job public.patch_jobs;
begin
    insert into public.patch_jobs (conversation_id, character_id, patch, idempotency_key, max_attempts)
    values (p_conversation_id, p_character_id, p_patch, p_idempotency_key, coalesce(p_max_attempts, 25))
    on conflict (idempotency_key) do nothing
    returning * into v_job;
    if v_job.id is null then
        select * into v_job from public.patch_jobs where idempotency_key = p_idempotency_key;
    end if;
    return v_job;
end;
$$;

comment on function public.enqueue_patch_job(uuid, jsonb, uuid, text, integer) is
    'Enqueues a patch job; a reused idempotency_key returns the existing job.';

-- The job: lease up to p_max_jobs due jobs, taking whole conversations, oldest first, and
-- return them with the state rows they patch:
--   {"jobs": [{id, conversation_id, character_id, patch, attempts, max_attempts}],
--    "exhausted": [ids], "conversation_states": [{id, state, run_state, version}],
--    "character_states":    [{id, state, run_state, version}]}
-- character_id is the job's own, else its conversation's character. A state row that does not
-- exist is simply absent from the answer (the job reports that job as dead).
--   * Nothing due (most cron ticks): two probes of the partial indexes answer at once (~0.3 ms).
--   * Nothing taken: the answer carries "due", the jobs still due that it could not take
--     (behind another run's live lease, or behind a failed job), so the run needs no count
--     after its last claim (an empty queue is one request).
--   * max_attempts holds for jobs that are claimed but never committed: a picked job whose
--     attempts already reached max_attempts becomes `dead` (error_kind 'timeout', a readable
--     last_error keeping the previous one) instead of being leased, listed as "exhausted".
create or replace function public.claim_patch_batch(
    p_owner text,
    p_lease_seconds integer,
    p_max_jobs integer default 100,
    p_now timestamptz default null
)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_candidates uuid[];
    v_locked uuid[];
    v_jobs jsonb;
    v_exhausted jsonb := '[]'::jsonb;
begin
    if p_owner is null or btrim(p_owner) = '' or p_lease_seconds is null or p_lease_seconds < 1
       or p_max_jobs is null or p_max_jobs < 1 then
        raise exception 'claim_patch_batch needs an owner, p_lease_seconds >= 1 and p_max_jobs >= 1'
            using errcode = '22023';
    end if;

    -- 0. Nothing due (most cron ticks): answer at once. Two probes of the partial indexes cost
    --    a fraction of planning the candidate query below.
    if not exists (select 1 from public.patch_jobs
                   where status in ('pending', 'failed') and run_after <= v_now)
       and not exists (select 1 from public.patch_jobs
                       where status = 'processing' and lease_until < v_now) then
        return jsonb_build_object('jobs', '[]'::jsonb, 'conversation_states', '[]'::jsonb,
                                  'character_states', '[]'::jsonb, 'due', 0);
    end if;

    -- 1. Candidates: conversations with the oldest due work and no live lease (over-fetched, so
    --    that runs overlapping this one still find work after skipping each other's locks).
    select array_agg(conversation_id order by first_id) into v_candidates
    from (
        select due.conversation_id, min(due.id) as first_id
        from (
            (select j.conversation_id, j.id from public.patch_jobs j
              where j.status in ('pending', 'failed') and j.run_after <= v_now
              order by j.run_after, j.id limit p_max_jobs * 4)
            union all
            (select j.conversation_id, j.id from public.patch_jobs j
              where j.status = 'processing' and j.lease_until < v_now
              order by j.lease_until limit p_max_jobs * 4)
        ) due
        where not exists (
            select 1 from public.patch_jobs live
            where live.conversation_id = due.conversation_id
              and live.status = 'processing' and live.lease_until >= v_now)
        group by due.conversation_id
        order by first_id
        limit p_max_jobs * 2
    ) candidates;

    if v_candidates is not null then
        -- 2. Lock them; another claimer holding one is skipped, never waited for.
        select array_agg(c.id) into v_locked
        from (select id from public.conversations where id = any(v_candidates)
              for no key update skip locked) c;

        -- 3. A new statement, a new snapshot: lease the due prefix of each locked conversation that
        --    has no live lease, whole conversations in order of their oldest open job.
        with open_jobs as (
            select j.id, j.conversation_id,
                   (j.status in ('pending', 'failed') and j.run_after <= v_now)
                       or (j.status = 'processing' and j.lease_until < v_now) as due,
                   (j.status = 'processing' and j.lease_until >= v_now) as live
            from public.patch_jobs j
            where j.conversation_id = any(coalesce(v_locked, '{}'))
              and j.status in ('pending', 'failed', 'processing')
        ),
        free as (
            select o.*,
                   bool_and(o.due) over (partition by o.conversation_id order by o.id) as due_prefix,
                   min(o.id) over (partition by o.conversation_id) as first_id
            from open_jobs o
            where not exists (select 1 from open_jobs b where b.conversation_id = o.conversation_id and b.live)
        ),
        picked as (
            select id from (
                select id, row_number() over (order by first_id, id) as n from free where due_prefix
            ) numbered
            where n <= p_max_jobs
        ),
        exhausted as (
            update public.patch_jobs j
            set status = 'dead', finished_at = v_now, lease_owner = null, lease_until = null,
                error_kind = 'timeout',
                last_error = left(format(
                    'claimed %s times without being finished (max_attempts %s): each run that claimed it '
                    'stopped before committing it (killed at maxDuration, timed out, or its batch could '
                    'not be processed); requeue it once the cause is fixed%s',
                    j.attempts, j.max_attempts, coalesce('. Last error: ' || j.last_error, '')), 1000)
            from picked
            where j.id = picked.id and j.attempts >= j.max_attempts
            returning j.id
        ),
        claimed as (
            update public.patch_jobs j
            set status = 'processing',
                attempts = j.attempts + 1,
                lease_owner = p_owner,
                lease_until = v_now + make_interval(secs => p_lease_seconds)
            from picked
            where j.id = picked.id and j.attempts < j.max_attempts
            returning j.id, j.conversation_id, j.character_id, j.patch, j.attempts, j.max_attempts
        )
        select coalesce((select jsonb_agg(jsonb_build_object(
                   'id', cl.id,
                   'conversation_id', cl.conversation_id,
                   'character_id', coalesce(cl.character_id, c.character_id),
                   'patch', cl.patch,
                   'attempts', cl.attempts,
                   'max_attempts', cl.max_attempts) order by cl.id)
                 from claimed cl join public.conversations c on c.id = cl.conversation_id), '[]'::jsonb),
               coalesce((select jsonb_agg(e.id order by e.id) from exhausted e), '[]'::jsonb)
        into v_jobs, v_exhausted;
    end if;

    -- 4. Nothing taken: say how many jobs are still due (behind a live lease, or behind a failed
    --    job whose run_after has not come), so the run needs no count after its last claim.
    --    Each count reads one partial index.
    if coalesce(v_jobs, '[]'::jsonb) = '[]'::jsonb then
        return jsonb_build_object('jobs', '[]'::jsonb, 'conversation_states', '[]'::jsonb,
                                  'character_states', '[]'::jsonb, 'exhausted', v_exhausted,
                                  'due', (select count(*) from public.patch_jobs
                                          where status in ('pending', 'failed') and run_after <= v_now)
                                         + (select count(*) from public.patch_jobs
                                            where status = 'processing' and lease_until < v_now));
    end if;

    return jsonb_build_object('jobs', v_jobs, 'exhausted', v_exhausted) || public.read_patch_states(
        array(select distinct (j->>'conversation_id')::uuid from jsonb_array_elements(v_jobs) j),
        array(select distinct (j->>'character_id')::uuid from jsonb_array_elements(v_jobs) j));
end;
$$;

comment on function public.claim_patch_batch(text, integer, integer, timestamptz) is
    'Leases whole conversations'' due patch jobs (oldest first) with their states; if none, how many are due.';

-- The job: the current state rows, for a retry after a version conflict.
create or replace function public.read_patch_states(p_conversation_ids uuid[], p_character_ids uuid[])
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'conversation_states', coalesce((
            select jsonb_agg(jsonb_build_object('id', s.conversation_id, 'state', s.state,
                                                'run_state', s.run_state, 'version', s.version))
            from public.conversation_states s
            where s.conversation_id = any(p_conversation_ids)), '[]'::jsonb),
        'character_states', coalesce((
            select jsonb_agg(jsonb_build_object('id', s.character_id, 'state', s.state,
                                                'run_state', s.run_state, 'version', s.version))
            from public.character_states s
            where s.character_id = any(p_character_ids)), '[]'::jsonb));
$$;

comment on function public.read_patch_states(uuid[], uuid[]) is
    'State rows (with version) of the given conversations and characters.';

-- The job: finish a batch. p_units is an array of units, each committed or refused alone
-- (a sub-transaction per unit):
--   {"action": "commit", "jobs": [ids],
--    "states": [{"kind": "conversation"|"character", "id", "expected_version", "state", "run_state"}],
--    "done": [ids], "dead": [{"id", "error"}]}
--   {"action": "fail", "jobs": [ids], "error": text, "run_after": timestamptz}
--        -> failed (error_kind conflict), or dead once attempts >= max_attempts
--   {"action": "release", "jobs": [ids]}  -> pending again, the claim's attempt given back
-- Every unit is fenced: all its jobs must be `processing` under p_owner, else "lease_lost" and
-- nothing of it is written. A state row whose version moved gives "conflict": nothing of the
-- unit is written except attempts + 1 on its jobs (seed 000). Answers
--   [{"unit": index, "result": "committed"|"failed"|"released"|"conflict"|"lease_lost",
--     "dead": [ids]}]  (dead: jobs that became dead in this call)
create or replace function public.commit_patch_batch(p_owner text, p_units jsonb, p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_unit jsonb;
    v_index integer := -1;
    v_jobs bigint[];
    v_state jsonb;
    v_rows integer;
    v_dead bigint[];
    v_results jsonb := '[]'::jsonb;
begin
    for v_unit in select value from jsonb_array_elements(p_units) loop
        v_index := v_index + 1;
        v_jobs := array(select jsonb_array_elements_text(v_unit->'jobs')::bigint);
        v_dead := '{}';
        begin
            -- Fence: every job of the unit still leased by this run (and locked until commit).
            select count(*) into v_rows from (
                select 1 from public.patch_jobs
                where id = any(v_jobs) and status = 'processing' and lease_owner = p_owner
                for update) fenced;
            if v_rows <> cardinality(v_jobs) then
                raise exception 'lease lost' using errcode = 'SC001';
            end if;

            if v_unit->>'action' = 'commit' then
                for v_state in select value from jsonb_array_elements(coalesce(v_unit->'states', '[]')) loop
                    if v_state->>'kind' = 'conversation' then
                        update public.conversation_states
                        set state = v_state->'state', run_state = v_state->'run_state', version = version + 1
                        where conversation_id = (v_state->>'id')::uuid
                          and version = (v_state->>'expected_version')::bigint;
                    else
                        update public.character_states
                        set state = v_state->'state', run_state = v_state->'run_state', version = version + 1
                        where character_id = (v_state->>'id')::uuid
                          and version = (v_state->>'expected_version')::bigint;
                    end if;
                    get diagnostics v_rows = row_count;
                    if v_rows = 0 then
                        raise exception 'version conflict' using errcode = 'SC002';
                    end if;
                end loop;
                update public.patch_jobs
                set status = 'done', finished_at = v_now, lease_owner = null, lease_until = null,
                    error_kind = null, last_error = null
                where id in (select jsonb_array_elements_text(coalesce(v_unit->'done', '[]'))::bigint)
                  and id = any(v_jobs);
                with dead as (
                    update public.patch_jobs j
                    set status = 'dead', finished_at = v_now, lease_owner = null, lease_until = null,
                        error_kind = 'permanent', last_error = d->>'error'
                    from jsonb_array_elements(coalesce(v_unit->'dead', '[]')) d
                    where j.id = (d->>'id')::bigint and j.id = any(v_jobs)
                    returning j.id)
                select coalesce(array_agg(id), '{}') into v_dead from dead;
                v_results := v_results || jsonb_build_object('unit', v_index, 'result', 'committed', 'dead', to_jsonb(v_dead));
            elsif v_unit->>'action' = 'fail' then
                with failed as (
                    update public.patch_jobs
                    set status = case when attempts >= max_attempts then 'dead' else 'failed' end,
                        finished_at = case when attempts >= max_attempts then v_now end,
                        error_kind = 'conflict', last_error = v_unit->>'error',
                        run_after = coalesce((v_unit->>'run_after')::timestamptz, v_now),
                        lease_owner = null, lease_until = null
                    where id = any(v_jobs)
                    returning id, status)
                select coalesce(array_agg(id) filter (where status = 'dead'), '{}') into v_dead from failed;
                v_results := v_results || jsonb_build_object('unit', v_index, 'result', 'failed', 'dead', to_jsonb(v_dead));
            elsif v_unit->>'action' = 'release' then
                update public.patch_jobs
                set status = 'pending', attempts = greatest(attempts - 1, 0), lease_owner = null, lease_until = null
                where id = any(v_jobs);
                v_results := v_results || jsonb_build_object('unit', v_index, 'result', 'released', 'dead', '[]'::jsonb);
            else
                raise exception 'commit_patch_batch: unknown action %', v_unit->>'action' using errcode = '22023';
            end if;
        exception
            when sqlstate 'SC001' then
                v_results := v_results || jsonb_build_object('unit', v_index, 'result', 'lease_lost', 'dead', '[]'::jsonb);
            when sqlstate 'SC002' then
                -- The unit's writes were rolled back; count the attempt (seed 000).
                update public.patch_jobs
                set attempts = attempts + 1, error_kind = 'conflict',
                    last_error = 'version conflict: the state changed while the patch was applied; retrying'
                where id = any(v_jobs) and status = 'processing' and lease_owner = p_owner;
                v_results := v_results || jsonb_build_object('unit', v_index, 'result', 'conflict', 'dead', '[]'::jsonb);
        end;
    end loop;
    return v_results;
end;
$$;

comment on function public.commit_patch_batch(text, jsonb, timestamptz) is
    'Commits, fails or releases each unit of a claimed batch; fenced by lease, CAS on version.';

-- The job's dry run and `remaining`; operators. Counts by state, and how many are due now.
-- plpgsql, not sql: a LANGUAGE sql function with SET search_path is never inlined and is
-- planned anew on every call; plpgsql keeps its plan per connection (the idle check runs it
-- on every cron tick).
create or replace function public.count_patch_jobs(p_now timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (
        select jsonb_build_object(
            'due', count(*) filter (where (status in ('pending', 'failed') and run_after <= coalesce(p_now, now()))
                                       or (status = 'processing' and lease_until < coalesce(p_now, now()))),
            'pending', count(*) filter (where status = 'pending'),
            'processing', count(*) filter (where status = 'processing'),
            'expired_leases', count(*) filter (where status = 'processing' and lease_until < coalesce(p_now, now())),
            'failed', count(*) filter (where status = 'failed'),
            'dead', count(*) filter (where status = 'dead'))
        from public.patch_jobs
        where status <> 'done');
end;
$$;

comment on function public.count_patch_jobs(timestamptz) is
    'Open patch jobs by status, and how many are due now.';

-- Operators: bring failed or dead jobs back to pending, due now, with a fresh attempt count.
-- Other jobs (done, pending, processing) are left alone. Returns how many were requeued.
create or replace function public.requeue_patch_jobs(p_ids bigint[], p_now timestamptz default null)
returns integer
language sql
security invoker
set search_path = public, pg_temp
as $$
    with requeued as (
        update public.patch_jobs
        set status = 'pending', attempts = 0, run_after = coalesce(p_now, now()),
            error_kind = null, last_error = null, finished_at = null,
            lease_owner = null, lease_until = null
        where id = any(p_ids) and status in ('failed', 'dead')
        returning 1)
    select count(*)::integer from requeued;
$$;

comment on function public.requeue_patch_jobs(bigint[], timestamptz) is
    'Requeues failed or dead patch jobs (operators); returns the number requeued.';

-- ============================================================================================
-- supabase/schemas/40_llm_jobs.sql
-- ============================================================================================

-- supabase/schemas/40_llm_jobs.sql: the state transitions of the LLM jobs (seed 000's memory
-- and schedule crons: src/jobs/memory, src/jobs/schedule) and the singleton lease that keeps
-- two overlapping runs from paying twice.
--
--   job_locks                             supacron's: one live lease per job name
--   acquire_job_lock / renew_job_lock / release_job_lock   take / extend / free it
--   memory_candidates                     memory: conversations due a summary (internal)
--   count_memory_candidates               memory: its dry run and `remaining`
--   pick_memory_conversations             memory: due conversations with everything the prompt
--                                         needs (one round trip)
--   commit_memory                         memory: the memory row + the cursor, in one transaction
--   fail_memory                           memory: an LLM failure (nothing written; backoff)
--   schedule_ticks                        supacron's: one row per fired slot of a schedule
--   due_schedules                         schedule: rows whose next_run_at has come (or is unset)
--   advance_schedules                     schedule: records ticks (fired / skipped) and the new
--                                         next_run_at computed in Rust, fenced per row
--   open_schedule_ticks                   schedule: pending or failed ticks, with prompt inputs
--   complete_schedule_tick                schedule: the post row + tick done, in one transaction
--   fail_schedule_tick                    schedule: an LLM failure (the tick stays retryable)
--   count_schedule_work                   schedule: its dry run and `remaining`
--
-- Every function takes p_now, so tests move time instead of sleeping. Idempotency is by
-- constraint: memories are unique per (conversation, first message) and written only when the
-- conversation's cursor is still where the run read it; ticks are unique per (schedule, slot);
-- posts are unique per tick. The counts are plpgsql (planned once per connection; a LANGUAGE
-- sql function with SET search_path is planned on every call).

-- ---------------------------------------------------------------------------------------------
-- job_locks: a singleton lease per job name. A lease, not a lock: a crashed holder's lease
-- simply expires at lease_until. A free lock is a row with lease_owner null or lease_until in
-- the past (or no row at all).
create table if not exists public.job_locks (
    job          text primary key,
    lease_owner  text,
    lease_until  timestamptz,
    acquired_at  timestamptz,
    updated_at   timestamptz not null default now()
);

comment on table public.job_locks is 'Singleton lease per job name (memory, schedule, ...).';

create or replace trigger job_locks_set_updated_at
    before update on public.job_locks
    for each row execute function public.set_updated_at();

-- Takes the lease of p_job for p_owner until p_now + p_lease_seconds, when it is free, expired,
-- or already p_owner's. Answers {"acquired": bool, "lease_owner": text, "lease_until": time}
-- (the holder's when not acquired).
create or replace function public.acquire_job_lock(
    p_job text, p_owner text, p_lease_seconds integer, p_now timestamptz default now())
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    held public.job_locks;
begin
    insert into public.job_locks as l (job, lease_owner, lease_until, acquired_at)
    values (p_job, p_owner, p_now + make_interval(secs => p_lease_seconds), p_now)
    on conflict (job) do update
        set lease_owner = excluded.lease_owner,
            lease_until = excluded.lease_until,
            acquired_at = excluded.acquired_at
        where l.lease_owner is null
           or l.lease_until is null
           or l.lease_until <= p_now
           or l.lease_owner = p_owner
    returning * into held;
    if found then
        return jsonb_build_object('acquired', true, 'lease_owner', held.lease_owner,
                                  'lease_until', held.lease_until);
    end if;
    select * into held from public.job_locks where job = p_job;
    return jsonb_build_object('acquired', false, 'lease_owner', held.lease_owner,
                              'lease_until', held.lease_until);
end;
$$;

comment on function public.acquire_job_lock(text, text, integer, timestamptz) is
    'Takes the singleton lease of a job when free, expired or already the caller''s.';

-- Renewed before every paid call (src/jobs/lease.rs): a run never works without its lease.
-- Extends p_job's lease to at least p_now + p_lease_seconds if p_owner still holds it (even if
-- it expired meanwhile: nobody else took it). Answers {"held": bool, "lease_owner": text,
-- "lease_until": time} (the current holder's when not held).
create or replace function public.renew_job_lock(
    p_job text, p_owner text, p_lease_seconds integer, p_now timestamptz default now())
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    held public.job_locks;
begin
    update public.job_locks as l
    set lease_until = greatest(coalesce(l.lease_until, p_now),
                               p_now + make_interval(secs => p_lease_seconds))
    where l.job = p_job and l.lease_owner = p_owner
    returning * into held;
    if found then
        return jsonb_build_object('held', true, 'lease_owner', held.lease_owner,
                                  'lease_until', held.lease_until);
    end if;
    select * into held from public.job_locks where job = p_job;
    return jsonb_build_object('held', false, 'lease_owner', held.lease_owner,
                              'lease_until', held.lease_until);
end;
$$;

comment on function public.renew_job_lock(text, text, integer, timestamptz) is
    'Extends a job''s lease while the caller still holds it; says who holds it otherwise.';

-- Frees the lease of p_job if p_owner still holds it. Answers whether it did.
create or replace function public.release_job_lock(p_job text, p_owner text)
returns boolean
language sql
security invoker
set search_path = public, pg_temp
as $$
    with released as (
        update public.job_locks
        set lease_owner = null, lease_until = null
        where job = p_job and lease_owner = p_owner
        returning 1
    )
    select exists (select 1 from released);
$$;

comment on function public.release_job_lock(text, text) is
    'Frees a job''s lease if the caller still holds it.';

-- ---------------------------------------------------------------------------------------------
-- Memory. Failures back off on the conversation (memory_attempts, memory_last_error,
-- memory_retry_after: columns supacron adds to the app's conversations).

-- Conversations with at least p_min_new messages after their cursor and not backing off.
create or replace function public.memory_candidates(p_min_new integer, p_now timestamptz)
returns table (conversation_id uuid, first_new_id bigint, new_count bigint)
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return query
    select c.id, min(m.id), count(*)
    from public.conversations c
    join public.messages m on m.conversation_id = c.id and m.id > c.memory_cursor
    where c.memory_retry_after is null or c.memory_retry_after <= p_now
    group by c.id
    having count(*) >= greatest(p_min_new, 1);
end;
$$;

comment on function public.memory_candidates(integer, timestamptz) is
    'Conversations due a memory summary (internal to the memory functions).';

create or replace function public.count_memory_candidates(p_min_new integer, p_now timestamptz default now())
returns bigint
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (select count(*) from public.memory_candidates(p_min_new, p_now));
end;
$$;

comment on function public.count_memory_candidates(integer, timestamptz) is
    'How many conversations the memory job would summarise now (dry run, remaining).';

-- Up to p_limit due conversations, oldest unsummarised message first, each with the
-- character, the latest memory's summary and the first p_max_messages new messages.
create or replace function public.pick_memory_conversations(
    p_min_new integer, p_limit integer, p_max_messages integer, p_now timestamptz default now())
returns table (
    conversation_id uuid,
    character_id uuid,
    character_name text,
    persona text,
    memory_cursor bigint,
    new_count bigint,
    previous_summary text,
    messages jsonb)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select c.id, ch.id, ch.name, ch.persona, c.memory_cursor, due.new_count,
           (select mem.summary from public.memories mem
            where mem.conversation_id = c.id
            order by mem.to_message_id desc limit 1),
           (select coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'role', m.role,
                                                         'content', m.content) order by m.id), '[]')
            from (select m.id, m.role, m.content from public.messages m
                  where m.conversation_id = c.id and m.id > c.memory_cursor
                  order by m.id
                  limit greatest(p_max_messages, 1)) m)
    from public.memory_candidates(p_min_new, p_now) due
    join public.conversations c on c.id = due.conversation_id
    join public.characters ch on ch.id = c.character_id
    order by due.first_new_id
    limit greatest(p_limit, 1);
$$;

comment on function public.pick_memory_conversations(integer, integer, integer, timestamptz) is
    'The memory job''s work: due conversations with their prompt inputs, oldest first.';

-- Writes the memory of messages p_from..p_to and moves the cursor to p_to, only if the cursor
-- is still p_expected_cursor (another run, or an operator, may have moved it). Answers
-- 'committed', 'moved' (cursor moved: nothing written) or 'duplicate' (a memory for these
-- messages exists: nothing written).
create or replace function public.commit_memory(
    p_conversation_id uuid,
    p_expected_cursor bigint,
    p_from bigint,
    p_to bigint,
    p_summary text,
    p_facts jsonb,
    p_model text,
    p_prompt_tokens integer default null,
    p_completion_tokens integer default null)
returns text
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_character_id uuid;
begin
    if p_from <= p_expected_cursor or p_to < p_from then
        raise exception 'memory range %..% does not follow cursor %', p_from, p_to, p_expected_cursor
            using errcode = '22023';
    end if;
    update public.conversations
    set memory_cursor = p_to, memory_attempts = 0, memory_last_error = null,
        memory_retry_after = null
    where id = p_conversation_id and memory_cursor = p_expected_cursor
    returning character_id into v_character_id;
    if not found then
        return 'moved';
    end if;
    insert into public.memories (conversation_id, character_id, from_message_id, to_message_id,
                                 summary, facts, model, prompt_tokens, completion_tokens)
    values (p_conversation_id, v_character_id, p_from, p_to, p_summary,
            coalesce(p_facts, '[]'), p_model, p_prompt_tokens, p_completion_tokens);
    return 'committed';
exception when unique_violation then
    -- Everything this call did is rolled back: the cursor stays where it was.
    return 'duplicate';
end;
$$;

comment on function public.commit_memory(uuid, bigint, bigint, bigint, text, jsonb, text, integer, integer) is
    'Writes a memory and advances the conversation''s cursor atomically (cursor compare-and-swap).';

-- Records a failed summarisation: nothing else changes; the conversation waits
-- 5 min x 2^(attempts - 1), at most 24 hours, before the memory job tries again.
create or replace function public.fail_memory(p_conversation_id uuid, p_error text, p_now timestamptz default now())
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    update public.conversations
    set memory_attempts = memory_attempts + 1,
        memory_last_error = left(p_error, 1000),
        memory_retry_after = p_now + least(interval '24 hours',
                                           interval '5 minutes' * power(2, least(memory_attempts, 12)))
    where id = p_conversation_id;
$$;

comment on function public.fail_memory(uuid, text, timestamptz) is
    'Records a failed memory summarisation and backs the conversation off.';

-- ---------------------------------------------------------------------------------------------
-- Schedule.

-- One slot of one schedule (supacron's bookkeeping). The tick is inserted (ON CONFLICT DO
-- NOTHING) before any content is generated, so unique (schedule_id, slot) is what makes a slot
-- fire at most once.
--   pending -> done     content stored in character_posts
--   pending -> failed   generation failed this run (attempts, last_error); retried later
--   pending -> skipped  a missed slot the catch-up policy decided not to fire
--   failed  -> done | failed | skipped   a later run retries (or gives up on) the slot
create table if not exists public.schedule_ticks (
    id           bigint generated by default as identity primary key,
    schedule_id  uuid not null references public.character_schedules (id) on delete cascade,
    slot         timestamptz not null,
    status       text not null default 'pending'
                 check (status in ('pending', 'done', 'skipped', 'failed')),
    attempts     integer not null default 0 check (attempts >= 0),
    last_error   text,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    constraint schedule_ticks_schedule_slot_key unique (schedule_id, slot)
);

comment on table public.schedule_ticks is 'Fired slots of character schedules, one per (schedule, slot).';

-- Unfinished ticks to retry.
create index if not exists schedule_ticks_open_idx on public.schedule_ticks (slot)
    where status in ('pending', 'failed');

create or replace trigger schedule_ticks_set_updated_at
    before update on public.schedule_ticks
    for each row execute function public.set_updated_at();

-- A post's tick (character_posts.tick_id, a column supacron adds to the app's table): the
-- post outlives its tick.
do $posts_tick$
begin
    if not exists (select 1 from pg_constraint
                   where conrelid = 'public.character_posts'::regclass
                     and conname = 'character_posts_tick_id_fkey') then
        alter table public.character_posts
            add constraint character_posts_tick_id_fkey
            foreign key (tick_id) references public.schedule_ticks (id) on delete set null;
    end if;
end;
$posts_tick$;

-- Enabled schedules whose next_run_at has come, or is unset (new, or invalid last time).
create or replace function public.due_schedules(p_now timestamptz default now(), p_limit integer default 500)
returns table (
    id uuid,
    cron_expr text,
    timezone text,
    catch_up text,
    catch_up_window_secs bigint,
    next_run_at timestamptz)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select s.id, s.cron_expr, s.timezone, s.catch_up,
           extract(epoch from s.catch_up_window)::bigint, s.next_run_at
    from public.character_schedules s
    where s.enabled and (s.next_run_at is null or s.next_run_at <= p_now)
    order by s.next_run_at nulls first, s.id
    limit greatest(p_limit, 1);
$$;

comment on function public.due_schedules(timestamptz, integer) is
    'Schedules the schedule job must look at now.';

-- Applies the plans computed in Rust. p_plans: [{"id", "expected_next_run_at", "next_run_at",
-- "fire": [slot...], "skip": [slot...], "error"}]. A plan applies only if the row's next_run_at
-- is still expected_next_run_at (a concurrent run applied it otherwise). Fired slots become
-- 'pending' ticks, skipped ones 'skipped' ticks (unique per schedule and slot, so a slot is
-- never recorded twice). Answers {"applied": n, "stale": n, "fired": n, "skipped": n}.
create or replace function public.advance_schedules(p_plans jsonb, p_now timestamptz default now())
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    plan record;
    v_applied integer := 0;
    v_stale integer := 0;
    v_fired integer := 0;
    v_skipped integer := 0;
    v_count integer;
begin
    for plan in
        select * from jsonb_to_recordset(p_plans) as x(
            id uuid, expected_next_run_at timestamptz, next_run_at timestamptz,
            fire jsonb, skip jsonb, error text)
    loop
        update public.character_schedules s
        set next_run_at = plan.next_run_at,
            last_run_at = case when jsonb_array_length(coalesce(plan.fire, '[]')) > 0
                               then p_now else s.last_run_at end,
            last_error = plan.error
        where s.id = plan.id
          and s.enabled
          and s.next_run_at is not distinct from plan.expected_next_run_at;
        if not found then
            v_stale := v_stale + 1;
            continue;
        end if;
        v_applied := v_applied + 1;
        insert into public.schedule_ticks (schedule_id, slot, status)
        select plan.id, slot::timestamptz, 'skipped'
        from jsonb_array_elements_text(coalesce(plan.skip, '[]')) slot
        on conflict (schedule_id, slot) do nothing;
        get diagnostics v_count = row_count;
        v_skipped := v_skipped + v_count;
        insert into public.schedule_ticks (schedule_id, slot, status)
        select plan.id, slot::timestamptz, 'pending'
        from jsonb_array_elements_text(coalesce(plan.fire, '[]')) slot
        on conflict (schedule_id, slot) do nothing;
        get diagnostics v_count = row_count;
        v_fired := v_fired + v_count;
    end loop;
    return jsonb_build_object('applied', v_applied, 'stale', v_stale,
                              'fired', v_fired, 'skipped', v_skipped);
end;
$$;

comment on function public.advance_schedules(jsonb, timestamptz) is
    'Records fired and skipped ticks and the next run time of schedules (fenced per row).';

-- Ticks waiting for content (pending, or failed fewer than p_max_attempts times) of enabled
-- schedules, with the character and its three latest memories. Dealt round-robin across
-- schedules: every schedule's oldest open tick first, then every schedule's second, and so on
-- (oldest slot first within a round), so one schedule's backlog cannot starve the others.
create or replace function public.open_schedule_ticks(
    p_limit integer default 100, p_max_attempts integer default 5)
returns table (
    tick_id bigint,
    slot timestamptz,
    attempts integer,
    schedule_id uuid,
    kind text,
    prompt text,
    timezone text,
    character_id uuid,
    character_name text,
    persona text,
    memories jsonb)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select t.id, t.slot, t.attempts, s.id, s.kind, s.prompt, s.timezone, ch.id, ch.name, ch.persona,
           (select coalesce(jsonb_agg(mem.summary order by mem.created_at desc), '[]')
            from (select mem.summary, mem.created_at from public.memories mem
                  where mem.character_id = ch.id
                  order by mem.created_at desc limit 3) mem)
    from (
        select t.id, t.schedule_id, t.slot, t.attempts,
               row_number() over (partition by t.schedule_id order by t.slot, t.id) as turn
        from public.schedule_ticks t
        join public.character_schedules s on s.id = t.schedule_id
        where t.status in ('pending', 'failed') and t.attempts < p_max_attempts and s.enabled
    ) t
    join public.character_schedules s on s.id = t.schedule_id
    join public.characters ch on ch.id = s.character_id
    order by t.turn, t.slot, t.id
    limit greatest(p_limit, 1);
$$;

comment on function public.open_schedule_ticks(integer, integer) is
    'Ticks the schedule job must generate content for (round-robin across schedules), with the prompt inputs.';

-- Stores the content of a tick and marks it done, in one transaction. Answers 'written', or
-- 'duplicate' when the tick already has its post (nothing written twice).
create or replace function public.complete_schedule_tick(
    p_tick_id bigint,
    p_content text,
    p_model text,
    p_prompt_tokens integer default null,
    p_completion_tokens integer default null)
returns text
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
begin
    insert into public.character_posts (character_id, schedule_id, tick_id, kind, content, model,
                                        prompt_tokens, completion_tokens)
    select s.character_id, s.id, t.id, s.kind, p_content, p_model, p_prompt_tokens, p_completion_tokens
    from public.schedule_ticks t
    join public.character_schedules s on s.id = t.schedule_id
    where t.id = p_tick_id and t.status in ('pending', 'failed')
    on conflict (tick_id) do nothing;
    if not found then
        return 'duplicate';
    end if;
    update public.schedule_ticks set status = 'done', last_error = null where id = p_tick_id;
    return 'written';
end;
$$;

comment on function public.complete_schedule_tick(bigint, text, text, integer, integer) is
    'Stores a tick''s post and marks the tick done (unique per tick).';

-- Records a failed generation: the tick stays open for the next run until it has failed
-- p_max_attempts times (see open_schedule_ticks).
create or replace function public.fail_schedule_tick(p_tick_id bigint, p_error text)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    update public.schedule_ticks
    set status = 'failed', attempts = attempts + 1, last_error = left(p_error, 1000)
    where id = p_tick_id and status in ('pending', 'failed');
$$;

comment on function public.fail_schedule_tick(bigint, text) is
    'Records a failed generation of a tick; it is retried on later runs.';

-- The schedule job's backlog: {"due_schedules": n, "waiting_for_fix": n, "open_ticks": n}.
-- Rows waiting for a fix (next_run_at unset with a last_error) are counted apart: the job
-- re-checks them every run, so only when all three are zero may it answer at once.
create or replace function public.count_schedule_work(
    p_now timestamptz default now(), p_max_attempts integer default 5)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return jsonb_build_object(
        'due_schedules', (select count(*) from public.character_schedules s
                          where s.enabled
                            and (s.next_run_at <= p_now
                                 or (s.next_run_at is null and s.last_error is null))),
        'waiting_for_fix', (select count(*) from public.character_schedules s
                            where s.enabled and s.next_run_at is null
                              and s.last_error is not null),
        'open_ticks', (select count(*) from public.schedule_ticks t
                       join public.character_schedules s on s.id = t.schedule_id
                       where t.status in ('pending', 'failed') and t.attempts < p_max_attempts
                         and s.enabled));
end;
$$;

comment on function public.count_schedule_work(timestamptz, integer) is
    'How much the schedule job has to do now (dry run, remaining).';

-- ============================================================================================
-- supabase/schemas/50_training.sql
-- ============================================================================================

-- supabase/schemas/50_training.sql: the state transitions of the training jobs (seed 002:
-- src/jobs/outcomes, src/jobs/rewards; the tables are the app's, 10_app_contract.sql).
--
--   record_outcomes         outcomes: one outcome per decision whose item is terminal
--   count_pending_outcomes  its dry run and `remaining`
--   pending_rewards         rewards: decisions with an outcome, no reward
--   write_rewards           ... writes computed rewards (guarded by reward IS NULL) or errors
--   count_pending_rewards   its dry run (seed 002's "returns count of pending rewards")
--
-- Idempotency by constraint: outcomes.decision_id is unique (ON CONFLICT DO NOTHING), and a
-- reward is only written where reward IS NULL, so overlapping or repeated runs are harmless.
-- A decision whose data makes no sense gets a readable last_error and is skipped from then on;
-- clear last_error to have it considered again.

-- Records up to p_limit outcomes, oldest decisions first. A decision whose item reached its
-- terminal state before the decision was made, or whose times are not finite (timestamptz
-- allows 'infinity'; it has no duration), is not given an outcome: its last_error says why,
-- in the same statement, and the batch goes on.
-- Answers {"candidates": n, "inserted": n, "invalid": n}.
create or replace function public.record_outcomes(p_limit integer default 1000)
returns jsonb
language sql
security invoker
set search_path = public, pg_temp
as $$
    with candidates as (
        select d.id as decision_id, d.item_id, i.status, i.status_changed_at as reached_at, d.decided_at,
               isfinite(i.status_changed_at) and isfinite(d.decided_at) as finite
        from public.decisions d
        join public.items i on i.id = d.item_id
        where i.status in ('DONE', 'COLD_STORAGE')
          and d.last_error is null
          and not exists (select 1 from public.outcomes o where o.decision_id = d.id)
        order by d.decided_at, d.id
        limit greatest(p_limit, 1)
    ),
    invalid as (
        update public.decisions d
        set last_error = case
            when not c.finite then format(
                'outcome cannot be computed: item %s reached %s at %s and the decision was made at %s; '
                'an infinite time has no duration (fix the time, then clear last_error)',
                c.item_id, c.status, c.reached_at, c.decided_at)
            else format(
                'outcome makes no sense: item %s reached %s at %s, before the decision was made at %s',
                c.item_id, c.status, c.reached_at, c.decided_at) end
        from candidates c
        -- last_error is checked again here: a run overlapping this one may have set it after
        -- our snapshot, and the row lock makes this UPDATE see its write, so only one counts it.
        where d.id = c.decision_id and (not c.finite or c.reached_at < c.decided_at)
          and d.last_error is null
        returning d.id
    ),
    inserted as (
        insert into public.outcomes (decision_id, item_id, terminal_status, reached_at, resolution_seconds)
        select c.decision_id, c.item_id, c.status, c.reached_at, extract(epoch from c.reached_at - c.decided_at)
        from candidates c
        where c.finite and c.reached_at >= c.decided_at
        on conflict (decision_id) do nothing
        returning decision_id
    )
    select jsonb_build_object(
        'candidates', (select count(*) from candidates),
        'inserted', (select count(*) from inserted),
        'invalid', (select count(*) from invalid));
$$;

comment on function public.record_outcomes(integer) is
    'Records outcomes of decisions whose item is terminal (unique per decision); non-finite times are refused per decision.';

-- Decisions that would get an outcome now.
create or replace function public.count_pending_outcomes()
returns bigint
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (
        select count(*)
        from public.decisions d
        join public.items i on i.id = d.item_id
        where i.status in ('DONE', 'COLD_STORAGE')
          and d.last_error is null
          and not exists (select 1 from public.outcomes o where o.decision_id = d.id));
end;
$$;

comment on function public.count_pending_outcomes() is 'Decisions waiting for an outcome.';

-- Up to p_limit decisions with an outcome and no reward, oldest first, with what the reward
-- function needs.
create or replace function public.pending_rewards(p_limit integer default 1000)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(to_jsonb(p) order by p.decided_at, p.id), '[]'::jsonb)
    from (
        select d.id, d.action, d.confidence, d.decided_at,
               o.terminal_status, o.reached_at, o.resolution_seconds
        from public.decisions d
        join public.outcomes o on o.decision_id = d.id
        where d.reward is null and d.last_error is null
        order by d.decided_at, d.id
        limit greatest(p_limit, 1)
    ) p;
$$;

comment on function public.pending_rewards(integer) is 'Decisions with an outcome and no reward yet.';

-- Writes rewards computed by the job: p_rewards is an array of
--   {"id": uuid, "reward": number, "details": object, "version": integer}  or
--   {"id": uuid, "error": text}
-- Only where reward IS NULL: a reward written meanwhile by someone else is never overwritten
-- (counted as skipped). Answers {"written": n, "errors": n, "skipped": n}.
create or replace function public.write_rewards(p_rewards jsonb, p_now timestamptz default null)
returns jsonb
language sql
security invoker
set search_path = public, pg_temp
as $$
    with r as (
        select * from jsonb_to_recordset(p_rewards)
            as r(id uuid, reward double precision, details jsonb, version integer, error text)
    ),
    written as (
        update public.decisions d
        set reward = r.reward, reward_details = r.details, reward_version = r.version,
            reward_computed_at = coalesce(p_now, now()), last_error = null
        from r
        where d.id = r.id and r.error is null and d.reward is null
        returning d.id
    ),
    errors as (
        update public.decisions d
        set last_error = r.error
        from r
        where d.id = r.id and r.error is not null and d.reward is null
        returning d.id
    )
    select jsonb_build_object(
        'written', (select count(*) from written),
        'errors', (select count(*) from errors),
        'skipped', (select count(*) from r) - (select count(*) from written) - (select count(*) from errors));
$$;

comment on function public.write_rewards(jsonb, timestamptz) is
    'Writes computed rewards (or errors) where reward is still null.';

-- Seed 002's count of pending rewards, and how many decisions carry an error.
create or replace function public.count_pending_rewards()
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (
        select jsonb_build_object(
            'pending', count(*) filter (where d.last_error is null),
            'invalid', count(*) filter (where d.last_error is not null))
        from public.decisions d
        join public.outcomes o on o.decision_id = d.id
        where d.reward is null);
end;
$$;

comment on function public.count_pending_rewards() is 'Decisions with an outcome and no reward.';

-- ============================================================================================
-- supabase/schemas/60_status.sql
-- ============================================================================================

-- supabase/schemas/60_status.sql: what the status function (src/status, src/function/status.rs)
-- and any PostgREST client read (supacron's own).
--   cron_run_summary_at / cron_run_summary   per job: last run, last success, 24 h, missing tick
--   queue_health_at / queue_health           per job: pending, due, processing, expired, dead
--   status_report                            the status function's one round trip
-- The views are the functions at now() (security_invoker, so they never show more than the
-- caller may read); tests call the functions with an exact moment instead of racing the clock.
-- The functions are plpgsql so their large bodies are planned once per connection, and
-- `#variable_conflict use_column` keeps every column name meaning the column. The run summary
-- reads each job's runs by index probes on (job, started_at): its cost does not grow with the
-- history.

-- Per job (every scheduled job, and any other job with runs): its latest run, its latest
-- completed run (ok or partial), and the last 24 hours. Dry runs are left out. A run still
-- `running` past maxDuration + 60 s is shown as `error` (it did not finish).
-- last_expected_tick: the newest tick of the schedule at or before p_now - tick_grace;
-- last_tick_missing: that tick came after the schedule was registered and no scheduled run
-- (Vercel Cron or supacron's scheduler; manual runs do not count) started since a minute
-- before it.
create or replace function public.cron_run_summary_at(p_now timestamptz default null)
returns table (
    job text, schedule text, last_run_id uuid, last_status text, last_trigger text,
    last_started_at timestamptz, last_finished_at timestamptz, last_duration_ms integer,
    last_error text, last_counts jsonb, last_success_at timestamptz, running boolean,
    runs_24h bigint, failures_24h bigint, skipped_24h bigint, p50_duration_ms_24h integer,
    p95_duration_ms_24h integer, last_expected_tick timestamptz, last_tick_missing boolean)
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
#variable_conflict use_column
declare
    v_now timestamptz := coalesce(p_now, now());
begin
    return query
    with recursive run_jobs(job) as (
        (select r.job from public.cron_runs r order by r.job limit 1)
        union all
        select (select r.job from public.cron_runs r where r.job > run_jobs.job
                order by r.job limit 1)
        from run_jobs where run_jobs.job is not null
    ),
    jobs as (
        select s.job from public.cron_schedules s
        union
        select rj.job from run_jobs rj
        where rj.job is not null
          and exists (select 1 from public.cron_runs r
                      where r.job = rj.job and not r.dry_run and r.started_at <= v_now)
    )
    select
        j.job,
        s.schedule,
        latest.run_id,
        case when latest.status = 'running'
                  and latest.started_at < v_now - make_interval(secs => coalesce(s.max_duration_secs, 300) + 60)
             then 'error' else latest.status end,
        latest.trigger,
        latest.started_at,
        latest.finished_at,
        latest.duration_ms,
        case when latest.status = 'running'
                  and latest.started_at < v_now - make_interval(secs => coalesce(s.max_duration_secs, 300) + 60)
             then format('the run''s end is not recorded and maxDuration (%s s) has passed: it was killed, the process died, or it could not write its end (see its log line)',
                         coalesce(s.max_duration_secs, 300))
             else latest.error end,
        latest.counts,
        (select r.started_at from public.cron_runs r
         where r.job = j.job and not r.dry_run and r.started_at <= v_now
           and r.status in ('ok', 'partial')
         order by r.started_at desc limit 1),
        exists (select 1 from public.cron_runs r
                where r.job = j.job and r.status = 'running' and not r.dry_run
                  and r.started_at <= v_now
                  and r.started_at >= v_now - make_interval(secs => coalesce(s.max_duration_secs, 300) + 60)),
        day.runs,
        day.failures,
        day.skipped,
        day.p50,
        day.p95,
        tick.at,
        tick.at is not null
            and tick.at >= s.created_at
            and not exists (
                select 1 from public.cron_runs r
                where r.job = j.job and not r.dry_run and r.started_at <= v_now
                  and r.trigger in ('vercel_cron', 'scheduler')
                  and r.started_at >= tick.at - interval '1 minute')
    from jobs j
    left join public.cron_schedules s on s.job = j.job
    left join lateral (
        select r.* from public.cron_runs r
        where r.job = j.job and not r.dry_run and r.started_at <= v_now
        order by r.started_at desc, r.id desc limit 1
    ) latest on true
    left join lateral (
        select count(*) as runs,
               count(*) filter (where r.status = 'error'
                                   or (r.status = 'running'
                                       and r.started_at < v_now - make_interval(secs => coalesce(s.max_duration_secs, 300) + 60)))
                   as failures,
               count(*) filter (where r.status = 'skipped') as skipped,
               (percentile_cont(0.5) within group (order by r.duration_ms))::integer as p50,
               (percentile_cont(0.95) within group (order by r.duration_ms))::integer as p95
        from public.cron_runs r
        where r.job = j.job and not r.dry_run
          and r.started_at > v_now - interval '24 hours' and r.started_at <= v_now
    ) day on true
    left join lateral (
        select public.cron_previous_tick(s.schedule, v_now - s.tick_grace) as at
    ) tick on true
    order by j.job;
end;
$$;

comment on function public.cron_run_summary_at(timestamptz) is
    'Per job at p_now: latest run, latest success, 24 h counts and durations, missing tick.';

-- Per kind of work, at p_now: how much waits, how much is due, what is being worked on under a
-- live lease, what a dead run left behind (expired leases), what failed and will be retried,
-- and what was given up on; oldest_due_at is the longest any due item has waited.
--   patch     patch_jobs (due = pending/failed past run_after, or processing with expired lease)
--   memory    conversations: pending = with unsummarised messages; due = memory candidates at
--             p_memory_min_new (the job's MEMORY_MIN_NEW_MESSAGES; the view uses the default
--             10); failed = backing off after a failed summary (memory_retry_after ahead)
--   schedule  due = schedules count_schedule_work counts; pending / failed = open ticks
--             (failed fewer than 5 times); dead = ticks given up on (5 failures) and enabled
--             rows waiting for a fix (no next_run_at, a last_error)
--   outcomes  decisions on terminal items without an outcome; dead = refused (last_error)
--   rewards   decisions with an outcome and no reward; dead = refused (last_error)
-- For memory and schedule, processing / expired_leases describe the job's job_locks row.
create or replace function public.queue_health_at(p_now timestamptz default null, p_memory_min_new integer default 10)
returns table (
    job                     text,
    pending                 bigint,
    due                     bigint,
    processing              bigint,
    expired_leases          bigint,
    failed                  bigint,
    dead                    bigint,
    oldest_due_at           timestamptz,
    oldest_due_age_seconds  bigint
)
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
#variable_conflict use_column
begin
    return query
    with now_ as (select coalesce(p_now, now()) as t),
        locks as (
            select l.job,
                   count(*) filter (where l.lease_owner is not null and l.lease_until >= (select t from now_)) as live,
                   count(*) filter (where l.lease_owner is not null and l.lease_until < (select t from now_)) as expired
            from public.job_locks l
            group by l.job
        ),
        patch as (
            select
                'patch'::text as job,
                count(*) filter (where status = 'pending') as pending,
                count(*) filter (where (status in ('pending', 'failed') and run_after <= (select t from now_))
                                    or (status = 'processing' and lease_until < (select t from now_))) as due,
                count(*) filter (where status = 'processing' and lease_until >= (select t from now_)) as processing,
                count(*) filter (where status = 'processing' and lease_until < (select t from now_)) as expired_leases,
                count(*) filter (where status = 'failed') as failed,
                count(*) filter (where status = 'dead') as dead,
                min(case when status in ('pending', 'failed') and run_after <= (select t from now_) then run_after
                         when status = 'processing' and lease_until < (select t from now_) then lease_until
                    end) as oldest_due_at
            from public.patch_jobs
            where status <> 'done'
        ),
        schedule as (
            select
                'schedule'::text as job,
                (select count(*) from public.schedule_ticks t
                 join public.character_schedules s on s.id = t.schedule_id
                 where s.enabled and t.status = 'pending' and t.attempts < 5) as pending,
                (select count(*) from public.character_schedules s
                 where s.enabled
                   and (s.next_run_at <= (select t from now_) or (s.next_run_at is null and s.last_error is null))) as due,
                coalesce((select live from locks where locks.job = 'schedule'), 0) as processing,
                coalesce((select expired from locks where locks.job = 'schedule'), 0) as expired_leases,
                (select count(*) from public.schedule_ticks t
                 join public.character_schedules s on s.id = t.schedule_id
                 where s.enabled and t.status = 'failed' and t.attempts < 5) as failed,
                (select count(*) from public.schedule_ticks t where t.status = 'failed' and t.attempts >= 5)
                  + (select count(*) from public.character_schedules s
                     where s.enabled and s.next_run_at is null and s.last_error is not null) as dead,
                least(
                    (select min(coalesce(s.next_run_at, s.created_at)) from public.character_schedules s
                     where s.enabled
                       and (s.next_run_at <= (select t from now_) or (s.next_run_at is null and s.last_error is null))),
                    (select min(t.slot) from public.schedule_ticks t
                     join public.character_schedules s on s.id = t.schedule_id
                     where s.enabled and t.status in ('pending', 'failed') and t.attempts < 5)) as oldest_due_at
        ),
        outcomes as (
            select
                'outcomes'::text as job,
                count(*) filter (where d.last_error is null) as pending,
                count(*) filter (where d.last_error is null) as due,
                0::bigint as processing,
                0::bigint as expired_leases,
                0::bigint as failed,
                count(*) filter (where d.last_error is not null) as dead,
                min(i.status_changed_at) filter (where d.last_error is null) as oldest_due_at
            from public.decisions d
            join public.items i on i.id = d.item_id
            where i.status in ('DONE', 'COLD_STORAGE')
              and not exists (select 1 from public.outcomes o where o.decision_id = d.id)
        ),
        rewards as (
            select
                'rewards'::text as job,
                count(*) filter (where d.last_error is null) as pending,
                count(*) filter (where d.last_error is null) as due,
                0::bigint as processing,
                0::bigint as expired_leases,
                0::bigint as failed,
                count(*) filter (where d.last_error is not null) as dead,
                min(o.created_at) filter (where d.last_error is null) as oldest_due_at
            from public.decisions d
            join public.outcomes o on o.decision_id = d.id
            where d.reward is null
        ),
        memory as (
            select
                'memory'::text as job,
                (select count(*) from public.conversations c
                 where exists (select 1 from public.messages m
                               where m.conversation_id = c.id and m.id > c.memory_cursor)) as pending,
                (select count(*) from public.memory_candidates(p_memory_min_new, (select t from now_))) as due,
                coalesce((select live from locks where locks.job = 'memory'), 0) as processing,
                coalesce((select expired from locks where locks.job = 'memory'), 0) as expired_leases,
                (select count(*) from public.conversations c
                 where c.memory_attempts > 0 and c.memory_retry_after > (select t from now_)) as failed,
                0::bigint as dead,
                (select min(m.created_at) from public.memory_candidates(p_memory_min_new, (select t from now_)) mc
                 join public.messages m on m.id = mc.first_new_id) as oldest_due_at
        ),
        all_kinds as (
            select * from patch
            union all select * from memory
            union all select * from schedule
            union all select * from outcomes
            union all select * from rewards
        )
        select a.job, a.pending, a.due, a.processing, a.expired_leases, a.failed, a.dead,
               a.oldest_due_at,
               case when a.oldest_due_at is null then null
                    else greatest(0, floor(extract(epoch from (select t from now_) - a.oldest_due_at)))::bigint
               end
        from all_kinds a;
end;
$$;

comment on function public.queue_health_at(timestamptz, integer) is
    'Per kind of work at p_now: pending, due, processing, expired leases, failed, dead, oldest due.';

-- The views PostgREST serves (service role only): the functions at now().
create or replace view public.queue_health
with (security_invoker = true)
as select * from public.queue_health_at(null, 10);

comment on view public.queue_health is
    'Per kind of work: pending, due, processing (live lease), expired leases, failed, dead, oldest due.';

create or replace view public.cron_run_summary
with (security_invoker = true)
as select * from public.cron_run_summary_at(null);

comment on view public.cron_run_summary is
    'Per job: last run, last success, runs and failures in 24 h, p50/p95 duration, missing tick.';

-- The status function's single round trip: both views at p_now, the latest dead patch jobs,
-- and (for the HTML page) every non-dry run of the last 24 hours as [job, started_at, status].
create or replace function public.status_report(
    p_now timestamptz default null,
    p_dead_limit integer default 10,
    p_timeline boolean default false,
    p_memory_min_new integer default 10
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
#variable_conflict use_column
begin
    return (
    select jsonb_build_object(
            'generated_at', coalesce(p_now, now()),
            'cron_run_summary', coalesce((select jsonb_agg(to_jsonb(s) order by s.job)
                                          from public.cron_run_summary_at(p_now) s), '[]'::jsonb),
            'queue_health', coalesce((select jsonb_agg(to_jsonb(q))
                                      from public.queue_health_at(p_now, p_memory_min_new) q), '[]'::jsonb),
            'dead_jobs', coalesce((select jsonb_agg(to_jsonb(d) order by d.finished_at desc nulls last, d.id desc)
                                   from (select id, conversation_id, attempts, error_kind, last_error, finished_at
                                         from public.patch_jobs
                                         where status = 'dead'
                                         order by finished_at desc nulls last, id desc
                                         limit greatest(p_dead_limit, 0)) d), '[]'::jsonb),
            'timeline', case when p_timeline then
                coalesce((select jsonb_agg(jsonb_build_array(r.job, r.started_at,
                                     case when r.status = 'running'
                                               and r.started_at < coalesce(p_now, now())
                                                   - make_interval(secs => coalesce(s.max_duration_secs, 300) + 60)
                                          then 'error' else r.status end)
                                 order by r.started_at)
                          from public.cron_runs r
                          left join public.cron_schedules s on s.job = r.job
                          where not r.dry_run
                            and r.started_at > coalesce(p_now, now()) - interval '24 hours'
                            and r.started_at <= coalesce(p_now, now())), '[]'::jsonb)
            else null end));
end;
$$;

comment on function public.status_report(timestamptz, integer, boolean, integer) is
    'Everything the status page shows, in one call: both views, dead jobs, the 24 h timeline.';

-- ============================================================================================
-- supabase/schemas/70_console.sql
-- ============================================================================================

-- supabase/schemas/70_console.sql: the status page's operator console (issue #18; supacron's own).
--
-- The status function (src/function/status.rs, src/console/) lets a signed-in operator act from
-- the page. Everything it does goes through the functions below, and leaves a row in
-- console_actions (who: the console session; what; when; how many rows):
--   console_sign_in     records a sign-in (or a refused one) and throttles repeated failures
--   console_sign_out    records a sign-out: the session can no longer act, even with its cookie
--   console_act         one operator action, idempotent per form: requeue dead (and failed) patch
--                       jobs, clear an expired job lock, retry given-up schedule ticks and refused
--                       training rows, start a run of a job now
--   console_action_finished   the outcome of a run started by console_act
--   console_overview    what the page shows besides status_report: the latest actions, a notice
--   console_list        the drill-down lists (runs of a job, patch jobs, held conversations, ...)
--   console_patch_job   one patch job's history
-- Every function takes p_now, so tests move time instead of waiting.

create table if not exists public.console_actions (
    id           bigint generated always as identity primary key,
    -- The form's one-time key: a form submitted twice finds its first row and acts once.
    form_key     uuid unique,
    -- Who: the console session (32 hex digits; '' for a refused sign-in).
    session_id   text not null check (session_id ~ '^([0-9a-f]{32})?$'),
    -- The caller's address, for the sign-in throttle (x-forwarded-for on Vercel).
    client       text not null default '',
    action       text not null check (action ~ '^[a-z_]+$'),
    -- What: the ids or the job the action was about.
    target       jsonb not null default '{}' check (jsonb_typeof(target) = 'object'),
    outcome      text not null check (outcome in ('done', 'refused', 'running', 'failed')),
    -- How many rows it changed.
    rows         integer not null default 0 check (rows >= 0),
    -- The one line the page shows after the action.
    notice       text not null default '',
    -- A run started by run_job_now, and its answer.
    run_id       uuid,
    answer       jsonb,
    created_at   timestamptz not null default now(),
    finished_at  timestamptz
);

comment on table public.console_actions is
    'The status console''s audit log: every sign-in, sign-out and operator action (issue #18).';

create index if not exists console_actions_created_at_idx on public.console_actions (created_at desc, id desc);
create index if not exists console_actions_refused_sign_in_idx on public.console_actions (client, created_at)
    where action = 'sign_in' and outcome = 'refused';
create index if not exists console_actions_sign_out_idx on public.console_actions (session_id)
    where action = 'sign_out';

-- A sign-in attempt from p_client: refused without a trace while 5 attempts from that address
-- failed in the last 15 minutes ({"allowed": false, "retry_after_seconds": n}); otherwise
-- recorded (done, or refused when p_ok is false) and {"allowed": true}.
create or replace function public.console_sign_in(
    p_session text, p_client text, p_ok boolean, p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_failures integer;
    v_oldest timestamptz;
begin
    select count(*), min(f.created_at) into v_failures, v_oldest
    from (select a.created_at from public.console_actions a
          where a.action = 'sign_in' and a.outcome = 'refused' and a.client = coalesce(p_client, '')
            and a.created_at > v_now - interval '15 minutes' and a.created_at <= v_now
          order by a.created_at desc
          limit 5) f;
    if v_failures >= 5 then
        return jsonb_build_object(
            'allowed', false,
            'retry_after_seconds',
            greatest(1, ceil(extract(epoch from v_oldest + interval '15 minutes' - v_now)))::integer);
    end if;
    insert into public.console_actions (session_id, client, action, outcome, notice, created_at, finished_at)
    values (case when p_ok then p_session else '' end, coalesce(p_client, ''), 'sign_in',
            case when p_ok then 'done' else 'refused' end,
            case when p_ok then 'Signed in.' else 'Sign-in refused.' end, v_now, v_now);
    return jsonb_build_object('allowed', true);
end;
$$;

-- Records that p_session signed out: console_act refuses its actions from then on.
create or replace function public.console_sign_out(p_session text, p_client text, p_now timestamptz default null)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    insert into public.console_actions (session_id, client, action, outcome, notice, created_at, finished_at)
    values (p_session, coalesce(p_client, ''), 'sign_out', 'done', 'Signed out.',
            coalesce(p_now, now()), coalesce(p_now, now()));
$$;

-- The ids in p_target->'ids' (null when absent or empty).
create or replace function public.console_target_ids(p_target jsonb)
returns text[]
language sql
immutable
set search_path = public, pg_temp
as $$
    select nullif(array(select jsonb_array_elements_text(coalesce(p_target->'ids', '[]'::jsonb))), '{}');
$$;

-- One operator action of session p_session, submitted with the form key p_form_key. A form
-- submitted again finds its first row and changes nothing ("repeated": true). A signed-out
-- session acts no more ("signed_out": true). Answers the action's row as JSON.
--   requeue_dead_patch_jobs        target {"ids": [..]} or {"all": true}: dead and failed jobs
--                                  back to pending, fresh attempts, due now (requeue_patch_jobs)
--   clear_expired_job_lock         target {"job": "memory"}: only a lease that has expired
--   retry_given_up_schedule_ticks  target {"ids": [..]} or {"all": true}: ticks that failed
--                                  p_target->'max_attempts' times become pending with fresh attempts
--   retry_refused_training_rows    target {"job": "outcomes"|"rewards", "ids": [..] or "all": true}:
--                                  the decisions' last_error is cleared, so the job considers them again
--   run_job_now                    target {"job": ".."}: recorded as running; the caller runs the
--                                  job and writes its outcome with console_action_finished
create or replace function public.console_act(
    p_session text, p_form_key uuid, p_action text, p_target jsonb, p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_target jsonb := coalesce(p_target, '{}'::jsonb);
    v_all boolean := coalesce((v_target->>'all')::boolean, false);
    v_ids text[] := public.console_target_ids(v_target);
    v_job text := v_target->>'job';
    v_id bigint;
    v_rows integer := 0;
    v_outcome text := 'done';
    v_notice text;
    v_row public.console_actions;
begin
    if p_form_key is null then
        raise exception 'console_act needs a form key' using errcode = '22023';
    end if;
    if exists (select 1 from public.console_actions a
               where a.session_id = p_session and a.action = 'sign_out') then
        return jsonb_build_object('signed_out', true);
    end if;
    insert into public.console_actions (form_key, session_id, action, target, outcome, created_at)
    values (p_form_key, p_session, p_action, v_target, 'running', v_now)
    on conflict (form_key) do nothing
    returning id into v_id;
    if v_id is null then
        select * into v_row from public.console_actions a where a.form_key = p_form_key;
        return to_jsonb(v_row) || jsonb_build_object('repeated', true);
    end if;

    if p_action = 'requeue_dead_patch_jobs' then
        if v_all then
            v_rows := public.requeue_patch_jobs(
                array(select j.id from public.patch_jobs j where j.status in ('dead', 'failed')), v_now);
        elsif v_ids is not null then
            v_rows := public.requeue_patch_jobs(v_ids::bigint[], v_now);
        else
            v_outcome := 'refused';
            v_notice := 'Nothing to requeue: tick the jobs to requeue, or use "Requeue all".';
        end if;
        v_notice := coalesce(v_notice, format('Requeued %s dead or failed patch job%s (pending, due now).',
                                              v_rows, case when v_rows = 1 then '' else 's' end));
    elsif p_action = 'clear_expired_job_lock' then
        update public.job_locks l
        set lease_owner = null, lease_until = null, updated_at = v_now
        where l.job = v_job and l.lease_owner is not null and l.lease_until < v_now;
        get diagnostics v_rows = row_count;
        v_notice := case when v_rows = 1
                         then format('Cleared the expired lock of the %s job.', v_job)
                         else format('The %s job holds no expired lock: nothing changed.', coalesce(v_job, '(none)')) end;
    elsif p_action = 'retry_given_up_schedule_ticks' then
        if not v_all and v_ids is null then
            v_outcome := 'refused';
            v_notice := 'Nothing to retry: tick the ticks to retry, or use "Retry all".';
        else
            update public.schedule_ticks t
            set status = 'pending', attempts = 0, last_error = null, updated_at = v_now
            where t.status = 'failed'
              and t.attempts >= coalesce((v_target->>'max_attempts')::integer, 5)
              and (v_all or t.id = any(v_ids::bigint[]));
            get diagnostics v_rows = row_count;
            v_notice := format('%s given-up schedule tick%s will be tried again by the next schedule run.',
                               v_rows, case when v_rows = 1 then '' else 's' end);
        end if;
    elsif p_action = 'retry_refused_training_rows' then
        if v_job is distinct from 'outcomes' and v_job is distinct from 'rewards' then
            v_outcome := 'refused';
            v_notice := format('Unknown training job %s: use outcomes or rewards.', coalesce(v_job, '(none)'));
        elsif not v_all and v_ids is null then
            v_outcome := 'refused';
            v_notice := 'Nothing to retry: tick the rows to retry, or use "Retry all".';
        else
            update public.decisions d
            set last_error = null, updated_at = v_now
            where d.last_error is not null
              and (v_all or d.id = any(v_ids::uuid[]))
              and case when v_job = 'outcomes' then
                       exists (select 1 from public.items i
                               where i.id = d.item_id and i.status in ('DONE', 'COLD_STORAGE'))
                       and not exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  else
                       d.reward is null
                       and exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  end;
            get diagnostics v_rows = row_count;
            v_notice := format('%s refused row%s of the %s job will be considered again by its next run.',
                               v_rows, case when v_rows = 1 then '' else 's' end, v_job);
        end if;
    elsif p_action = 'run_job_now' then
        v_outcome := 'running';
        v_notice := format('Running the %s job…', coalesce(v_job, '(none)'));
    else
        v_outcome := 'refused';
        v_notice := format('Unknown action %s.', p_action);
    end if;

    update public.console_actions a
    set outcome = v_outcome, rows = v_rows, notice = v_notice,
        finished_at = case when v_outcome = 'running' then null else v_now end
    where a.id = v_id
    returning * into v_row;
    return to_jsonb(v_row) || jsonb_build_object('repeated', false);
end;
$$;

-- How a run started by console_act ended: its outcome (done or failed), rows, run id, answer.
create or replace function public.console_action_finished(
    p_id bigint, p_outcome text, p_rows integer, p_run_id uuid, p_answer jsonb, p_notice text,
    p_now timestamptz default null)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    update public.console_actions
    set outcome = p_outcome, rows = greatest(coalesce(p_rows, 0), 0), run_id = p_run_id,
        answer = p_answer, notice = p_notice, finished_at = coalesce(p_now, now())
    where id = p_id and outcome = 'running';
$$;

-- What the signed-in page shows besides status_report: whether p_session signed out, the
-- notice of action p_done, the latest p_limit actions, the expired job locks, and the counts
-- behind the retry buttons.
create or replace function public.console_overview(
    p_session text, p_done bigint default null, p_limit integer default 10,
    p_max_attempts integer default 5, p_now timestamptz default null)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'signed_out', exists (select 1 from public.console_actions a
                              where a.session_id = p_session and a.action = 'sign_out'),
        'notice', (select to_jsonb(a) from public.console_actions a where a.id = p_done),
        'actions', coalesce((select jsonb_agg(to_jsonb(a) order by a.created_at desc, a.id desc)
                             from (select * from public.console_actions
                                   order by created_at desc, id desc
                                   limit greatest(p_limit, 0)) a), '[]'::jsonb),
        'expired_locks', coalesce((select jsonb_agg(jsonb_build_object(
                                         'job', l.job, 'lease_owner', l.lease_owner,
                                         'lease_until', l.lease_until) order by l.job)
                                   from public.job_locks l
                                   where l.lease_owner is not null
                                     and l.lease_until < coalesce(p_now, now())), '[]'::jsonb),
        'given_up_ticks', (select count(*) from public.schedule_ticks t
                           where t.status = 'failed' and t.attempts >= p_max_attempts),
        'refused_outcomes', (select count(*) from public.decisions d
                             join public.items i on i.id = d.item_id
                             where d.last_error is not null and i.status in ('DONE', 'COLD_STORAGE')
                               and not exists (select 1 from public.outcomes o where o.decision_id = d.id)),
        'refused_rewards', (select count(*) from public.decisions d
                            where d.last_error is not null and d.reward is null
                              and exists (select 1 from public.outcomes o where o.decision_id = d.id)),
        'held_conversations', (select count(*) from (
                                   select distinct on (j.conversation_id) j.status
                                   from public.patch_jobs j
                                   where j.status in ('pending', 'processing', 'failed')
                                   order by j.conversation_id, j.id) f
                               where f.status = 'failed'));
$$;

-- A page of one drill-down list, newest first: {"total": n, "rows": [...]}.
--   runs          p_args {"job"}: the job's runs with counts and errors (cron_runs)
--   patch_jobs    p_args {"status": "dead"|"failed"|"open"|"all"}: patch jobs
--   held          conversations whose first open patch job is failed: it holds back the rest
--   ticks         schedule ticks given up on (failed p_args->'max_attempts' times)
--   refused       p_args {"job": "outcomes"|"rewards"}: decisions the job refused (last_error)
--   actions       the audit log (console_actions)
create or replace function public.console_list(
    p_view text, p_args jsonb default '{}', p_limit integer default 25, p_offset integer default 0,
    p_now timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
declare
    v_args jsonb := coalesce(p_args, '{}'::jsonb);
    v_limit integer := least(greatest(coalesce(p_limit, 25), 1), 200);
    v_offset integer := greatest(coalesce(p_offset, 0), 0);
    v_status text[];
    v_total bigint;
    v_rows jsonb;
begin
    if p_view = 'runs' then
        select count(*) into v_total from public.cron_runs r where r.job = v_args->>'job';
        select coalesce(jsonb_agg(to_jsonb(x) order by x.started_at desc, x.id desc), '[]') into v_rows
        from (select r.id, r.run_id, r.trigger, r.status, r.dry_run, r.started_at, r.finished_at,
                     r.duration_ms, r.counts, r.error
              from public.cron_runs r where r.job = v_args->>'job'
              order by r.started_at desc, r.id desc limit v_limit offset v_offset) x;
    elsif p_view = 'patch_jobs' then
        v_status := case coalesce(v_args->>'status', 'dead')
                        when 'dead' then array['dead']
                        when 'failed' then array['failed']
                        when 'open' then array['pending', 'processing', 'failed']
                        else array['pending', 'processing', 'failed', 'dead', 'done'] end;
        select count(*) into v_total from public.patch_jobs j where j.status = any(v_status);
        select coalesce(jsonb_agg(to_jsonb(x) order by x.updated_at desc, x.id desc), '[]') into v_rows
        from (select j.id, j.conversation_id, j.status, j.attempts, j.max_attempts, j.error_kind,
                     j.last_error, j.run_after, j.lease_owner, j.lease_until, j.updated_at, j.finished_at
              from public.patch_jobs j where j.status = any(v_status)
              order by j.updated_at desc, j.id desc limit v_limit offset v_offset) x;
    elsif p_view = 'held' then
        with first_open as (
            select distinct on (j.conversation_id) j.*
            from public.patch_jobs j
            where j.status in ('pending', 'processing', 'failed')
            order by j.conversation_id, j.id),
        held as (
            select f.conversation_id, f.id as failed_job_id, f.attempts, f.error_kind, f.last_error,
                   f.run_after,
                   (select count(*) from public.patch_jobs b
                    where b.conversation_id = f.conversation_id and b.id > f.id
                      and b.status in ('pending', 'processing', 'failed')) as held_jobs
            from first_open f where f.status = 'failed')
        select (select count(*) from held),
               coalesce((select jsonb_agg(to_jsonb(x) order by x.run_after, x.failed_job_id)
                         from (select * from held order by run_after, failed_job_id
                               limit v_limit offset v_offset) x), '[]')
        into v_total, v_rows;
    elsif p_view = 'ticks' then
        select count(*) into v_total from public.schedule_ticks t
        where t.status = 'failed' and t.attempts >= coalesce((v_args->>'max_attempts')::integer, 5);
        select coalesce(jsonb_agg(to_jsonb(x) order by x.updated_at desc, x.id desc), '[]') into v_rows
        from (select t.id, t.schedule_id, s.kind, c.name as character, t.slot, t.attempts,
                     t.last_error, t.updated_at
              from public.schedule_ticks t
              join public.character_schedules s on s.id = t.schedule_id
              join public.characters c on c.id = s.character_id
              where t.status = 'failed' and t.attempts >= coalesce((v_args->>'max_attempts')::integer, 5)
              order by t.updated_at desc, t.id desc limit v_limit offset v_offset) x;
    elsif p_view = 'refused' then
        with refused as (
            select d.id, d.item_id, d.action, d.decided_at, d.last_error, d.updated_at
            from public.decisions d
            where d.last_error is not null
              and case when v_args->>'job' = 'outcomes' then
                       exists (select 1 from public.items i
                               where i.id = d.item_id and i.status in ('DONE', 'COLD_STORAGE'))
                       and not exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  else
                       d.reward is null
                       and exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  end)
        select (select count(*) from refused),
               coalesce((select jsonb_agg(to_jsonb(x) order by x.updated_at desc, x.id)
                         from (select * from refused order by updated_at desc, id
                               limit v_limit offset v_offset) x), '[]')
        into v_total, v_rows;
    elsif p_view = 'actions' then
        select count(*) into v_total from public.console_actions;
        select coalesce(jsonb_agg(to_jsonb(x) order by x.created_at desc, x.id desc), '[]') into v_rows
        from (select * from public.console_actions
              order by created_at desc, id desc limit v_limit offset v_offset) x;
    else
        raise exception 'unknown console list %', p_view using errcode = '22023';
    end if;
    return jsonb_build_object('total', v_total, 'rows', v_rows);
end;
$$;

-- One patch job's history: the row (without its patch), the open jobs of its conversation, and
-- the console actions that named it. Null when there is no such job.
create or replace function public.console_patch_job(p_id bigint)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'job', to_jsonb(j) - 'patch',
        'patch_keys', (select coalesce(jsonb_agg(k order by k), '[]') from jsonb_object_keys(j.patch) k),
        'conversation_jobs', coalesce((select jsonb_agg(jsonb_build_object(
                                               'id', o.id, 'status', o.status, 'attempts', o.attempts,
                                               'run_after', o.run_after) order by o.id)
                                       from (select * from public.patch_jobs o
                                             where o.conversation_id = j.conversation_id
                                               and o.status in ('pending', 'processing', 'failed', 'dead')
                                             order by o.id limit 50) o), '[]'),
        'actions', coalesce((select jsonb_agg(to_jsonb(a) order by a.created_at desc)
                             from public.console_actions a
                             where a.action = 'requeue_dead_patch_jobs'
                               and (a.target->'ids' @> to_jsonb(array[j.id::text])
                                    or (a.target->>'all')::boolean)
                               and a.created_at >= j.created_at), '[]'))
    from public.patch_jobs j
    where j.id = p_id;
$$;

-- ============================================================================================
-- supabase/schemas/99_security.sql
-- ============================================================================================

-- supabase/schemas/99_security.sql: who may touch supacron's own objects.
--
-- Only the backend (service_role: the secret / service-role key) reads and writes them,
-- through PostgREST. The recipe (Supabase "Row Level Security", and the 2026 change that stops
-- auto-granting new public tables to the Data API roles):
--   1. RLS enabled on every supacron table, with NO policies: anon and authenticated could see
--      nothing even if a grant slipped in; service_role has BYPASSRLS.
--   2. Nothing granted to anon / authenticated / PUBLIC on supacron's tables, views, sequences
--      and functions (revoked by name, in case a project's default privileges granted
--      something when they were created: Supabase grants new public-schema functions to anon
--      and authenticated, and PostgreSQL grants EXECUTE to PUBLIC).
--   3. Explicit grants to service_role.
-- supacron grants and revokes its own objects only. It never changes default privileges, so
-- the app's own functions keep whatever the app grants them. The app's tables are the app's:
-- the ones an install creates are secured the same way where they are created
-- (10_app_contract.sql, step 5); existing ones keep their policies and grants.
-- Rule for a new object: add it to the lists below.

-- 1. Row level security, no policies.
alter table public.cron_runs       enable row level security;
alter table public.cron_schedules  enable row level security;
alter table public.job_locks       enable row level security;
alter table public.schedule_ticks  enable row level security;
alter table public.console_actions enable row level security;

-- 2. Nothing for the client-facing roles.
revoke all on table
    public.cron_runs, public.cron_schedules, public.job_locks, public.schedule_ticks,
    public.console_actions, public.queue_health, public.cron_run_summary
from public, anon, authenticated;

revoke all on sequence
    public.cron_runs_id_seq, public.schedule_ticks_id_seq, public.console_actions_id_seq
from public, anon, authenticated;

-- 3. The backend's role.
grant usage on schema public to service_role;

grant select, insert, update, delete on table
    public.cron_runs, public.cron_schedules, public.job_locks, public.schedule_ticks,
    public.console_actions
to service_role;

grant select on table public.queue_health, public.cron_run_summary to service_role;

grant usage, select on sequence
    public.cron_runs_id_seq, public.schedule_ticks_id_seq, public.console_actions_id_seq
to service_role;

-- 4. Functions: every supacron function, by signature. Trigger functions too (a trigger fires
-- whatever the caller's EXECUTE rights; revoking only stops direct calls such as
-- POST /rpc/set_updated_at).
do $functions$
declare
    f text;
begin
    foreach f in array array[
        'public.acquire_job_lock(text,text,integer,timestamp with time zone)',
        'public.advance_schedules(jsonb,timestamp with time zone)',
        'public.begin_cron_run(uuid,text,text,boolean,text,text,text,integer,jsonb,integer,integer,timestamp with time zone)',
        'public.claim_patch_batch(text,integer,integer,timestamp with time zone)',
        'public.commit_memory(uuid,bigint,bigint,bigint,text,jsonb,text,integer,integer)',
        'public.commit_patch_batch(text,jsonb,timestamp with time zone)',
        'public.complete_schedule_tick(bigint,text,text,integer,integer)',
        'public.console_act(text,uuid,text,jsonb,timestamp with time zone)',
        'public.console_action_finished(bigint,text,integer,uuid,jsonb,text,timestamp with time zone)',
        'public.console_list(text,jsonb,integer,integer,timestamp with time zone)',
        'public.console_overview(text,bigint,integer,integer,timestamp with time zone)',
        'public.console_patch_job(bigint)',
        'public.console_sign_in(text,text,boolean,timestamp with time zone)',
        'public.console_sign_out(text,text,timestamp with time zone)',
        'public.console_target_ids(jsonb)',
        'public.count_memory_candidates(integer,timestamp with time zone)',
        'public.count_patch_jobs(timestamp with time zone)',
        'public.count_pending_outcomes()',
        'public.count_pending_rewards()',
        'public.count_schedule_work(timestamp with time zone,integer)',
        'public.create_character_state()',
        'public.create_conversation_state()',
        'public.cron_expression_valid(text)',
        'public.cron_field_bits(text,integer,integer)',
        'public.cron_field_values(text,integer,integer)',
        'public.cron_job_pending(text,jsonb,timestamp with time zone)',
        'public.cron_previous_tick(text,timestamp with time zone)',
        'public.cron_run_housekeeping(text,text,text,integer,timestamp with time zone)',
        'public.cron_run_summary_at(timestamp with time zone)',
        'public.due_schedules(timestamp with time zone,integer)',
        'public.enqueue_patch_job(uuid,jsonb,uuid,text,integer)',
        'public.fail_memory(uuid,text,timestamp with time zone)',
        'public.fail_schedule_tick(bigint,text)',
        'public.finish_cron_run(uuid,text,text,text,integer,jsonb,text,boolean,text,integer,timestamp with time zone,text,text,integer)',
        'public.items_bump_status_changed_at()',
        'public.memory_candidates(integer,timestamp with time zone)',
        'public.open_schedule_ticks(integer,integer)',
        'public.pending_rewards(integer)',
        'public.pick_memory_conversations(integer,integer,integer,timestamp with time zone)',
        'public.prune_cron_runs(interval,timestamp with time zone)',
        'public.queue_health_at(timestamp with time zone,integer)',
        'public.read_patch_states(uuid[],uuid[])',
        'public.record_outcomes(integer)',
        'public.release_job_lock(text,text)',
        'public.renew_job_lock(text,text,integer,timestamp with time zone)',
        'public.requeue_patch_jobs(bigint[],timestamp with time zone)',
        'public.set_updated_at()',
        'public.status_report(timestamp with time zone,integer,boolean,integer)',
        'public.supacron_app_contract()',
        'public.supacron_schema_version()',
        'public.write_rewards(jsonb,timestamp with time zone)'
    ] loop
        execute format('revoke all on function %s from public, anon, authenticated', f);
        execute format('grant execute on function %s to service_role', f);
    end loop;
end;
$functions$;
