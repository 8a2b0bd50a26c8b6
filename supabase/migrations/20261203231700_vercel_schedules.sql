-- 20261203231700_vercel_schedules.sql: Vercel Schedules beside crons (issue #17).
--
--   cron_runs        + trigger 'vercel_schedule' (a function target's CloudEvent dispatch),
--                    + status 'duplicate' (a second delivery of an execution already recorded),
--                    + schedule_name, execution_id (ce-id), scheduled_at (ce-vssscheduledat or
--                      the scheduler's slot), where the clock said so;
--                    + a unique index: one real run per (job, execution id), race-safe.
--   cron_schedules   + timezone (IANA, default UTC), jitter_minutes, schedule_name: the
--                    missing-tick check follows the schedule actually configured.
--   cron_previous_tick(expr, at, timezone)  the latest tick <= at in a time zone's wall clock
--                    (a local time that does not exist on a DST day is skipped, a repeated
--                    one counts once).
--   cron_run_housekeeping / begin_cron_run / finish_cron_run  take the clock's facts (the
--                    run's schedule name, execution id, scheduled time; the configured clock's
--                    time zone, jitter and name for cron_schedules); begin
--                    answers {"duplicate": true, "first_run_id", "first_status"} for an
--                    execution id already recorded, and records the delivery as `duplicate`.
--   cron_run_summary_at  ticks in the schedule's zone, late by up to its jitter; Schedules runs
--                    count as scheduled; duplicates are not the latest run (same columns).
-- Re-runnable, like the baseline (an install applies every migration again).
-- Bodies otherwise as of 20261203220400_cron_runs_truthful.sql (housekeeping, summary) and
-- 20261122008000_begin_cron_run.sql / 20261122006000_cron_runs_one_write.sql (begin, finish).

alter table public.cron_runs drop constraint if exists cron_runs_trigger_check;
alter table public.cron_runs add constraint cron_runs_trigger_check
    check (trigger in ('vercel_cron', 'vercel_schedule', 'manual', 'scheduler'));
alter table public.cron_runs drop constraint if exists cron_runs_status_check;
alter table public.cron_runs add constraint cron_runs_status_check
    check (status in ('running', 'ok', 'partial', 'error', 'skipped', 'duplicate'));
alter table public.cron_runs
    add column if not exists schedule_name text check (char_length(schedule_name) <= 256),
    add column if not exists execution_id text check (char_length(execution_id) <= 256),
    add column if not exists scheduled_at timestamptz;

comment on column public.cron_runs.schedule_name is 'The Vercel schedule''s name (ce-vssschedulename or vercel.json), if any.';
comment on column public.cron_runs.execution_id is 'The schedule execution id (ce-id): the same for every delivery of one occurrence.';
comment on column public.cron_runs.scheduled_at is 'When the clock meant the run to start (ce-vssscheduledat, the scheduler''s slot).';

-- One real run per execution: a second delivery inserts a `duplicate` row instead.
create unique index if not exists cron_runs_execution_once on public.cron_runs (job, execution_id)
    where execution_id is not null and status <> 'duplicate';

alter table public.cron_schedules
    add column if not exists timezone text not null default 'UTC' check (btrim(timezone) <> ''),
    add column if not exists jitter_minutes integer not null default 0 check (jitter_minutes between 0 and 15),
    add column if not exists schedule_name text;

comment on column public.cron_schedules.timezone is 'The schedule''s IANA time zone (vercel.json `schedules[].timezone`; crons are UTC).';
comment on column public.cron_schedules.jitter_minutes is 'vercel.json `jitter`: a tick may start this much later before it counts as missing.';

-- The latest minute <= p_at whose wall-clock time in p_tz matches p_expr. UTC is the two-
-- argument function (unchanged). Elsewhere the same search runs on local time; a local minute
-- that does not exist (spring forward) is skipped, and one that happens twice (fall back)
-- counts once, at its first instant (as `supacron scheduler` fires it).
create or replace function public.cron_previous_tick(p_expr text, p_at timestamptz, p_tz text)
returns timestamptz
language plpgsql
stable
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
    v_at timestamp;
    v_day date;
    v_last_hour integer;
    v_last_minute integer;
    v_dom_ok boolean;
    v_dow_ok boolean;
    v_hour integer;
    v_minute integer;
    v_local timestamp;
    v_instant timestamptz;
begin
    if p_tz in ('UTC', 'Etc/UTC') then
        return public.cron_previous_tick(p_expr, p_at);
    end if;
    if array_length(v_fields, 1) is distinct from 5 then
        raise exception 'invalid cron expression `%`: 5 fields expected', p_expr using errcode = '22023';
    end if;
    v_at := date_trunc('minute', p_at at time zone p_tz);
    v_day := v_at::date;
    v_last_hour := extract(hour from v_at)::integer;
    v_last_minute := extract(minute from v_at)::integer;
    v_minutes := public.cron_field_bits(v_fields[1], 0, 59);
    v_hours := public.cron_field_bits(v_fields[2], 0, 23);
    v_doms := public.cron_field_bits(v_fields[3], 1, 31);
    v_months := public.cron_field_bits(v_fields[4], 1, 12);
    v_dows := public.cron_field_bits(v_fields[5], 0, 7);
    v_dows[0] := v_dows[0] or v_dows[7];
    v_dom_any := v_fields[3] like '*%';
    v_dow_any := v_fields[5] like '*%';
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
                        v_local := v_day + make_interval(hours => v_hour, mins => v_minute);
                        v_instant := v_local at time zone p_tz;
                        -- A repeated local time (fall back) is its first instant.
                        if ((v_instant - interval '1 hour') at time zone p_tz) = v_local then
                            v_instant := v_instant - interval '1 hour';
                        end if;
                        -- Exists on that day's clock, and is not later than p_at.
                        if (v_instant at time zone p_tz) = v_local and v_instant <= p_at then
                            return v_instant;
                        end if;
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

comment on function public.cron_previous_tick(text, timestamptz, text) is
    'The latest tick <= p_at of a 5-field cron expression read on the wall clock of time zone p_tz.';

drop function if exists public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer);
drop function if exists public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz);
drop function if exists public.cron_run_housekeeping(text, text, text, integer, timestamptz);

