-- supabase/schemas/60_status.sql: what the status function (src/status, src/function/status.rs)
-- and any PostgREST client read (supacron's own).
--   cron_run_summary_at / cron_run_summary   per job: last run, last success, 24 h, missing tick
--   queue_health_at / queue_health           per job: pending, due, processing, expired, dead
--   llm_count / llm_spend_at                 per LLM job: calls and tokens in 24 h, today's budget
--   status_report                            the status function's one round trip
-- The views are the functions at now() (security_invoker, so they never show more than the
-- caller may read); tests call the functions with an exact moment instead of racing the clock.
-- The functions are plpgsql so their large bodies are planned once per connection, and
-- `#variable_conflict use_column` keeps every column name meaning the column. The run summary
-- reads each job's runs by index probes on (job, started_at) and (job, scheduled_at), and
-- computes each schedule's last tick once: its cost does not grow with the history.
-- llm_spend_at forces its generic plan: otherwise PostgreSQL plans it anew on every call
-- (a custom plan for p_now always looks cheaper), which cost more than running it.

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

-- Per kind of work, at p_now: how much waits, how much is due, what is being worked on under a
-- live lease, what a dead run left behind (expired leases), what failed and will be retried,
-- and what was given up on; oldest_due_at is the longest any due item has waited.
--   patch     patch_jobs (due = pending/failed past run_after, or processing with expired lease)
--   memory    conversations: pending = with unsummarised messages; due = memory candidates at
--             p_memory_min_new (the job's MEMORY_MIN_NEW_MESSAGES; the view uses the default
--             10); failed = backing off after a failed summary (memory_retry_after ahead)
--   schedule  due = schedules count_schedule_work counts; pending / failed = open ticks
--             (failed fewer than 5 times); dead = ticks given up on (5 failures) and enabled
--             rows waiting for a fix (no next_run_at, a last_error)
--   outcomes  decisions on terminal items without an outcome; dead = refused (last_error)
--   rewards   decisions with an outcome and no reward; dead = refused (last_error)
-- For memory and schedule, processing / expired_leases describe the job's job_locks row.
create or replace function public.queue_health_at(p_now timestamptz default null, p_memory_min_new integer default 10)
returns table (
    job                     text,
    pending                 bigint,
    due                     bigint,
    processing              bigint,
    expired_leases          bigint,
    failed                  bigint,
    dead                    bigint,
    oldest_due_at           timestamptz,
    oldest_due_age_seconds  bigint
)
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
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
$$;

comment on function public.queue_health_at(timestamptz, integer) is
    'Per kind of work at p_now: pending, due, processing, expired leases, failed, dead, oldest due.';

-- The views PostgREST serves (service role only): the functions at now().
create or replace view public.queue_health
with (security_invoker = true)
as select * from public.queue_health_at(null, 10);

comment on view public.queue_health is
    'Per kind of work: pending, due, processing (live lease), expired leases, failed, dead, oldest due.';

create or replace view public.cron_run_summary
with (security_invoker = true)
as select * from public.cron_run_summary_at(null);

comment on view public.cron_run_summary is
    'Per job: last run, last success, runs and failures in 24 h, p50/p95 duration, missing tick.';

-- A count from a run's counts, 0 when absent or not a number.
create or replace function public.llm_count(p_counts jsonb, p_name text)
returns bigint
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select case when jsonb_typeof(p_counts -> p_name) = 'number'
                then (p_counts ->> p_name)::numeric::bigint else 0 end;
$$;

comment on function public.llm_count(jsonb, text) is
    'One numeric count of a run (0 when absent): llm_spend_at''s sums.';

-- Per LLM job: billed calls, unusable calls and tokens of its runs over the 24 hours before
-- p_now (their recorded counts), and today's ledger row (null without a daily cap).
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

comment on function public.llm_spend_at(timestamptz, text[]) is
    'Per LLM job: calls and tokens over 24 hours, and today''s daily-budget ledger.';

-- The status function's single round trip: both views at p_now (each job's summary with the
-- time zone its runs recorded in cron_schedules, for showing its ticks), the latest dead patch
-- jobs, what each LLM job spent (llm_spend_at), and (for the HTML page) every non-dry run of
-- the last 24 hours as [job, started_at, status].
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
            'cron_run_summary', coalesce((select jsonb_agg(to_jsonb(s)
                                                           || jsonb_build_object('timezone', cs.timezone)
                                                           order by s.job)
                                          from public.cron_run_summary_at(p_now) s
                                          left join public.cron_schedules cs on cs.job = s.job),
                                         '[]'::jsonb),
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

