-- 20261204003200_patch_commit_set_based.sql: the patch queue's commit in a few set-based
-- statements, the claim's overlapping runs kept apart by character (issue #20).
--   commit_patch_batch       was a plpgsql loop with a sub-transaction per unit and ~8 statements
--                            each; now the fence (jobs locked in id order), the state rows'
--                            versions (locked in key order: concurrent batches never deadlock)
--                            and one statement for every write. Same results per unit; a unit
--                            writing a row an earlier unit of the call writes is a conflict.
--   claim_patch_batch        also locks the characters of the conversations it takes (skip
--                            locked), so two overlapping claims no longer take conversations of
--                            one character (a version conflict and an 80 ms backoff); rounds
--                            stop growing at 32; the answer is built once (the claimed ids are
--                            collected while leasing, not parsed back out of the answer).
--   supacron_schema_version  now '20261204003200_patch_commit_set_based' (00_helpers.sql)
-- Written from `scripts/db.sh diff` (docs/development.md "Changing the schema").

create or replace function public.supacron_schema_version()
returns text
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select '20261204003200_patch_commit_set_based'::text;
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
    v_characters uuid[] := '{}';
    v_picked bigint[] := '{}';
    v_jobs jsonb;
    v_exhausted jsonb := '[]'::jsonb;
    v_conversation_ids uuid[];
    v_character_ids uuid[];
    v_states jsonb;
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

    -- 2. In rounds of 8, 16, then 32 candidates, in order, until the batch is full: lock them
    --    and the characters their open jobs patch (another claimer holding one is skipped, never
    --    waited for), then, in a new statement (a new snapshot), take the due prefix of each
    --    locked conversation that has no live lease and whose jobs' characters are locked here
    --    and not under a live lease, whole conversations in order of their oldest open job.
    --    Locking only about the conversations it takes (not every candidate) keeps a claim cheap
    --    and leaves the other candidates to the runs that overlap it; locking the characters
    --    keeps two overlapping claims from taking conversations of one character.
    while v_candidates is not null and v_tried < cardinality(v_candidates)
          and cardinality(v_picked) < p_max_jobs loop
        select coalesce(array_agg(c.id), '{}') into v_round
        from (select cv.id from public.conversations cv
              where cv.id = any(v_candidates[v_tried + 1 : v_tried + v_round_size])
              for no key update skip locked) c;
        v_tried := v_tried + v_round_size;
        v_round_size := least(v_round_size * 2, 32);
        continue when cardinality(v_round) = 0;

        select v_characters || coalesce(array_agg(ch.id), '{}') into v_characters
        from (select c.id from public.characters c
              where c.id = any(array(select j.character_id from public.patch_jobs j
                                     where j.conversation_id = any(v_round)
                                       and j.status <> 'done' and j.status <> 'dead'
                                       and j.character_id is not null))
                and c.id <> all(v_characters)
              for no key update skip locked) ch;

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
                  and not exists (select 1 from open_jobs b
                                  where b.conversation_id = o.conversation_id and b.character_id is not null
                                    and (b.character_id <> all(v_characters)
                                         or b.character_id in (select character_id from live_characters)))
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
        ),
        answered as (
            select cl.*, coalesce(cl.character_id, c.character_id) as effective_character_id
            from claimed cl join public.conversations c on c.id = cl.conversation_id
        )
        select coalesce((select jsonb_agg(jsonb_build_object(
                   'id', a.id,
                   'conversation_id', a.conversation_id,
                   'character_id', a.effective_character_id,
                   'patch', a.patch,
                   'attempts', a.attempts,
                   'max_attempts', a.max_attempts) order by a.id)
                 from answered a), '[]'::jsonb),
               coalesce((select jsonb_agg(e.id order by e.id) from exhausted e), '[]'::jsonb),
               array(select distinct a.conversation_id from answered a),
               array(select distinct a.effective_character_id from answered a
                     where a.effective_character_id is not null)
        into v_jobs, v_exhausted, v_conversation_ids, v_character_ids;
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

    -- One answer built once (the jobs are not parsed again for their ids).
    v_states := public.read_patch_states(v_conversation_ids, v_character_ids);
    return jsonb_build_object('jobs', v_jobs, 'exhausted', v_exhausted,
                              'conversation_states', v_states->'conversation_states',
                              'character_states', v_states->'character_states');
