-- 20261122008000_begin_cron_run.sql: an idle run is one request, a busy run is visible at once.
--
-- Most cron ticks find nothing to do. Until now such a tick cost two requests: the job's own
-- check, then the run history's write (finish_cron_run), and a run that was busy only got
-- its `running` row after 250 ms (so one killed sooner left no trace). The function wrapper
-- (src/function/record.rs) now opens every run with begin_cron_run, which
--   1. does the run history's housekeeping (cron_run_housekeeping),
--   2. asks whether the job has anything pending, with the same count the job reports as
--      `remaining` (cron_job_pending), and
--   3. when nothing is pending, records the run as finished `ok` with the counts the job
--      would have answered (given by the caller) and answers {"idle": true}: the function
--      answers at once, one request in all;
--      otherwise records the run as `running` and answers {"idle": false, "pending": n}:
--      the job runs, and finish_cron_run records how it ended.
-- A job this file does not know, or a check without its arguments, is never idle: the job
-- runs and decides for itself, so a mismatch can cost a request but never skip work.

-- How many items `p_job` has pending now: the count each job reports as `remaining` (and
-- checks first itself). p_work carries the job's settings that the count needs. NULL when
-- it cannot tell.
create function public.cron_job_pending(p_job text, p_work jsonb, p_now timestamptz)
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
create function public.begin_cron_run(
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

revoke all on function public.cron_job_pending(text, jsonb, timestamptz) from public, anon, authenticated;
revoke all on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.cron_job_pending(text, jsonb, timestamptz) to service_role;
grant execute on function public.begin_cron_run(uuid, text, text, boolean, text, text, text, integer, jsonb, integer, integer, timestamptz) to service_role;
