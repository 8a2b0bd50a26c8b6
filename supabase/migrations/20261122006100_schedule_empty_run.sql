-- 20261122006100_schedule_empty_run.sql: the schedule job answers an empty hour with one
-- request (found by the #8 benchmark: an empty run took five — lease, due schedules, open
-- ticks, release, count). count_schedule_work now also counts the rows waiting for a fix
-- (next_run_at unset with a last_error): the job re-checks them every run, so only when all
-- three counts are zero may it skip its lease and answer at once.
create or replace function public.count_schedule_work(
    p_now timestamptz default now(), p_max_attempts integer default 5)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'due_schedules', (select count(*) from public.character_schedules s
                          where s.enabled
                            and (s.next_run_at <= p_now
                                 or (s.next_run_at is null and s.last_error is null))),
        'waiting_for_fix', (select count(*) from public.character_schedules s
                            where s.enabled and s.next_run_at is null
                              and s.last_error is not null),
        'open_ticks', (select count(*) from public.schedule_ticks t
                       join public.character_schedules s on s.id = t.schedule_id
                       where t.status in ('pending', 'failed') and t.attempts < p_max_attempts
                         and s.enabled));
$$;