end;
$$;

create or replace function public.commit_patch_batch(p_owner text, p_units jsonb, p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_action text;
    v_fenced bigint[];
    v_lost integer[];
    v_conversations uuid[];
    v_characters uuid[];
    v_current jsonb;
    v_conflict integer[];
    v_results jsonb;
begin
    select u->>'action' into v_action
    from jsonb_array_elements(p_units) u
    where (u->>'action') is distinct from 'commit' and (u->>'action') is distinct from 'fail'
      and (u->>'action') is distinct from 'release'
    limit 1;
    if found then
        raise exception 'commit_patch_batch: unknown action %', v_action using errcode = '22023';
    end if;

    -- 1. Fence: lock every job the units name that this run still leases (until commit).
    select coalesce(array_agg(id), '{}') into v_fenced
    from (select j.id from public.patch_jobs j
          where j.id = any(array(select (e)::bigint
                                 from jsonb_array_elements(p_units) u,
                                      jsonb_array_elements_text(u->'jobs') e))
            and j.status = 'processing' and j.lease_owner = p_owner
          order by j.id
          for update) fenced;

    -- A unit whose jobs are not all fenced lost its lease (a job named by two units belongs
    -- to the first).
    with unit_jobs as (
        select (u.n - 1)::integer as unit, (e)::bigint as id
        from jsonb_array_elements(p_units) with ordinality u(body, n),
             jsonb_array_elements_text(u.body->'jobs') e
    ),
    first_unit as (select id, min(unit) as unit from unit_jobs group by id)
    select coalesce(array_agg(unit), '{}') into v_lost
    from (select uj.unit
          from unit_jobs uj join first_unit f on f.id = uj.id
          group by uj.unit
          having count(*) <> count(distinct uj.id) filter (where f.unit = uj.unit and uj.id = any(v_fenced))
         ) lost;

    -- 2. The state rows the fenced commit units write, locked in key order (no deadlock between
    --    batches), and their current versions.
    with writes as (
        select s->>'kind' as kind, (s->>'id')::uuid as id
        from jsonb_array_elements(p_units) with ordinality u(body, n),
             jsonb_array_elements(coalesce(u.body->'states', '[]')) s
        where u.body->>'action' = 'commit' and (u.n - 1)::integer <> all(v_lost)
    )
    select array(select id from writes where kind = 'conversation'),
           array(select id from writes where kind is distinct from 'conversation')
    into v_conversations, v_characters;

    select coalesce(jsonb_object_agg('conversation:' || id, version), '{}') into v_current
    from (select conversation_id as id, version from public.conversation_states
          where conversation_id = any(v_conversations)
          order by conversation_id
          for no key update) c;
    select v_current || coalesce(jsonb_object_agg('character:' || id, version), '{}') into v_current
    from (select character_id as id, version from public.character_states
          where character_id = any(v_characters)
          order by character_id
          for no key update) c;

    -- A commit unit conflicts if a row it writes is missing or moved on, or is written by an
    -- earlier unit of this batch.
    with writes as (
        select (u.n - 1)::integer as unit, s.n as pos,
               case when s.body->>'kind' = 'conversation' then 'conversation:' else 'character:' end
                   || (s.body->>'id')::uuid as key,
               (s.body->>'expected_version')::bigint as expected
        from jsonb_array_elements(p_units) with ordinality u(body, n),
             jsonb_array_elements(coalesce(u.body->'states', '[]')) with ordinality s(body, n)
        where u.body->>'action' = 'commit' and (u.n - 1)::integer <> all(v_lost)
    )
    select coalesce(array_agg(distinct w.unit), '{}') into v_conflict
    from writes w
    where (v_current->>w.key)::bigint is distinct from w.expected
       or exists (select 1 from writes e where e.key = w.key and (e.unit, e.pos) < (w.unit, w.pos));

    -- 3. Every write at once (the units' rows are disjoint: a job or state row belongs to one
    --    unit), and one result per unit.
    with units as (
        select (u.n - 1)::integer as unit, u.body,
               case when (u.n - 1)::integer = any(v_lost) then 'lease_lost'
                    when (u.n - 1)::integer = any(v_conflict) then 'conflict'
                    else u.body->>'action' end as outcome,
               array(select (e)::bigint from jsonb_array_elements_text(u.body->'jobs') e) as jobs
        from jsonb_array_elements(p_units) with ordinality u(body, n)
    ),
    states as (
        select s->>'kind' as kind, (s->>'id')::uuid as id, s->'state' as state, s->'run_state' as run_state
        from units, jsonb_array_elements(coalesce(units.body->'states', '[]')) s
        where units.outcome = 'commit'
    ),
    conversation_writes as (
        update public.conversation_states t
        set state = w.state, run_state = w.run_state, version = t.version + 1
        from states w
        where w.kind = 'conversation' and t.conversation_id = w.id
          and t.conversation_id = any(v_conversations)
        returning 1
    ),
    character_writes as (
        update public.character_states t
        set state = w.state, run_state = w.run_state, version = t.version + 1
        from states w
        where w.kind is distinct from 'conversation' and t.character_id = w.id
          and t.character_id = any(v_characters)
        returning 1
    ),
    dead_jobs as (
        select units.unit, (d->>'id')::bigint as id, d->>'error' as error
        from units, jsonb_array_elements(coalesce(units.body->'dead', '[]')) d
        where units.outcome = 'commit' and (d->>'id')::bigint = any(units.jobs)
    ),
    done_jobs as (
        select (e)::bigint as id
        from units, jsonb_array_elements_text(coalesce(units.body->'done', '[]')) e
        where units.outcome = 'commit' and (e)::bigint = any(units.jobs)
        except
        select id from dead_jobs
    ),
    done as (
        update public.patch_jobs j
        set status = 'done', finished_at = v_now, lease_owner = null, lease_until = null,
            error_kind = null, last_error = null
        where j.id = any(array(select id from done_jobs))
        returning 1
    ),
    dead as (
        update public.patch_jobs j
        set status = 'dead', finished_at = v_now, lease_owner = null, lease_until = null,
            error_kind = 'permanent', last_error = d.error
        from dead_jobs d
        where j.id = d.id and j.id = any(array(select id from dead_jobs))
        returning d.unit, j.id
    ),
    failed as (
        update public.patch_jobs j
        set status = case when j.attempts >= j.max_attempts then 'dead' else 'failed' end,
            finished_at = case when j.attempts >= j.max_attempts then v_now end,
            error_kind = 'conflict', last_error = u.body->>'error',
            run_after = coalesce((u.body->>'run_after')::timestamptz, v_now),
            lease_owner = null, lease_until = null
        from units u
        where u.outcome = 'fail' and j.id = any(u.jobs)
          and j.id = any(array(select unnest(jobs) from units where outcome = 'fail'))
        returning u.unit, j.id, j.status
    ),
    released as (
        update public.patch_jobs j
        set status = 'pending', attempts = greatest(j.attempts - 1, 0), lease_owner = null, lease_until = null
        where j.id = any(array(select unnest(jobs) from units where outcome = 'release'))
        returning 1
    ),
    conflicted as (
        -- The unit's writes are not made; count the attempt (seed 000).
        update public.patch_jobs j
        set attempts = j.attempts + 1, error_kind = 'conflict',
            last_error = 'version conflict: the state changed while the patch was applied; retrying'
        where j.id = any(array(select unnest(jobs) from units where outcome = 'conflict'))
          and j.status = 'processing' and j.lease_owner = p_owner
        returning 1
    )
    select coalesce(jsonb_agg(jsonb_build_object(
               'unit', u.unit,
               'result', case u.outcome when 'commit' then 'committed' when 'fail' then 'failed'
                                        when 'release' then 'released' else u.outcome end,
               'dead', case u.outcome
                           when 'commit' then coalesce((select jsonb_agg(d.id) from dead d where d.unit = u.unit), '[]')
                           when 'fail' then coalesce((select jsonb_agg(f.id) from failed f
                                                      where f.unit = u.unit and f.status = 'dead'), '[]')
                           else '[]' end)
             order by u.unit), '[]'::jsonb)
    into v_results
    from units u;
    return v_results;
end;
$$;
