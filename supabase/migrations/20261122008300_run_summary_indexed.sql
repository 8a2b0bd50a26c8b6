-- 20261122008300_run_summary_indexed.sql: the run summary reads each job's runs by index.
--
-- cron_run_summary_at materialised every run in cron_runs (a CTE used five times) and then
-- searched it per job without an index: its cost grew with the whole history. With 11,000
-- rows it took ~120 ms per call (pgbench), and 30 days of a per-minute job are 43,200 rows.
-- Each per-job value is now an index probe on (job, started_at): the latest run, the latest
-- success, a running run (the partial index of running rows), the last 24 hours, and the
-- runs since the last expected tick. The jobs are the ones in cron_schedules plus any other
-- job with a run (found by a skip scan of the same index). Columns and results unchanged.

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
             then format('the run did not finish within maxDuration (%s s): killed, or the process died',
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
