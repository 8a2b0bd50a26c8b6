-- 20261204001500_cold_start_sql.sql: the status report and a run's opening request, cheaper
-- (issue #20, cold start). Same answers; measured in docs/performance.md (Round 2).
--   cron_run_summary_at   the last tick is computed once per job (offset 0: pulled up, every
--                         use of tick.at called cron_previous_tick again), and the
--                         missing-tick check is two index probes instead of one scan of the
--                         job's whole history (an OR of started_at and scheduled_at):
--                         30 days of the five schedules, 32 ms -> ~5 ms for status_report
--   cron_runs_scheduled_at_idx   new: (job, scheduled_at) where scheduled_at is not null
--   cron_previous_tick    a bare `*` field needs no cron_field_bits call (both variants)
--   llm_spend_at          sums the counts inline (llm_count per row was a non-inlined call)
--                         and forces its generic plan (it was planned anew on every call)
--   begin_cron_run        forces generic plans (its range conditions on v_now were planned
--                         anew on every call); cron_job_pending keeps the default for the
--                         app's tables
--   supacron_schema_version   unchanged here: later migrations set it (tests/it/schema_version.rs).
--                         Named 20261204000100 when it landed; renamed the same day to sort
--                         after 20261204001000, which landed first (every statement here is
--                         idempotent, so a database that applied it under the old name only
--                         applies it again).
-- Written from `scripts/db.sh diff` (docs/development.md "Changing the schema").

create index if not exists cron_runs_scheduled_at_idx on public.cron_runs (job, scheduled_at)
    where scheduled_at is not null;

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
    -- A bare `*` allows every value: no call (most fields of most schedules).
    v_minutes := case when v_fields[1] = '*' then array_fill(true, array[60], array[0])
                      else public.cron_field_bits(v_fields[1], 0, 59) end;
    v_hours := case when v_fields[2] = '*' then array_fill(true, array[24], array[0])
                    else public.cron_field_bits(v_fields[2], 0, 23) end;
    v_doms := case when v_fields[3] = '*' then array_fill(true, array[31], array[1])
                   else public.cron_field_bits(v_fields[3], 1, 31) end;
    v_months := case when v_fields[4] = '*' then array_fill(true, array[12], array[1])
                     else public.cron_field_bits(v_fields[4], 1, 12) end;
    v_dows := case when v_fields[5] = '*' then array_fill(true, array[8], array[0])
                   else public.cron_field_bits(v_fields[5], 0, 7) end;
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
    -- A bare `*` allows every value: no call (most fields of most schedules).
    v_minutes := case when v_fields[1] = '*' then array_fill(true, array[60], array[0])
                      else public.cron_field_bits(v_fields[1], 0, 59) end;
    v_hours := case when v_fields[2] = '*' then array_fill(true, array[24], array[0])
                    else public.cron_field_bits(v_fields[2], 0, 23) end;
    v_doms := case when v_fields[3] = '*' then array_fill(true, array[31], array[1])
                   else public.cron_field_bits(v_fields[3], 1, 31) end;
    v_months := case when v_fields[4] = '*' then array_fill(true, array[12], array[1])
                     else public.cron_field_bits(v_fields[4], 1, 12) end;
    v_dows := case when v_fields[5] = '*' then array_fill(true, array[8], array[0])
                   else public.cron_field_bits(v_fields[5], 0, 7) end;
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

create or replace function public.cron_job_pending(p_job text, p_work jsonb, p_now timestamptz)
returns bigint
language plpgsql
stable
security invoker
set search_path = public, pg_temp
set plan_cache_mode = auto
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
set plan_cache_mode = force_generic_plan
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
                  and r.started_at >= tick.at - interval '1 minute')
            and not exists (
                select 1 from public.cron_runs r
                where r.job = j.job and not r.dry_run and r.started_at <= v_now
                  and r.trigger in ('vercel_cron', 'vercel_schedule', 'scheduler')
                  and r.scheduled_at >= tick.at)
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
    -- offset 0: one call per job (pulled up, each use of tick.at would call it again).
    left join lateral (
        select public.cron_previous_tick(
                   s.schedule,
                   v_now - s.tick_grace - make_interval(mins => s.jitter_minutes),
                   s.timezone) as at
        offset 0
    ) tick on true
    order by j.job;
end;
$$;

create or replace function public.llm_spend_at(
    p_now timestamptz default null, p_jobs text[] default array['memory', 'schedule'])
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
    v_now timestamptz := coalesce(p_now, now());
begin
    return coalesce((
        select jsonb_agg(jsonb_build_object(
                   'job', j.job,
                   'llm_calls_24h', coalesce(spent.calls, 0),
                   'unusable_calls_24h', coalesce(spent.unusable, 0),
                   'prompt_tokens_24h', coalesce(spent.prompt, 0),
                   'completion_tokens_24h', coalesce(spent.completion, 0),
                   'today', case when l.job is null then null else jsonb_build_object(
                       'day', l.day, 'spent_tokens', l.spent_tokens,
                       'reserved_tokens', l.reserved_tokens, 'cap_tokens', l.cap_tokens,
                       'cap_reached_at', l.cap_reached_at) end)
                 order by j.job)
        from unnest(p_jobs) as j(job)
        left join lateral (
            select sum(case when jsonb_typeof(r.counts -> 'llm_calls') = 'number'
                            then (r.counts ->> 'llm_calls')::numeric::bigint else 0 end) as calls,
                   sum(case when jsonb_typeof(r.counts -> 'unusable_calls') = 'number'
                            then (r.counts ->> 'unusable_calls')::numeric::bigint else 0 end) as unusable,
                   sum(case when jsonb_typeof(r.counts -> 'prompt_tokens') = 'number'
                            then (r.counts ->> 'prompt_tokens')::numeric::bigint else 0 end) as prompt,
                   sum(case when jsonb_typeof(r.counts -> 'completion_tokens') = 'number'
                            then (r.counts ->> 'completion_tokens')::numeric::bigint else 0 end) as completion
            from public.cron_runs r
            where r.job = j.job and not r.dry_run
              and r.started_at > v_now - interval '24 hours' and r.started_at <= v_now
        ) spent on true
        left join public.llm_spend_days l
            on l.job = j.job and l.day = (v_now at time zone 'utc')::date), '[]'::jsonb);
end;
$$;

