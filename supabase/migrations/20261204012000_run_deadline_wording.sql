-- 20261204012000_run_deadline_wording.sql: from a review of 20261204010000_run_deadline.
--   cron_run_housekeeping     the error no longer says "killed at maxDuration" of a run whose
--                             own, longer time budget passed; the update's WHERE keeps a range
--                             on started_at for cron_runs_running_idx
--   begin_cron_run            a call without p_max_duration_secs takes the job's stored
--                             maxDuration (else 300 s) for the deadline, not 0
--   supacron_schema_version   20261204012000_run_deadline_wording
-- Written from supabase/schemas/20_run_history.sql and 00_helpers.sql.

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
                       '(Vercel stops a function at maxDuration), the process died, or it answered '
                       'but could not write its end '
                       '(Supabase unreachable); its answer and counts are in the function''s log line '
                       'for its run_id',
                       case when deadline_at is null
                                 or deadline_at <= started_at + make_interval(secs => v_max)
                            then format('maxDuration (%s s)', v_max)
                            else format('its time budget (%s s)',
                                        round(extract(epoch from deadline_at - started_at))) end)
    where job = p_job and status = 'running'
      and started_at < p_now - interval '60 seconds'  -- implied (deadline >= start): the index's range
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
                  then v_now + make_interval(secs => greatest(
                      p_budget_secs,
                      coalesce(p_max_duration_secs,
                               (select s.max_duration_secs from public.cron_schedules s
                                where s.job = p_job),
                               300)))
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
    select '20261204012000_run_deadline_wording'::text;
$$;

comment on function public.supacron_schema_version() is
    'The migration that last changed supacron''s schema (compared by supacron check).';
