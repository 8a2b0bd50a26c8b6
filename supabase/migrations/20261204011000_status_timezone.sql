-- 20261204011000_status_timezone.sql: the status report gives each job's summary the time
-- zone its runs recorded in cron_schedules, so the page shows a missed tick in the zone of
-- the schedule that actually runs (`supacron scheduler --vercel-json FILE` may differ from
-- the vercel.json the status function was built with).
--   status_report             + cron_run_summary[].timezone
--   supacron_schema_version   20261204011000_status_timezone
-- Written from supabase/schemas/60_status.sql and 00_helpers.sql.

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
    select '20261204011000_status_timezone'::text;
$$;

comment on function public.supacron_schema_version() is
    'The migration that last changed supacron''s schema (compared by supacron check).';
