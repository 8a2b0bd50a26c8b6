-- 20261122008200_status_plan_once.sql: the status report keeps its query plans.
--
-- status_report, cron_run_summary_at and queue_health_at were LANGUAGE sql functions with a
-- SET search_path clause: never inlined, so PostgreSQL planned their large bodies anew on
-- every call (the benchmark, #8: ~7 ms of cron-status's cold start on an empty database).
-- The same queries in plpgsql are planned once per connection and reused. Bodies and
-- results are unchanged; `#variable_conflict use_column` keeps every column name meaning
-- the column, as it did in SQL.

CREATE OR REPLACE FUNCTION public.cron_run_summary_at(p_now timestamp with time zone DEFAULT NULL::timestamp with time zone)
 RETURNS TABLE(job text, schedule text, last_run_id uuid, last_status text, last_trigger text, last_started_at timestamp with time zone, last_finished_at timestamp with time zone, last_duration_ms integer, last_error text, last_counts jsonb, last_success_at timestamp with time zone, running boolean, runs_24h bigint, failures_24h bigint, skipped_24h bigint, p50_duration_ms_24h integer, p95_duration_ms_24h integer, last_expected_tick timestamp with time zone, last_tick_missing boolean)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
    return query
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
end;
$function$;

CREATE OR REPLACE FUNCTION public.queue_health_at(p_now timestamp with time zone DEFAULT NULL::timestamp with time zone, p_memory_min_new integer DEFAULT 10)
 RETURNS TABLE(job text, pending bigint, due bigint, processing bigint, expired_leases bigint, failed bigint, dead bigint, oldest_due_at timestamp with time zone, oldest_due_age_seconds bigint)
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
    return query
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
end;
$function$;

CREATE OR REPLACE FUNCTION public.status_report(p_now timestamp with time zone DEFAULT NULL::timestamp with time zone, p_dead_limit integer DEFAULT 10, p_timeline boolean DEFAULT false, p_memory_min_new integer DEFAULT 10)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'public', 'pg_temp'
AS $function$
#variable_conflict use_column
begin
    return (
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
            else null end));
end;
$function$;
