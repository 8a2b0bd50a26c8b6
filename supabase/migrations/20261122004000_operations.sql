-- 20261122004000_operations.sql: run history, queue health and the status page (issue #9).
--
--   cron_schedules        each job's schedule (vercel.json), maxDuration and tick grace; the
--                         functions keep it current (start_cron_run), the migration seeds it
--   cron_expression_valid the CHECK of cron_schedules.schedule
--   cron_previous_tick    the latest minute <= a time matching a 5-field cron expression (UTC)
--   start_cron_run        a function invocation begins: one `running` row in cron_runs
--   finish_cron_run       ... ends: the same row gets status, counts, error (or is inserted
--                         then, if the start could not be recorded); old rows are pruned
--   prune_cron_runs       operators: drop run history older than p_keep (default 30 days)
--   cron_run_summary_at / cron_run_summary   per job: last run, last success, 24 h, missing tick
--   queue_health_at / queue_health           per job: pending, due, processing, expired, dead
--   status_report         the status function's one round trip: both views, dead jobs, timeline
--
-- Why a `running` row first: a run killed at Vercel's maxDuration never reaches its finish;
-- its row stays `running`, and the next start of the same job marks it `error` ("did not
-- finish"). Both views are thin wrappers of functions taking p_now, so tests move time.

-- Dry runs are recorded too (every invocation leaves a row) but never count as the job's work.
alter table public.cron_runs add column dry_run boolean not null default false;

comment on column public.cron_runs.dry_run is '?dry_run=1: recorded, ignored by the summaries.';

-- The timeline and retention read by start time; the sweep of unfinished runs by status.
create index cron_runs_started_at_idx on public.cron_runs (started_at);
create index cron_runs_running_idx on public.cron_runs (job, started_at) where status = 'running';

-- The values one field of a cron expression allows, ascending. Fields are numeric (Vercel takes
-- no names such as MON or JAN): `*`, `n`, `a-b`, with an optional `/step`, comma-separated.
-- `a/step` means a..max. Day of week 7 is Sunday, like 0. Raises 22023 on a malformed field.
create function public.cron_field_values(p_field text, p_min integer, p_max integer)
returns integer[]
language plpgsql
immutable
strict
security invoker
set search_path = public, pg_temp
as $$
declare
    v_part text;
    v_range text;
    v_step integer;
    v_lo integer;
    v_hi integer;
    v_values integer[] := '{}';
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
        v_values := v_values || array(select generate_series(v_lo, v_hi, v_step));
    end loop;
    return array(select distinct v from unnest(v_values) v order by v);
end;
$$;

comment on function public.cron_field_values(text, integer, integer) is
    'The values one 5-field cron field allows, ascending.';

-- The latest minute at or before p_at (UTC) that the 5-field expression p_expr matches, or null
-- if none within four years. Standard cron semantics: when both day of month and day of week
-- are restricted (neither starts with `*`), a day matching either one matches.
create function public.cron_previous_tick(p_expr text, p_at timestamptz)
returns timestamptz
language plpgsql
immutable
strict
security invoker
set search_path = public, pg_temp
as $$
declare
    v_fields text[] := regexp_split_to_array(btrim(p_expr), '\s+');
    v_minutes integer[];
    v_hours integer[];
    v_doms integer[];
    v_months integer[];
    v_dows integer[];
    v_dom_any boolean;
    v_dow_any boolean;
    v_at timestamp := date_trunc('minute', p_at at time zone 'UTC');
    v_day date;
    v_dom_ok boolean;
    v_dow_ok boolean;
    v_hour integer;
    v_minute integer;
begin
    if array_length(v_fields, 1) is distinct from 5 then
        raise exception 'invalid cron expression `%`: 5 fields expected', p_expr using errcode = '22023';
    end if;
    v_minutes := cron_field_values(v_fields[1], 0, 59);
    v_hours := cron_field_values(v_fields[2], 0, 23);
    v_doms := cron_field_values(v_fields[3], 1, 31);
    v_months := cron_field_values(v_fields[4], 1, 12);
    v_dows := array(select distinct d % 7 from unnest(cron_field_values(v_fields[5], 0, 7)) d);
    v_dom_any := v_fields[3] like '*%';
    v_dow_any := v_fields[5] like '*%';
    for v_back in 0 .. 4 * 366 loop
        v_day := v_at::date - v_back;
        continue when not extract(month from v_day)::integer = any(v_months);
        v_dom_ok := extract(day from v_day)::integer = any(v_doms);
        v_dow_ok := extract(dow from v_day)::integer = any(v_dows);
        if v_dom_any or v_dow_any then
            continue when not (v_dom_ok and v_dow_ok);
        else
            continue when not (v_dom_ok or v_dow_ok);
        end if;
        for v_hour in select h from unnest(v_hours) h order by h desc loop
            continue when v_back = 0 and v_hour > extract(hour from v_at);
            for v_minute in select mi from unnest(v_minutes) mi order by mi desc loop
                continue when v_back = 0 and v_hour = extract(hour from v_at)
                              and v_minute > extract(minute from v_at);
                return (v_day + make_interval(hours => v_hour, mins => v_minute)) at time zone 'UTC';
            end loop;
        end loop;
    end loop;
    return null;
end;
$$;

comment on function public.cron_previous_tick(text, timestamptz) is
    'Latest minute <= p_at (UTC) matching a 5-field cron expression.';

-- True for a valid 5-field expression; raises 22023 naming the bad field otherwise (the CHECK
-- on cron_schedules.schedule, so a bad schedule is refused where it is written, not later by
-- every read of cron_run_summary).
create function public.cron_expression_valid(p_expr text)
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

-- The schedules the status page checks ticks against. Seeded with vercel.json's values; every
-- run of a function writes its own (Job::schedule in Rust, kept equal to vercel.json by a
-- test), so a changed schedule reaches this table with the first run after the deployment.
-- tick_grace: how late a tick may start before it counts as missing. Vercel Pro starts crons
-- within the minute; on Hobby (±59 min) set it to '1 hour'. Runs never overwrite it.
create table public.cron_schedules (
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

create trigger cron_schedules_set_updated_at
    before update on public.cron_schedules
    for each row execute function public.set_updated_at();

insert into public.cron_schedules (job, path, schedule, max_duration_secs) values
    ('patch',    '/api/cron/patch',                 '*/2 * * * *',  60),
    ('memory',   '/api/cron/memory',                '*/10 * * * *', 300),
    ('schedule', '/api/cron/schedule',              '0 * * * *',    300),
    ('outcomes', '/api/training/outcomes',          '15 * * * *',   120),
    ('rewards',  '/api/training/calculate-pending', '0 * * * *',    120);

alter table public.cron_schedules enable row level security;
revoke all on table public.cron_schedules from public, anon, authenticated;
grant select, insert, update, delete on table public.cron_schedules to service_role;

-- A function invocation begins (after its method, credentials and configuration were
-- accepted: refused requests are not runs). In one transaction:
--   * the job's schedule row is brought up to date (only when it changed);
--   * the job's own runs still `running` past maxDuration + 60 s become `error` ("did not
--     finish"): Vercel killed them, or the process died;
--   * the run's row is inserted as `running` (a repeated start of the same run_id is a no-op).
create function public.start_cron_run(
    p_run_id uuid,
    p_job text,
    p_trigger text,
    p_dry_run boolean default false,
    p_deployment_id text default null,
    p_schedule text default null,
    p_path text default null,
    p_max_duration_secs integer default null,
    p_now timestamptz default null
)
returns void
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_max integer;
begin
    if p_schedule is not null and p_path is not null and p_max_duration_secs is not null then
        insert into public.cron_schedules as s (job, path, schedule, max_duration_secs)
        values (p_job, p_path, p_schedule, p_max_duration_secs)
        on conflict (job) do update
            set path = excluded.path, schedule = excluded.schedule,
                max_duration_secs = excluded.max_duration_secs
            where (s.path, s.schedule, s.max_duration_secs)
                  is distinct from (excluded.path, excluded.schedule, excluded.max_duration_secs);
    end if;
    select coalesce(max_duration_secs, 300) into v_max from public.cron_schedules where job = p_job;
    v_max := coalesce(v_max, 300);
    update public.cron_runs
    set status = 'error',
        finished_at = started_at + make_interval(secs => v_max),
        error = format('the run did not finish: killed at maxDuration (%s s) or the process died; '
                       'search the function''s logs for its run_id', v_max)
    where job = p_job and status = 'running'
      and started_at < v_now - make_interval(secs => v_max + 60);
    insert into public.cron_runs (run_id, job, trigger, dry_run, deployment_id, started_at)
    values (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id, v_now)
    on conflict (run_id) do nothing;
end;
$$;

comment on function public.start_cron_run(uuid, text, text, boolean, text, text, text, integer, timestamptz) is
    'Records that a job run started (status running); marks the job''s unfinished runs past maxDuration as error.';

-- A function invocation ends. Sets the run's outcome; if its start was never recorded (the
-- database was unreachable then), inserts the whole row now, so each invocation that reached
-- the database at least once leaves exactly one row. Then prunes the job's runs that started
-- more than p_keep_days ago (index range on (job, started_at): cheap on every run).
create function public.finish_cron_run(
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
    p_now timestamptz default null
)
returns void
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
begin
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

comment on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz) is
    'Records how a job run ended (inserting the row if its start was not recorded); prunes old runs of the job.';

-- Operators: drop every run (of any job, also of jobs that no longer exist) older than p_keep.
create function public.prune_cron_runs(p_keep interval default '30 days', p_now timestamptz default null)
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

-- Per job (every scheduled job, and any other job with runs): its latest run, its latest
-- completed run (ok or partial), and the last 24 hours. Dry runs are left out. A run still
-- `running` past maxDuration + 60 s is shown as `error` (it did not finish).
-- last_expected_tick: the newest tick of the schedule at or before p_now - tick_grace;
-- last_tick_missing: that tick came after the schedule was registered and no scheduled run
-- (Vercel Cron or supacron's scheduler; manual runs do not count) started since a minute
-- before it.
create function public.cron_run_summary_at(p_now timestamptz default null)
returns table (
    job                   text,
    schedule              text,
    last_run_id           uuid,
    last_status           text,
    last_trigger          text,
    last_started_at       timestamptz,
    last_finished_at      timestamptz,
    last_duration_ms      integer,
    last_error            text,
    last_counts           jsonb,
    last_success_at       timestamptz,
    running               boolean,
    runs_24h              bigint,
    failures_24h          bigint,
    skipped_24h           bigint,
    p50_duration_ms_24h   integer,
    p95_duration_ms_24h   integer,
    last_expected_tick    timestamptz,
    last_tick_missing     boolean
)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    with now_ as (select coalesce(p_now, now()) as t),
    jobs as (
        select s.job from public.cron_schedules s
        union
        select distinct r.job from public.cron_runs r where not r.dry_run
    ),
    runs as (
        select r.*,
               case when r.status = 'running'
                         and r.started_at < (select t from now_)
                             - make_interval(secs => coalesce(s.max_duration_secs, 300) + 60)
                    then 'error' else r.status end as effective_status,
               coalesce(s.max_duration_secs, 300) as max_secs
        from public.cron_runs r
        left join public.cron_schedules s on s.job = r.job
        where not r.dry_run and r.started_at <= (select t from now_)
    )
    select
        j.job,
        s.schedule,
        latest.run_id,
        latest.effective_status,
        latest.trigger,
        latest.started_at,
        latest.finished_at,
        latest.duration_ms,
        case when latest.status = 'running' and latest.effective_status = 'error'
             then format('the run did not finish within maxDuration (%s s): killed, or the process died',
                         latest.max_secs)
             else latest.error end,
        latest.counts,
        (select max(r.started_at) from runs r
         where r.job = j.job and r.effective_status in ('ok', 'partial')),
        exists (select 1 from runs r where r.job = j.job and r.effective_status = 'running'),
        day.runs,
        day.failures,
        day.skipped,
        day.p50,
        day.p95,
        tick.at,
        tick.at is not null
            and tick.at >= s.created_at
            and not exists (
                select 1 from runs r
                where r.job = j.job and r.trigger in ('vercel_cron', 'scheduler')
                  and r.started_at >= tick.at - interval '1 minute')
    from jobs j
    left join public.cron_schedules s on s.job = j.job
    left join lateral (
        select * from runs r where r.job = j.job order by r.started_at desc, r.id desc limit 1
    ) latest on true
    left join lateral (
        select count(*) as runs,
               count(*) filter (where r.effective_status = 'error') as failures,
               count(*) filter (where r.effective_status = 'skipped') as skipped,
               (percentile_cont(0.5) within group (order by r.duration_ms))::integer as p50,
               (percentile_cont(0.95) within group (order by r.duration_ms))::integer as p95
        from runs r
        where r.job = j.job and r.started_at > (select t from now_) - interval '24 hours'
    ) day on true
    left join lateral (
        select public.cron_previous_tick(s.schedule, (select t from now_) - s.tick_grace) as at
    ) tick on true
    order by j.job;
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
create function public.queue_health_at(p_now timestamptz default null, p_memory_min_new integer default 10)
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
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
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
$$;

comment on function public.queue_health_at(timestamptz, integer) is
    'Per kind of work at p_now: pending, due, processing, expired leases, failed, dead, oldest due.';

-- The views PostgREST serves (service role only): the functions at now().
drop view public.queue_health;
drop view public.cron_run_summary;

create view public.queue_health
with (security_invoker = true)
as select * from public.queue_health_at(null, 10);

comment on view public.queue_health is
    'Per kind of work: pending, due, processing (live lease), expired leases, failed, dead, oldest due.';

create view public.cron_run_summary
with (security_invoker = true)
as select * from public.cron_run_summary_at(null);

comment on view public.cron_run_summary is
    'Per job: last run, last success, runs and failures in 24 h, p50/p95 duration, missing tick.';

-- The status function's single round trip: both views at p_now, the latest dead patch jobs,
-- and (for the HTML page) every non-dry run of the last 24 hours as [job, started_at, status].
create function public.status_report(
    p_now timestamptz default null,
    p_dead_limit integer default 10,
    p_timeline boolean default false,
    p_memory_min_new integer default 10
)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
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
        else null end);
$$;

comment on function public.status_report(timestamptz, integer, boolean, integer) is
    'Everything the status page shows, in one call: both views, dead jobs, the 24 h timeline.';

revoke all on table public.queue_health, public.cron_run_summary from public, anon, authenticated;
grant select on table public.queue_health, public.cron_run_summary to service_role;

revoke all on function public.cron_field_values(text, integer, integer) from public, anon, authenticated;
revoke all on function public.cron_previous_tick(text, timestamptz) from public, anon, authenticated;
revoke all on function public.cron_expression_valid(text) from public, anon, authenticated;
revoke all on function public.start_cron_run(uuid, text, text, boolean, text, text, text, integer, timestamptz) from public, anon, authenticated;
revoke all on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz) from public, anon, authenticated;
revoke all on function public.prune_cron_runs(interval, timestamptz) from public, anon, authenticated;
revoke all on function public.cron_run_summary_at(timestamptz) from public, anon, authenticated;
revoke all on function public.queue_health_at(timestamptz, integer) from public, anon, authenticated;
revoke all on function public.status_report(timestamptz, integer, boolean, integer) from public, anon, authenticated;

grant execute on function public.cron_field_values(text, integer, integer) to service_role;
grant execute on function public.cron_previous_tick(text, timestamptz) to service_role;
grant execute on function public.cron_expression_valid(text) to service_role;
grant execute on function public.start_cron_run(uuid, text, text, boolean, text, text, text, integer, timestamptz) to service_role;
grant execute on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz) to service_role;
grant execute on function public.prune_cron_runs(interval, timestamptz) to service_role;
grant execute on function public.cron_run_summary_at(timestamptz) to service_role;
grant execute on function public.queue_health_at(timestamptz, integer) to service_role;
grant execute on function public.status_report(timestamptz, integer, boolean, integer) to service_role;
