-- 20261204010000_run_deadline.sql: a run with a time budget longer than its function's
-- maxDuration (`supacron serve`, `supacron run`, the in-process scheduler with
-- SUPACRON_TIME_BUDGET_SECS) is no longer called "did not finish" (and alerted) while it is
-- still working: every run records its deadline, and the housekeeping, the status summary and
-- the timeline wait for it.
--   cron_runs.deadline_at         new (null on older rows: maxDuration, as before)
--   begin_cron_run                + p_budget_secs (the old 18-argument one dropped)
--   cron_run_housekeeping         marks a run error 60 s past its deadline
--   cron_run_summary_at           the same verdict
--   status_report                 the timeline's verdict
--   supacron_schema_version       20261204010000_run_deadline
-- Written from supabase/schemas/20_run_history.sql, 60_status.sql, 99_security.sql and
-- 00_helpers.sql.

alter table public.cron_runs add column if not exists deadline_at timestamptz;

comment on column public.cron_runs.deadline_at is 'The latest a running run can end: its start plus the longer of its time budget and maxDuration (null: maxDuration from cron_schedules).';

drop function if exists public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text);

-- Keeps p_job's cron_schedules row equal to what the code says (when given; read first, written
-- only when it differs: once per deployment) and marks its runs still `running` 60 s past
-- their deadline as error (deadline_at: a run's own time budget when longer than maxDuration,
-- as `supacron serve` and `supacron run` may have; maxDuration for a row without one). The
-- run history is committed asynchronously (synchronous_commit = off for this transaction): a
-- PostgreSQL crash can lose the run rows of the last ~0.6 s, never a job's effects, which are
-- committed by their own requests.
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
        finished_at = coalesce(deadline_at, started_at + make_interval(secs => v_max)),
        error = format('the run''s end was never recorded within %s + 60 s: it was killed '
                       'at maxDuration, the process died, or it answered but could not write its end '
                       '(Supabase unreachable); its answer and counts are in the function''s log line '
                       'for its run_id',
                       case when deadline_at is null
                                 or deadline_at <= started_at + make_interval(secs => v_max)
                            then format('maxDuration (%s s)', v_max)
                            else format('its time budget (%s s)',
                                        round(extract(epoch from deadline_at - started_at))) end)
    where job = p_job and status = 'running'
      and coalesce(deadline_at, started_at + make_interval(secs => v_max))
          < p_now - interval '60 seconds';
    perform set_config('synchronous_commit', 'off', true);
end;
$$;

comment on function public.cron_run_housekeeping(text, text, text, integer, timestamptz, text, integer, text) is
    'Keeps a job''s cron_schedules row current and marks its runs whose end was never recorded as error.';

-- A function invocation starts (see the header). p_idle = {"work": {...}, "counts": {...}}
-- asks for the idle check; without it (dry runs) the run is always recorded as running.
-- p_budget_secs, the run's time budget, sets its deadline_at (with maxDuration, the longer).
-- Its statements and the housekeeping's use their generic plans (PostgreSQL would otherwise
-- plan the range conditions on v_now anew on every call: ~0.06 ms of a ~0.24 ms call);
-- cron_job_pending's counts over the app's tables keep the default.
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
    p_clock_name text default null,
    p_budget_secs integer default null
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
             duration_ms, counts, schedule_name, execution_id, scheduled_at, deadline_at)
        values
            (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id,
             case when v_idle then 'ok' else 'running' end,
             case when v_idle then v_now - make_interval(secs => greatest(p_duration_ms, 0) / 1000.0)
                  else v_now end,
             case when v_idle then v_now end,
             case when v_idle then greatest(p_duration_ms, 0) end,
             case when v_idle then coalesce(p_idle -> 'counts', '{}') else '{}' end,
             p_schedule_name, p_execution_id, p_scheduled_at,
             case when v_idle is not true and p_budget_secs is not null
                  then v_now + make_interval(secs => greatest(p_budget_secs,
                                                              coalesce(p_max_duration_secs, 0)))
             end)
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