create or replace function public.cron_run_housekeeping(
    p_job text,
    p_schedule text,
    p_path text,
    p_max_duration_secs integer,
    p_now timestamptz,
    p_timezone text default null,
    p_jitter_minutes integer default null,
    p_schedule_name text default null
)
returns void
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_current public.cron_schedules%rowtype;
    v_max integer;
    v_tz text := coalesce(nullif(btrim(p_timezone), ''), 'UTC');
    v_jitter integer := least(greatest(coalesce(p_jitter_minutes, 0), 0), 15);
begin
    select * into v_current from public.cron_schedules where job = p_job;
    if p_schedule is not null and p_path is not null and p_max_duration_secs is not null
       and (v_current.job is null
            or (v_current.path, v_current.schedule, v_current.max_duration_secs,
                v_current.timezone, v_current.jitter_minutes, v_current.schedule_name)
               is distinct from (p_path, p_schedule, p_max_duration_secs, v_tz, v_jitter,
                                 p_schedule_name)) then
        insert into public.cron_schedules as s
            (job, path, schedule, max_duration_secs, timezone, jitter_minutes, schedule_name)
        values (p_job, p_path, p_schedule, p_max_duration_secs, v_tz, v_jitter, p_schedule_name)
        on conflict (job) do update
            set path = excluded.path, schedule = excluded.schedule,
                max_duration_secs = excluded.max_duration_secs, timezone = excluded.timezone,
                jitter_minutes = excluded.jitter_minutes, schedule_name = excluded.schedule_name;
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
    perform set_config('synchronous_commit', 'off', true);
end;
$$;

-- A function invocation starts. p_execution_id (ce-id) already recorded for this job: the
-- delivery is recorded as `duplicate` (its counts name the first run) and the answer is
-- {"duplicate": true, "first_run_id", "first_status"}; the job does not run. Two deliveries
-- at once: the unique index lets exactly one insert its row; the other becomes the duplicate.
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
    p_now timestamptz default null,
    p_timezone text default null,
    p_jitter_minutes integer default null,
    p_schedule_name text default null,
    p_execution_id text default null,
    p_scheduled_at timestamptz default null,
    p_clock_name text default null
)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_pending bigint;
    v_idle boolean;
    v_inserted uuid;
    v_first public.cron_runs%rowtype;
begin
    perform public.cron_run_housekeeping(p_job, p_schedule, p_path, p_max_duration_secs, v_now,
                                         p_timezone, p_jitter_minutes, p_clock_name);
    if p_execution_id is not null then
        select * into v_first from public.cron_runs
        where job = p_job and execution_id = p_execution_id and status <> 'duplicate';
    end if;
    if v_first.run_id is null then
        if p_idle is not null then
            v_pending := public.cron_job_pending(p_job, coalesce(p_idle -> 'work', '{}'), v_now);
        end if;
        v_idle := v_pending = 0;
        insert into public.cron_runs
            (run_id, job, trigger, dry_run, deployment_id, status, started_at, finished_at,
             duration_ms, counts, schedule_name, execution_id, scheduled_at)
        values
            (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id,
             case when v_idle then 'ok' else 'running' end,
             case when v_idle then v_now - make_interval(secs => greatest(p_duration_ms, 0) / 1000.0)
                  else v_now end,
             case when v_idle then v_now end,
             case when v_idle then greatest(p_duration_ms, 0) end,
             case when v_idle then coalesce(p_idle -> 'counts', '{}') else '{}' end,
             p_schedule_name, p_execution_id, p_scheduled_at)
        on conflict (job, execution_id) where execution_id is not null and status <> 'duplicate'
        do nothing
        returning run_id into v_inserted;
        if v_inserted is not null or p_execution_id is null then
            if v_idle then
                delete from public.cron_runs
                where job = p_job
                  and started_at < v_now - make_interval(days => greatest(coalesce(p_keep_days, 30), 1));
                return jsonb_build_object('idle', true);
            end if;
            return jsonb_build_object('idle', false, 'pending', v_pending);
        end if;
        -- Another delivery of the same execution inserted its row meanwhile.
        select * into v_first from public.cron_runs
        where job = p_job and execution_id = p_execution_id and status <> 'duplicate';
    end if;
    insert into public.cron_runs
        (run_id, job, trigger, dry_run, deployment_id, status, started_at, finished_at,
         duration_ms, counts, schedule_name, execution_id, scheduled_at)
    values
        (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id, 'duplicate',
         v_now, v_now, greatest(p_duration_ms, 0),
         jsonb_build_object('first_run_id', v_first.run_id, 'first_status', v_first.status),
         p_schedule_name, p_execution_id, p_scheduled_at)
    on conflict (run_id) do nothing;
    return jsonb_build_object('idle', false, 'duplicate', true,
                              'first_run_id', v_first.run_id, 'first_status', v_first.status);
