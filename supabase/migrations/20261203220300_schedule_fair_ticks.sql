-- 20261203220300_schedule_fair_ticks.sql: one schedule's backlog cannot starve the others
-- (issue #22).
--
-- open_schedule_ticks handed out the oldest slots first across all schedules, so one
-- `* * * * *` schedule with catch_up = 'all' that had created 1,000 ticks made every healthy
-- schedule wait 20 runs (SCHEDULE_MAX_TICKS_PER_RUN = 50) for its post. Ticks are now dealt
-- round-robin across schedules: every schedule's oldest open tick first, then every
-- schedule's second, and so on (oldest slot first within a round). The job also fires at most
-- 24 ticks per schedule per run (src/jobs/schedule/slots.rs, MAX_FIRED_PER_SCHEDULE).
-- Otherwise open_schedule_ticks is unchanged (as of 20261122003000_llm_jobs.sql).

create or replace function public.open_schedule_ticks(
    p_limit integer default 100, p_max_attempts integer default 5)
returns table (
    tick_id bigint,
    slot timestamptz,
    attempts integer,
    schedule_id uuid,
    kind text,
    prompt text,
    timezone text,
    character_id uuid,
    character_name text,
    persona text,
    memories jsonb)
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select t.id, t.slot, t.attempts, s.id, s.kind, s.prompt, s.timezone, ch.id, ch.name, ch.persona,
           (select coalesce(jsonb_agg(mem.summary order by mem.created_at desc), '[]')
            from (select mem.summary, mem.created_at from public.memories mem
                  where mem.character_id = ch.id
                  order by mem.created_at desc limit 3) mem)
    from (
        select t.id, t.schedule_id, t.slot, t.attempts,
               row_number() over (partition by t.schedule_id order by t.slot, t.id) as turn
        from public.schedule_ticks t
        join public.character_schedules s on s.id = t.schedule_id
        where t.status in ('pending', 'failed') and t.attempts < p_max_attempts and s.enabled
    ) t
    join public.character_schedules s on s.id = t.schedule_id
    join public.characters ch on ch.id = s.character_id
    order by t.turn, t.slot, t.id
    limit greatest(p_limit, 1);
$$;

comment on function public.open_schedule_ticks(integer, integer) is
    'Ticks the schedule job must generate content for (round-robin across schedules), with the prompt inputs.';

-- create or replace keeps the function's privileges; restated so this file reads complete.
revoke all on function public.open_schedule_ticks(integer, integer) from public, anon, authenticated;
grant execute on function public.open_schedule_ticks(integer, integer) to service_role;
