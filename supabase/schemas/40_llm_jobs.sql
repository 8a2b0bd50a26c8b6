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
--   llm_spend_days                        supacron's: tokens per LLM job and UTC day, against
--                                         LLM_DAILY_TOKEN_BUDGET
--   reserve_llm_tokens / settle_llm_tokens  before / after a paid call: reserve its worst case
--                                         within the day's budget, then settle what was billed
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

-- ---------------------------------------------------------------------------------------------
-- The daily token budget (LLM_DAILY_TOKEN_BUDGET, docs/jobs/llm.md "The daily token budget"):
-- per job and UTC day (the database's clock, so runs on machines whose clocks disagree share one
-- day), tokens spent (settled), tokens reserved by calls in flight, calls, unusable calls, the cap
-- last checked against, and when a reservation was first refused that day. A run that dies
-- between reserve and settle leaves its reservation counted until the day ends.
create table if not exists public.llm_spend_days (
    job             text not null,
    day             date not null,
    spent_tokens    bigint not null default 0 check (spent_tokens >= 0),
    reserved_tokens bigint not null default 0 check (reserved_tokens >= 0),
    llm_calls       bigint not null default 0 check (llm_calls >= 0),
    unusable_calls  bigint not null default 0 check (unusable_calls >= 0),
    cap_tokens      bigint,
    cap_reached_at  timestamptz,
    updated_at      timestamptz not null default now(),
    reserved_until  timestamptz,
    primary key (job, day)
);

comment on table public.llm_spend_days is
    'LLM tokens per job and UTC day: spent, reserved by calls in flight, and the daily cap (LLM_DAILY_TOKEN_BUDGET).';

-- Reserves p_tokens of p_job's budget for today (UTC, the database's clock) if the day's spent
-- and reserved tokens plus p_tokens stay within p_cap. Answers {"reserved": bool, "day": date,
-- "used": spent + reserved after the attempt, "cap": p_cap}. A reservation is held for
-- p_hold_seconds (the caller's time budget plus a margin: no call can still settle later).
-- When every reservation of the day has outlived its hold, the calls that made them are gone
-- (a run killed between reserving and settling) and their tokens are free again: without
-- that, a dead run's worst case stayed reserved until midnight.
create or replace function public.reserve_llm_tokens(
    p_job text, p_tokens bigint, p_cap bigint, p_hold_seconds integer default 3600,
    p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_day date := (v_now at time zone 'utc')::date;
    v_until timestamptz := v_now + make_interval(secs => greatest(p_hold_seconds, 1));
    v_used bigint;
begin
    insert into public.llm_spend_days (job, day) values (p_job, v_day)
    on conflict (job, day) do nothing;
    update public.llm_spend_days d
    set reserved_tokens = 0, reserved_until = null
    where d.job = p_job and d.day = v_day and d.reserved_tokens > 0
      and d.reserved_until < v_now;
    update public.llm_spend_days d
    set reserved_tokens = d.reserved_tokens + greatest(p_tokens, 0),
        reserved_until = greatest(d.reserved_until, v_until),
        cap_tokens = p_cap, updated_at = v_now
    where d.job = p_job and d.day = v_day
      and d.spent_tokens + d.reserved_tokens + greatest(p_tokens, 0) <= p_cap
    returning d.spent_tokens + d.reserved_tokens into v_used;
    if found then
        return jsonb_build_object('reserved', true, 'day', v_day, 'used', v_used, 'cap', p_cap);
    end if;
    update public.llm_spend_days d
    set cap_tokens = p_cap, cap_reached_at = coalesce(d.cap_reached_at, v_now), updated_at = v_now
    where d.job = p_job and d.day = v_day
    returning d.spent_tokens + d.reserved_tokens into v_used;
    return jsonb_build_object('reserved', false, 'day', v_day, 'used', v_used, 'cap', p_cap);
end;
$$;

comment on function public.reserve_llm_tokens(text, bigint, bigint, integer, timestamptz) is
    'Reserves tokens of a job''s daily LLM budget for one call, if they fit under the cap; frees reservations whose hold has passed.';

-- Replaces p_reserved tokens reserved on p_day by what the call was billed.
create or replace function public.settle_llm_tokens(
    p_job text, p_day date, p_reserved bigint, p_tokens bigint, p_calls integer,
    p_unusable integer)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    update public.llm_spend_days d
    set reserved_tokens = greatest(d.reserved_tokens - greatest(p_reserved, 0), 0),
        spent_tokens = d.spent_tokens + greatest(p_tokens, 0),
        llm_calls = d.llm_calls + greatest(p_calls, 0),
        unusable_calls = d.unusable_calls + greatest(p_unusable, 0),
        updated_at = now()
    where d.job = p_job and d.day = p_day;
$$;

comment on function public.settle_llm_tokens(text, date, bigint, bigint, integer, integer) is
    'Settles one LLM call: its reservation is replaced by what it was billed.';
