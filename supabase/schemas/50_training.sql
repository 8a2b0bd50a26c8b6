-- supabase/schemas/50_training.sql: the state transitions of the training jobs (seed 002:
-- src/jobs/outcomes, src/jobs/rewards; the tables are the app's, 10_app_contract.sql).
--
--   record_outcomes         outcomes: one outcome per decision whose item is terminal
--   count_pending_outcomes  its dry run and `remaining`
--   pending_rewards         rewards: decisions with an outcome, no reward
--   write_rewards           ... writes computed rewards (guarded by reward IS NULL) or errors
--   count_pending_rewards   its dry run (seed 002's "returns count of pending rewards")
--
-- Idempotency by constraint: outcomes.decision_id is unique (ON CONFLICT DO NOTHING), and a
-- reward is only written where reward IS NULL, so overlapping or repeated runs are harmless.
-- A decision whose data makes no sense gets a readable last_error and is skipped from then on;
-- clear last_error to have it considered again.

-- Records up to p_limit outcomes, oldest decisions first. A decision whose item reached its
-- terminal state before the decision was made, or whose times are not finite (timestamptz
-- allows 'infinity'; it has no duration), is not given an outcome: its last_error says why,
-- in the same statement, and the batch goes on.
-- Answers {"candidates": n, "inserted": n, "invalid": n}.
create or replace function public.record_outcomes(p_limit integer default 1000)
returns jsonb
language sql
security invoker
set search_path = public, pg_temp
as $$
    with candidates as (
        select d.id as decision_id, d.item_id, i.status, i.status_changed_at as reached_at, d.decided_at,
               isfinite(i.status_changed_at) and isfinite(d.decided_at) as finite
        from public.decisions d
        join public.items i on i.id = d.item_id
        where i.status in ('DONE', 'COLD_STORAGE')
          and d.last_error is null
          and not exists (select 1 from public.outcomes o where o.decision_id = d.id)
        order by d.decided_at, d.id
        limit greatest(p_limit, 1)
    ),
    invalid as (
        update public.decisions d
        set last_error = case
            when not c.finite then format(
                'outcome cannot be computed: item %s reached %s at %s and the decision was made at %s; '
                'an infinite time has no duration (fix the time, then clear last_error)',
                c.item_id, c.status, c.reached_at, c.decided_at)
            else format(
                'outcome makes no sense: item %s reached %s at %s, before the decision was made at %s',
                c.item_id, c.status, c.reached_at, c.decided_at) end
        from candidates c
        -- last_error is checked again here: a run overlapping this one may have set it after
        -- our snapshot, and the row lock makes this UPDATE see its write, so only one counts it.
        where d.id = c.decision_id and (not c.finite or c.reached_at < c.decided_at)
          and d.last_error is null
        returning d.id
    ),
    inserted as (
        insert into public.outcomes (decision_id, item_id, terminal_status, reached_at, resolution_seconds)
        select c.decision_id, c.item_id, c.status, c.reached_at, extract(epoch from c.reached_at - c.decided_at)
        from candidates c
        where c.finite and c.reached_at >= c.decided_at
        on conflict (decision_id) do nothing
        returning decision_id
    )
    select jsonb_build_object(
        'candidates', (select count(*) from candidates),
        'inserted', (select count(*) from inserted),
        'invalid', (select count(*) from invalid));
$$;

comment on function public.record_outcomes(integer) is
    'Records outcomes of decisions whose item is terminal (unique per decision); non-finite times are refused per decision.';

-- Decisions that would get an outcome now.
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

comment on function public.count_pending_outcomes() is 'Decisions waiting for an outcome.';

-- Up to p_limit decisions with an outcome and no reward, oldest first, with what the reward
-- function needs.
create or replace function public.pending_rewards(p_limit integer default 1000)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(to_jsonb(p) order by p.decided_at, p.id), '[]'::jsonb)
    from (
        select d.id, d.action, d.confidence, d.decided_at,
               o.terminal_status, o.reached_at, o.resolution_seconds
        from public.decisions d
        join public.outcomes o on o.decision_id = d.id
        where d.reward is null and d.last_error is null
        order by d.decided_at, d.id
        limit greatest(p_limit, 1)
    ) p;
$$;

comment on function public.pending_rewards(integer) is 'Decisions with an outcome and no reward yet.';

-- Writes rewards computed by the job: p_rewards is an array of
--   {"id": uuid, "reward": number, "details": object, "version": integer}  or
--   {"id": uuid, "error": text}
-- Only where reward IS NULL: a reward written meanwhile by someone else is never overwritten
-- (counted as skipped). Answers {"written": n, "errors": n, "skipped": n}.
create or replace function public.write_rewards(p_rewards jsonb, p_now timestamptz default null)
returns jsonb
language sql
security invoker
set search_path = public, pg_temp
as $$
    with r as (
        select * from jsonb_to_recordset(p_rewards)
            as r(id uuid, reward double precision, details jsonb, version integer, error text)
    ),
    written as (
        update public.decisions d
        set reward = r.reward, reward_details = r.details, reward_version = r.version,
            reward_computed_at = coalesce(p_now, now()), last_error = null
        from r
        where d.id = r.id and r.error is null and d.reward is null
        returning d.id
    ),
    errors as (
        update public.decisions d
        set last_error = r.error
        from r
        where d.id = r.id and r.error is not null and d.reward is null
        returning d.id
    )
    select jsonb_build_object(
        'written', (select count(*) from written),
        'errors', (select count(*) from errors),
        'skipped', (select count(*) from r) - (select count(*) from written) - (select count(*) from errors));
$$;

comment on function public.write_rewards(jsonb, timestamptz) is
    'Writes computed rewards (or errors) where reward is still null.';

-- Seed 002's count of pending rewards, and how many decisions carry an error.
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

comment on function public.count_pending_rewards() is 'Decisions with an outcome and no reward.';
