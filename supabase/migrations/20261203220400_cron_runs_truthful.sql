-- 20261203220400_cron_runs_truthful.sql: the run history never says a run that answered was
-- killed (issue #22).
--
-- A run that answered 503 because Supabase became unreachable could not write its end, so its
-- `running` row was later turned into `error` "killed at maxDuration (...) or the process
-- died" by the job's next start, and the summary said the same meanwhile. Neither side can
-- know which happened, so both now say what is known: the end was never recorded, and the
-- three possible reasons (killed, process died, the end could not be written), pointing to the
-- run's log line, which always has its answer. Status stays `error`. Bodies otherwise
-- unchanged (cron_run_housekeeping as of 20261122007000_cron_runs_cheap_finish.sql,
-- cron_run_summary_at as of 20261122008300_run_summary_indexed.sql).

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
        error = format('the run''s end was never recorded within maxDuration (%s s) + 60 s: it was killed '
                       'at maxDuration, the process died, or it answered but could not write its end '
                       '(Supabase unreachable); its answer and counts are in the function''s log line '
                       'for its run_id', v_max)
    where job = p_job and status = 'running'
      and started_at < p_now - make_interval(secs => v_max + 60);
    -- Run history only (see the header): no need to wait for the WAL flush.
    perform set_config('synchronous_commit', 'off', true);
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
                  and r.trigger in ('vercel_cron', 'scheduler')
                  and r.started_at >= tick.at - interval '1 minute')
    from jobs j
    left join public.cron_schedules s on s.job = j.job
    left join lateral (
        select r.* from public.cron_runs r
        where r.job = j.job and not r.dry_run and r.started_at <= v_now
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
        where r.job = j.job and not r.dry_run
          and r.started_at > v_now - interval '24 hours' and r.started_at <= v_now
    ) day on true
    left join lateral (
        select public.cron_previous_tick(s.schedule, v_now - s.tick_grace) as at
    ) tick on true
    order by j.job;
end;
$$;