-- Alert incidents (issue #17): a job that turns red opens one incident, a job that is healthy
-- again closes it; SUPACRON_ALERT_WEBHOOK_URL is posted once for each opening and closing
-- (src/notify.rs). The unique index admits one open incident per job, so of several runs
-- sweeping at once exactly one opens (or closes) it, and only that run posts.
create table if not exists public.cron_incidents (
    id                  bigint generated by default as identity primary key,
    job                 text not null check (btrim(job) <> ''),
    reason              text not null,
    opened_at           timestamptz not null default now(),
    closed_at           timestamptz check (closed_at >= opened_at),
    alert_posted_at     timestamptz,
    recovery_posted_at  timestamptz,
    post_claimed_until  timestamptz
);

comment on table public.cron_incidents is
    'Each time a job turned red (failed, never finished, missed a tick) until it was healthy again; alerted once each way.';
comment on column public.cron_incidents.alert_posted_at is
    'When the alert webhook accepted this incident''s alert; null: still to post (a failed post is posted again by a later run).';
comment on column public.cron_incidents.recovery_posted_at is
    'When the alert webhook accepted the recovery; null on a closed incident: still to post.';
comment on column public.cron_incidents.post_claimed_until is
    'A run claimed this incident''s post until then (overlapping runs post it once).';

create unique index if not exists cron_incidents_open_once on public.cron_incidents (job)
    where closed_at is null;

-- Compares each job's verdict (cron_run_summary_at) with the open incidents: red (last run
-- failed or never finished, or its last tick passed without a scheduled run) without an open
-- incident opens one; healthy again (last run ok, partial or skipped, and no missing tick)
-- with an open incident closes it. A job whose latest run is still going, or that never ran,
-- changes nothing. Answers what is to post: [{"id", "job", "kind": "alert" | "recovery",
-- "reason", "opened_at"}] — the alerts and recoveries of the last day that no run has posted
-- yet (what changed now, and any post that failed before), each claimed for 30 s so that of
-- overlapping runs only one posts it. The caller confirms each accepted post with
-- cron_alert_posted; one it could not post is answered again by a sweep after the claim. A
-- closed incident whose alert was never posted posts only its recovery (which says why).
create or replace function public.cron_alert_sweep(p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_job record;
    v_reason text;
    v_posts jsonb;
begin
    for v_job in select * from public.cron_run_summary_at(v_now) loop
        v_reason := case
            when v_job.last_status = 'error' then
                format('last run failed (%s UTC, run %s): %s',
                       to_char(v_job.last_started_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'),
                       v_job.last_run_id,
                       coalesce(nullif(split_part(left(v_job.last_error, 300), E'\n', 1), ''),
                                'no error recorded'))
            when v_job.last_tick_missing then
                format('no scheduled run for the %s UTC tick of `%s`%s: is the schedule deployed and firing?',
                       to_char(v_job.last_expected_tick at time zone 'UTC', 'YYYY-MM-DD HH24:MI'),
                       v_job.schedule,
                       coalesce((select format(' (%s)', s.timezone) from public.cron_schedules s
                                 where s.job = v_job.job and s.timezone <> 'UTC'), ''))
        end;
        if v_reason is not null then
            insert into public.cron_incidents (job, reason, opened_at)
            values (v_job.job, v_reason, v_now)
            on conflict (job) where closed_at is null do nothing;
        elsif v_job.last_status in ('ok', 'partial', 'skipped') then
            update public.cron_incidents
            set closed_at = greatest(v_now, opened_at)
            where job = v_job.job and closed_at is null;
        end if;
    end loop;
    with due as (
        select i.id
        from public.cron_incidents i
        where (i.alert_posted_at is null
               or (i.closed_at is not null and i.recovery_posted_at is null))
          and coalesce(i.closed_at, i.opened_at) > v_now - interval '1 day'
          and (i.post_claimed_until is null or i.post_claimed_until < v_now)
        for update skip locked
    ), claimed as (
        update public.cron_incidents i
        set post_claimed_until = v_now + interval '30 seconds'
        from due
        where i.id = due.id
        returning i.id, i.job, i.reason, i.opened_at, i.closed_at
    )
    select coalesce(jsonb_agg(jsonb_build_object(
               'id', c.id, 'job', c.job,
               'kind', case when c.closed_at is null then 'alert' else 'recovery' end,
               'reason', c.reason, 'opened_at', c.opened_at) order by c.id), '[]'::jsonb)
    into v_posts
    from claimed c;
    return v_posts;
end;
$$;

comment on function public.cron_alert_sweep(timestamptz) is
    'Opens an incident for each job that turned red and closes those healthy again; answers (and claims for 30 s) the alerts and recoveries still to post.';

-- The alert webhook accepted the post of incident p_id (`alert` or `recovery`, as
-- cron_alert_sweep answered it): it is not posted again. A recovery marks the alert posted
-- too (it said why the job was red). False for an unknown incident.
create or replace function public.cron_alert_posted(p_id bigint, p_kind text,
                                                    p_now timestamptz default null)
returns boolean
language sql
security invoker
set search_path = public, pg_temp
as $$
    with marked as (
        update public.cron_incidents
        set alert_posted_at = coalesce(alert_posted_at, coalesce(p_now, now())),
            recovery_posted_at = case when p_kind = 'recovery' then coalesce(p_now, now())
                                      else recovery_posted_at end,
            post_claimed_until = null
        where id = p_id
        returning 1
    )
    select exists (select 1 from marked);
$$;

comment on function public.cron_alert_posted(bigint, text, timestamptz) is
    'After an accepted alert webhook post: marks the incident''s alert (or recovery) posted.';
