-- 20261122006000_cron_runs_one_write.sql: a short run is recorded with one request.
--
-- The benchmark (#8) showed the run history's `running` row costing every cold start a
-- request on a second connection. The function wrapper now writes that row only for a run
-- still going after a moment (src/function/record.rs), so most runs write their row once,
-- at the end, through finish_cron_run. finish_cron_run therefore also does what only
-- start_cron_run did: keep cron_schedules current and mark the job's runs that never
-- finished (killed at maxDuration) as error. Both call cron_run_housekeeping.

-- Keeps p_job's cron_schedules row equal to what the code says (when given) and marks its
-- runs still `running` past maxDuration + 60 s as error.
create function public.cron_run_housekeeping(
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
      and started_at < p_now - make_interval(secs => v_max + 60);
end;
$$;

comment on function public.cron_run_housekeeping(text, text, text, integer, timestamptz) is
    'Keeps a job''s cron_schedules row current and marks its runs killed at maxDuration as error.';

create or replace function public.start_cron_run(
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
begin
    perform public.cron_run_housekeeping(p_job, p_schedule, p_path, p_max_duration_secs, v_now);
    insert into public.cron_runs (run_id, job, trigger, dry_run, deployment_id, started_at)
    values (p_run_id, p_job, p_trigger, coalesce(p_dry_run, false), p_deployment_id, v_now)
    on conflict (run_id) do nothing;
end;
$$;

drop function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz);

-- A function invocation ends. Sets the run's outcome, or inserts the whole row when its start
-- was not recorded (a short run, or the database was unreachable then), so each invocation
-- that reached the database leaves exactly one row; does the housekeeping a start would have
-- done; prunes the job's runs that started more than p_keep_days ago.
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

revoke all on function public.cron_run_housekeeping(text, text, text, integer, timestamptz) from public, anon, authenticated;
revoke all on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer) from public, anon, authenticated;
grant execute on function public.cron_run_housekeeping(text, text, text, integer, timestamptz) to service_role;
grant execute on function public.finish_cron_run(uuid, text, text, text, integer, jsonb, text, boolean, text, integer, timestamptz, text, text, integer) to service_role;
