-- 20261122005100_patch_empty_claim.sql: an empty queue answered cheaply (dev/bench, issue #8).
--
-- Most cron ticks find nothing to do, and the benchmark times a function's cold start to its
-- first answer. claim_patch_batch (as of 20261122005000_patch_round_trips.sql) planned and ran
-- its candidate query and two counts even on an empty queue: about 1 ms in PostgreSQL. It now
-- first probes the two partial indexes of due jobs (step 0) and, when neither holds a due job,
-- answers at once: about 0.3 ms. Otherwise it is unchanged.

create or replace function public.claim_patch_batch(
    p_owner text,
    p_lease_seconds integer,
    p_max_jobs integer default 100,
    p_now timestamptz default null
)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_candidates uuid[];
    v_locked uuid[];
    v_jobs jsonb;
begin
    if p_owner is null or btrim(p_owner) = '' or p_lease_seconds is null or p_lease_seconds < 1
       or p_max_jobs is null or p_max_jobs < 1 then
        raise exception 'claim_patch_batch needs an owner, p_lease_seconds >= 1 and p_max_jobs >= 1'
            using errcode = '22023';
    end if;

    -- 0. Nothing due (most cron ticks): answer at once. Two probes of the partial indexes cost
    --    a fraction of planning the candidate query below.
    if not exists (select 1 from public.patch_jobs
                   where status in ('pending', 'failed') and run_after <= v_now)
       and not exists (select 1 from public.patch_jobs
                       where status = 'processing' and lease_until < v_now) then
        return jsonb_build_object('jobs', '[]'::jsonb, 'conversation_states', '[]'::jsonb,
                                  'character_states', '[]'::jsonb, 'due', 0);
    end if;

    -- 1. Candidates: conversations with the oldest due work and no live lease (over-fetched, so
    --    that runs overlapping this one still find work after skipping each other's locks).
    select array_agg(conversation_id order by first_id) into v_candidates
    from (
        select due.conversation_id, min(due.id) as first_id
        from (
            (select j.conversation_id, j.id from public.patch_jobs j
              where j.status in ('pending', 'failed') and j.run_after <= v_now
              order by j.run_after, j.id limit p_max_jobs * 4)
            union all
            (select j.conversation_id, j.id from public.patch_jobs j
              where j.status = 'processing' and j.lease_until < v_now
              order by j.lease_until limit p_max_jobs * 4)
        ) due
        where not exists (
            select 1 from public.patch_jobs live
            where live.conversation_id = due.conversation_id
              and live.status = 'processing' and live.lease_until >= v_now)
        group by due.conversation_id
        order by first_id
        limit p_max_jobs * 2
    ) candidates;

    if v_candidates is not null then
        -- 2. Lock them; another claimer holding one is skipped, never waited for.
        select array_agg(c.id) into v_locked
        from (select id from public.conversations where id = any(v_candidates)
              for no key update skip locked) c;

        -- 3. A new statement, a new snapshot: lease the due prefix of each locked conversation that
        --    has no live lease, whole conversations in order of their oldest open job.
        with open_jobs as (
            select j.id, j.conversation_id,
                   (j.status in ('pending', 'failed') and j.run_after <= v_now)
                       or (j.status = 'processing' and j.lease_until < v_now) as due,
                   (j.status = 'processing' and j.lease_until >= v_now) as live
            from public.patch_jobs j
            where j.conversation_id = any(coalesce(v_locked, '{}'))
              and j.status in ('pending', 'failed', 'processing')
        ),
        free as (
            select o.*,
                   bool_and(o.due) over (partition by o.conversation_id order by o.id) as due_prefix,
                   min(o.id) over (partition by o.conversation_id) as first_id
            from open_jobs o
            where not exists (select 1 from open_jobs b where b.conversation_id = o.conversation_id and b.live)
        ),
        picked as (
            select id from (
                select id, row_number() over (order by first_id, id) as n from free where due_prefix
            ) numbered
            where n <= p_max_jobs
        ),
        claimed as (
            update public.patch_jobs j
            set status = 'processing',
                attempts = j.attempts + 1,
                lease_owner = p_owner,
                lease_until = v_now + make_interval(secs => p_lease_seconds)
            from picked
            where j.id = picked.id
            returning j.id, j.conversation_id, j.character_id, j.patch, j.attempts, j.max_attempts
        )
        select coalesce(jsonb_agg(jsonb_build_object(
                   'id', cl.id,
                   'conversation_id', cl.conversation_id,
                   'character_id', coalesce(cl.character_id, c.character_id),
                   'patch', cl.patch,
                   'attempts', cl.attempts,
                   'max_attempts', cl.max_attempts) order by cl.id), '[]'::jsonb)
        into v_jobs
        from claimed cl
        join public.conversations c on c.id = cl.conversation_id;
    end if;

    -- 4. Nothing taken: say how many jobs are still due (behind a live lease, or behind a failed
    --    job whose run_after has not come), so the run needs no count after its last claim.
    --    Each count reads one partial index.
    if coalesce(v_jobs, '[]'::jsonb) = '[]'::jsonb then
        return jsonb_build_object('jobs', '[]'::jsonb, 'conversation_states', '[]'::jsonb,
                                  'character_states', '[]'::jsonb,
                                  'due', (select count(*) from public.patch_jobs
                                          where status in ('pending', 'failed') and run_after <= v_now)
                                         + (select count(*) from public.patch_jobs
                                            where status = 'processing' and lease_until < v_now));
    end if;

    return jsonb_build_object('jobs', v_jobs) || public.read_patch_states(
        array(select distinct (j->>'conversation_id')::uuid from jsonb_array_elements(v_jobs) j),
        array(select distinct (j->>'character_id')::uuid from jsonb_array_elements(v_jobs) j));
end;
$$;

comment on function public.claim_patch_batch(text, integer, integer, timestamptz) is
    'Leases whole conversations'' due patch jobs (oldest first) with their states; if none, how many are due.';

-- create or replace keeps the function's privileges; restated so this file reads complete.
revoke all on function public.claim_patch_batch(text, integer, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.claim_patch_batch(text, integer, integer, timestamptz) to service_role;
