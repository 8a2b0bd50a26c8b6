-- 20261122007000_cron_runs_cheap_finish.sql: recording a run costs one cheap statement path.
--
-- The benchmark (#8) timed finish_cron_run at twice the patch job's empty claim: its
-- housekeeping upserted the job's cron_schedules row on every run. That upsert evaluates the
-- row's CHECK (cron_expression_valid, a plpgsql parser: ~0.3 ms) and, through ON CONFLICT,
-- locks and rewrites the row even when nothing changed. The housekeeping now reads the row
-- first (a primary-key probe) and writes only when the code's schedule differs from it, which
-- is once per deployment.
--
-- The run history is also committed asynchronously (synchronous_commit = off for the
-- recording transaction only): a run's row no longer waits for the WAL flush. What that
-- trades: if PostgreSQL itself crashes, the run rows of the last moment (at most about
-- 3 x wal_writer_delay, 0.6 s by default) can be missing from the history. Nothing else is at
-- stake: the jobs' own effects are committed by their own requests, synchronously, and the
-- function's log line of every run stays in the platform's logs.

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
        error = format('the run did not finish: killed at maxDuration (%s s) or the process died; '
                       'search the function''s logs for its run_id', v_max)
    where job = p_job and status = 'running'
      and started_at < p_now - make_interval(secs => v_max + 60);
    -- Run history only (see the header): no need to wait for the WAL flush.
    perform set_config('synchronous_commit', 'off', true);
end;
$$;