comment on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text, integer) is
    'Opens a job run: housekeeping; a repeated execution id is recorded as duplicate; finished when idle, else running.';

-- Per job (every scheduled job, and any other job with runs): its latest run, its latest
-- completed run (ok or partial), and the last 24 hours. Dry runs are left out. A run still
-- `running` 60 s past its deadline (deadline_at: its time budget when longer than maxDuration;
-- maxDuration for a row without one) is shown as `error` (it did not finish).
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
                  and coalesce(latest.deadline_at,
                               latest.started_at + make_interval(secs => coalesce(s.max_duration_secs, 300)))
                      < v_now - interval '60 seconds'
             then 'error' else latest.status end,
        latest.trigger,
        latest.started_at,
        latest.finished_at,
        latest.duration_ms,
        case when latest.status = 'running'
                  and coalesce(latest.deadline_at,
                               latest.started_at + make_interval(secs => coalesce(s.max_duration_secs, 300)))
                      < v_now - interval '60 seconds'
             then format('the run''s end is not recorded and %s has passed: it was killed, the process died, or it could not write its end (see its log line)',
                         case when latest.deadline_at is null
                                   or latest.deadline_at <= latest.started_at
                                      + make_interval(secs => coalesce(s.max_duration_secs, 300))
                              then format('maxDuration (%s s)', coalesce(s.max_duration_secs, 300))
                              else format('its time budget (%s s)',
                                          round(extract(epoch from latest.deadline_at - latest.started_at))) end)
             else latest.error end,
        latest.counts,
        (select r.started_at from public.cron_runs r
         where r.job = j.job and not r.dry_run and r.started_at <= v_now
           and r.status in ('ok', 'partial')
         order by r.started_at desc limit 1),
        exists (select 1 from public.cron_runs r
                where r.job = j.job and r.status = 'running' and not r.dry_run
                  and r.started_at <= v_now
                  and coalesce(r.deadline_at,
                               r.started_at + make_interval(secs => coalesce(s.max_duration_secs, 300)))
                      >= v_now - interval '60 seconds'),
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
                                       and coalesce(r.deadline_at,
                                                    r.started_at + make_interval(secs => coalesce(s.max_duration_secs, 300)))
                                           < v_now - interval '60 seconds'))
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

comment on function public.cron_run_summary_at(timestamptz) is
    'Per job at p_now: latest run, latest success, 24 h counts and durations, missing tick.';

-- The status function's single round trip: both views at p_now, the latest dead patch jobs,
-- what each LLM job spent (llm_spend_at), and (for the HTML page) every non-dry run of the last 24 hours as [job, started_at, status].
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
            'llm_spend', public.llm_spend_at(p_now),
            'dead_jobs', coalesce((select jsonb_agg(to_jsonb(d) order by d.finished_at desc nulls last, d.id desc)
                                   from (select id, conversation_id, attempts, error_kind, last_error, finished_at
                                         from public.patch_jobs
                                         where status = 'dead'
                                         order by finished_at desc nulls last, id desc
                                         limit greatest(p_dead_limit, 0)) d), '[]'::jsonb),
            'timeline', case when p_timeline then
                coalesce((select jsonb_agg(jsonb_build_array(r.job, r.started_at,
                                     case when r.status = 'running'
                                               and coalesce(r.deadline_at,
                                                            r.started_at + make_interval(secs => coalesce(s.max_duration_secs, 300)))
                                                   < coalesce(p_now, now()) - interval '60 seconds'
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
    'Everything the status page shows, in one call: both views, dead jobs, LLM spend, the 24 h timeline.';

revoke all on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text, integer) from public, anon, authenticated;
grant execute on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz, text, integer, text, text, timestamptz, text, integer) to service_role;

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
    select '20261204010000_run_deadline'::text;
$$;

comment on function public.supacron_schema_version() is
    'The migration that last changed supacron''s schema (compared by supacron check).';
