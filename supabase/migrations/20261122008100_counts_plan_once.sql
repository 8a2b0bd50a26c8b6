-- 20261122008100_counts_plan_once.sql: the jobs' pending-work counts keep their query plans.
--
-- The counts were LANGUAGE sql functions with a SET search_path clause. Such a function is
-- never inlined, and PostgreSQL plans its body anew on every call: the benchmark (#8)
-- measured ~0.2-0.3 ms of planning per call on an empty table, on every idle check
-- (begin_cron_run), every `remaining` and every dry run. The same queries in plpgsql are
-- planned once per connection and reused. Bodies and results are unchanged.

create or replace function public.count_patch_jobs(p_now timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (
        select jsonb_build_object(
            'due', count(*) filter (where (status in ('pending', 'failed') and run_after <= coalesce(p_now, now()))
                                       or (status = 'processing' and lease_until < coalesce(p_now, now()))),
            'pending', count(*) filter (where status = 'pending'),
            'processing', count(*) filter (where status = 'processing'),
            'expired_leases', count(*) filter (where status = 'processing' and lease_until < coalesce(p_now, now())),
            'failed', count(*) filter (where status = 'failed'),
            'dead', count(*) filter (where status = 'dead'))
        from public.patch_jobs
        where status <> 'done');
end;
$$;

create or replace function public.memory_candidates(p_min_new integer, p_now timestamptz)
returns table (conversation_id uuid, first_new_id bigint, new_count bigint)
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return query
    select c.id, min(m.id), count(*)
    from public.conversations c
    join public.messages m on m.conversation_id = c.id and m.id > c.memory_cursor
    where c.memory_retry_after is null or c.memory_retry_after <= p_now
    group by c.id
    having count(*) >= greatest(p_min_new, 1);
end;
$$;

create or replace function public.count_memory_candidates(p_min_new integer, p_now timestamptz default now())
returns bigint
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (select count(*) from public.memory_candidates(p_min_new, p_now));
end;
$$;

create or replace function public.count_schedule_work(
    p_now timestamptz default now(), p_max_attempts integer default 5)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return jsonb_build_object(
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
end;
$$;

create or replace function public.count_pending_outcomes()
returns bigint
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (
        select count(*)
        from public.decisions d
        join public.items i on i.id = d.item_id
        where i.status in ('DONE', 'COLD_STORAGE')
          and d.last_error is null
          and not exists (select 1 from public.outcomes o where o.decision_id = d.id));
end;
$$;

create or replace function public.count_pending_rewards()
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
begin
    return (
        select jsonb_build_object(
            'pending', count(*) filter (where d.last_error is null),
            'invalid', count(*) filter (where d.last_error is not null))
        from public.decisions d
        join public.outcomes o on o.decision_id = d.id
        where d.reward is null);
end;
$$;
