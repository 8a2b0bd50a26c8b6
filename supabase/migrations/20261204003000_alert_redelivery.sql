-- 20261204003000_alert_redelivery.sql: an alert webhook post that fails is posted again by a
-- later run, instead of being lost with its incident already recorded (issue #17 follow-up).
--   cron_incidents       alert_posted_at, recovery_posted_at, post_claimed_until; incidents
--                        recorded before this migration count as posted (no old alerts resent)
--   cron_alert_sweep     answers (and claims for 30 s) what is still to post in the last day
--   cron_alert_posted    new: the caller confirms an accepted post
--   supacron_schema_version   20261204003000_alert_redelivery
-- Written from supabase/schemas/60_status.sql, 99_security.sql and 00_helpers.sql.

alter table public.cron_incidents
    add column if not exists alert_posted_at timestamptz,
    add column if not exists recovery_posted_at timestamptz,
    add column if not exists post_claimed_until timestamptz;

update public.cron_incidents
set alert_posted_at = opened_at, recovery_posted_at = closed_at
where alert_posted_at is null;

comment on column public.cron_incidents.alert_posted_at is
    'When the alert webhook accepted this incident''s alert; null: still to post (a failed post is posted again by a later run).';
comment on column public.cron_incidents.recovery_posted_at is
    'When the alert webhook accepted the recovery; null on a closed incident: still to post.';
comment on column public.cron_incidents.post_claimed_until is
    'A run claimed this incident''s post until then (overlapping runs post it once).';

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

revoke all on function public.cron_alert_posted(bigint, text, timestamptz) from public, anon, authenticated;
grant execute on function public.cron_alert_posted(bigint, text, timestamptz) to service_role;

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
    select '20261204003000_alert_redelivery'::text;
$$;

comment on function public.supacron_schema_version() is
    'The migration that last changed supacron''s schema (compared by supacron check).';
