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