end;
$$;

comment on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text) is
    'Opens a job run: housekeeping; a repeated execution id is recorded as duplicate; finished when idle, else running.';

-- A function invocation ends (see 20261122006000_cron_runs_one_write.sql). When the start was
-- not recorded and another row already holds the execution id, the row carries no execution
-- id (the unique index stays true; the run did happen).
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
    p_max_duration_secs integer default null,
    p_timezone text default null,
    p_jitter_minutes integer default null,
    p_schedule_name text default null,
    p_execution_id text default null,
    p_scheduled_at timestamptz default null,
    p_clock_name text default null
)
returns void
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_execution_id text := p_execution_id;
begin
    perform public.cron_run_housekeeping(p_job, p_schedule, p_path, p_max_duration_secs, v_now,
                                         p_timezone, p_jitter_minutes, p_clock_name);
    if v_execution_id is not null and exists (
        select 1 from public.cron_runs
        where job = p_job and execution_id = v_execution_id and status <> 'duplicate'
          and run_id <> p_run_id) then
        v_execution_id := null;
    end if;
    insert into public.cron_runs as r
        (run_id, job, trigger, dry_run, deployment_id, status, started_at, finished_at,
         duration_ms, counts, error, schedule_name, execution_id, scheduled_at)
    values
        (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id, p_status,
         v_now - make_interval(secs => greatest(p_duration_ms, 0) / 1000.0), v_now,
         greatest(p_duration_ms, 0), coalesce(p_counts, '{}'), p_error,
         p_schedule_name, v_execution_id, p_scheduled_at)
    on conflict (run_id) do update
        set status = excluded.status, finished_at = excluded.finished_at,
            duration_ms = excluded.duration_ms, counts = excluded.counts, error = excluded.error;
    delete from public.cron_runs
    where job = p_job
      and started_at < v_now - make_interval(days => greatest(coalesce(p_keep_days, 30), 1));
end;
$$;

comment on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer, text, integer, text, text, timestamptz, text) is
    'Records how a job run ended (inserting the row if its start was not recorded); housekeeping; prunes old runs.';

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
                  and r.trigger in ('vercel_cron', 'vercel_schedule', 'scheduler')
                  and (r.started_at >= tick.at - interval '1 minute'
                       or r.scheduled_at >= tick.at))
    from jobs j
    left join public.cron_schedules s on s.job = j.job
    left join lateral (
        select r.* from public.cron_runs r
        where r.job = j.job and not r.dry_run and r.started_at <= v_now
          and r.status <> 'duplicate'
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
        where r.job = j.job and not r.dry_run and r.status <> 'duplicate'
          and r.started_at > v_now - interval '24 hours' and r.started_at <= v_now
    ) day on true
    left join lateral (
        select public.cron_previous_tick(
                   s.schedule,
                   v_now - s.tick_grace - make_interval(mins => s.jitter_minutes),
                   s.timezone) as at
    ) tick on true
    order by j.job;
end;
$$;

revoke all on function public.cron_previous_tick(text, timestamptz, text) from public, anon, authenticated;
revoke all on function public.cron_run_housekeeping(text, text, text, integer, timestamptz, text, integer, text) from public, anon, authenticated;
revoke all on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text) from public, anon, authenticated;
revoke all on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer, text, integer, text, text, timestamptz, text) from public, anon, authenticated;
revoke all on function public.cron_run_summary_at(timestamptz) from public, anon, authenticated;
grant execute on function public.cron_previous_tick(text, timestamptz, text) to service_role;
grant execute on function public.cron_run_housekeeping(text, text, text, integer, timestamptz, text, integer, text) to service_role;
grant execute on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text) to service_role;
grant execute on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer, text, integer, text, text, timestamptz, text) to service_role;
grant execute on function public.cron_run_summary_at(timestamptz) to service_role;

-- This schema's version (00_helpers.sql).
create or replace function public.supacron_schema_version()
returns text
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select '20261203231700_vercel_schedules'::text;
$$;
