-- 20261204001000_patch_claim_in_rounds.sql: a patch claim locks about the conversations it
-- takes, not every candidate (issue #20, throughput and scale-out).
--   claim_patch_batch        locked all 2 x p_max_jobs candidate conversations and read all their
--                            open jobs (4,000 rows for a batch of 100 in the benchmark) to take
--                            5 of them, and leased the picked jobs through a hash join over a
--                            sequential scan of patch_jobs: ~30 ms a claim. It now locks
--                            candidates in rounds of 8, 16, 32, ... until the batch is full,
--                            reads only their open jobs (the partial index of open jobs), and
--                            leases by primary key: ~9 ms, of which ~3 ms is updating the 100
--                            rows. Overlapping claims no longer skip each other's whole
--                            candidate list (scale-out), and a conversation whose jobs'
--                            character has a job under a live lease is skipped too (two runs
--                            writing one character row met version conflicts and 80 ms
--                            backoffs). Same order per conversation, same answer.
--   supacron_schema_version  now '20261204001000_patch_claim_in_rounds' (00_helpers.sql)
-- Written from `scripts/db.sh diff` (docs/development.md "Changing the schema").

create or replace function public.supacron_schema_version()
returns text
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select '20261204001000_patch_claim_in_rounds'::text;
$$;

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
    v_round uuid[];
    v_tried integer := 0;
    v_round_size integer := 8;
    v_picked bigint[] := '{}';
    v_jobs jsonb;
    v_exhausted jsonb := '[]'::jsonb;
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

    -- 1. Candidates: conversations with the oldest due work and no live lease, whose jobs' own
    --    character has no job under a live lease either (two runs writing one character row
    --    would meet a version conflict, a backoff and a retry). Over-fetched, so that runs
    --    overlapping this one still find work after skipping each other's locks.
    with live as (
        select j.conversation_id, j.character_id from public.patch_jobs j
        where j.status = 'processing' and j.lease_until >= v_now
    )
    select array_agg(conversation_id order by first_id) into v_candidates
    from (
        select due.conversation_id, min(due.id) as first_id
        from (
            (select j.conversation_id, j.character_id, j.id from public.patch_jobs j
              where j.status in ('pending', 'failed') and j.run_after <= v_now
              order by j.run_after, j.id limit p_max_jobs * 4)
            union all
            (select j.conversation_id, j.character_id, j.id from public.patch_jobs j
              where j.status = 'processing' and j.lease_until < v_now
              order by j.lease_until limit p_max_jobs * 4)
        ) due
        where not exists (select 1 from live where live.conversation_id = due.conversation_id)
          and not exists (select 1 from live where live.character_id = due.character_id)
        group by due.conversation_id
        order by first_id
        limit p_max_jobs * 2
    ) candidates;

    -- 2. In rounds of 8, 16, 32, ... candidates, in order, until the batch is full: lock them
    --    (another claimer holding one is skipped, never waited for), then, in a new statement
    --    (a new snapshot), take the due prefix of each locked conversation that has no live
    --    lease, whole conversations in order of their oldest open job. Locking only about the
    --    conversations it takes (not every candidate) keeps a claim cheap and leaves the other
    --    candidates to the runs that overlap it.
    while v_candidates is not null and v_tried < cardinality(v_candidates)
          and cardinality(v_picked) < p_max_jobs loop
        select coalesce(array_agg(c.id), '{}') into v_round
        from (select cv.id from public.conversations cv
              where cv.id = any(v_candidates[v_tried + 1 : v_tried + v_round_size])
              for no key update skip locked) c;
        v_tried := v_tried + v_round_size;
        v_round_size := v_round_size * 2;
        continue when cardinality(v_round) = 0;

        v_picked := v_picked || array(
            with open_jobs as (
                select j.id, j.conversation_id, j.character_id,
                       (j.status in ('pending', 'failed') and j.run_after <= v_now)
                           or (j.status = 'processing' and j.lease_until < v_now) as due,
                       (j.status = 'processing' and j.lease_until >= v_now) as live
                from public.patch_jobs j
                where j.conversation_id = any(v_round)
                  and j.status <> 'done' and j.status <> 'dead'
            ),
            live_characters as (
                select l.character_id from public.patch_jobs l
                where l.status = 'processing' and l.lease_until >= v_now and l.character_id is not null
            ),
            free as (
                select o.*,
                       bool_and(o.due) over (partition by o.conversation_id order by o.id) as due_prefix,
                       min(o.id) over (partition by o.conversation_id) as first_id
                from open_jobs o
                where not exists (select 1 from open_jobs b where b.conversation_id = o.conversation_id and b.live)
                  and not exists (select 1 from open_jobs b join live_characters lc on lc.character_id = b.character_id
                                  where b.conversation_id = o.conversation_id)
            )
            select id from (
                select id, row_number() over (order by first_id, id) as n from free where due_prefix
            ) numbered
            where n <= p_max_jobs - cardinality(v_picked)
            order by n);
    end loop;

    -- 3. Lease the picked jobs (by primary key); a picked job already at max_attempts
    --    becomes dead instead.
    if cardinality(v_picked) > 0 then
        with exhausted as (
            update public.patch_jobs j
            set status = 'dead', finished_at = v_now, lease_owner = null, lease_until = null,
                error_kind = 'timeout',
                last_error = left(format(
                    'claimed %s times without being finished (max_attempts %s): each run that claimed it '
                    'stopped before committing it (killed at maxDuration, timed out, or its batch could '
                    'not be processed); requeue it once the cause is fixed%s',
                    j.attempts, j.max_attempts, coalesce('. Last error: ' || j.last_error, '')), 1000)
            where j.id = any(v_picked) and j.attempts >= j.max_attempts
            returning j.id
        ),
        claimed as (
            update public.patch_jobs j
            set status = 'processing',
                attempts = j.attempts + 1,
                lease_owner = p_owner,
                lease_until = v_now + make_interval(secs => p_lease_seconds)
            where j.id = any(v_picked) and j.attempts < j.max_attempts
            returning j.id, j.conversation_id, j.character_id, j.patch, j.attempts, j.max_attempts
        )
        select coalesce((select jsonb_agg(jsonb_build_object(
                   'id', cl.id,
                   'conversation_id', cl.conversation_id,
                   'character_id', coalesce(cl.character_id, c.character_id),
                   'patch', cl.patch,
                   'attempts', cl.attempts,
                   'max_attempts', cl.max_attempts) order by cl.id)
                 from claimed cl join public.conversations c on c.id = cl.conversation_id), '[]'::jsonb),
               coalesce((select jsonb_agg(e.id order by e.id) from exhausted e), '[]'::jsonb)
        into v_jobs, v_exhausted;
    end if;

    -- 4. Nothing taken: say how many jobs are still due (behind a live lease, or behind a failed
    --    job whose run_after has not come), so the run needs no count after its last claim.
    --    Each count reads one partial index.
    if coalesce(v_jobs, '[]'::jsonb) = '[]'::jsonb then
        return jsonb_build_object('jobs', '[]'::jsonb, 'conversation_states', '[]'::jsonb,
                                  'character_states', '[]'::jsonb, 'exhausted', v_exhausted,
                                  'due', (select count(*) from public.patch_jobs
                                          where status in ('pending', 'failed') and run_after <= v_now)
                                         + (select count(*) from public.patch_jobs
                                            where status = 'processing' and lease_until < v_now));
    end if;

    return jsonb_build_object('jobs', v_jobs, 'exhausted', v_exhausted) || public.read_patch_states(
        array(select distinct (j->>'conversation_id')::uuid from jsonb_array_elements(v_jobs) j),
        array(select distinct (j->>'character_id')::uuid from jsonb_array_elements(v_jobs) j));
end;
$$;
