-- 20261203220200_training_non_finite.sql: one decision's values can only stop that decision
-- (issue #22).
--
-- timestamptz allows 'infinity' and '-infinity'. An item with status_changed_at = 'infinity'
-- (or a decision with decided_at = '-infinity') made record_outcomes fail as a whole
-- ("cannot subtract infinite timestamps"), so every outcome run failed and every other
-- decision waited for ever. A candidate with a non-finite time is now refused like one
-- resolved before it was made: a readable last_error, in the same statement, and the batch
-- goes on. (The reward job's values are refused in its row decoder, src/jobs/rows.rs: a NaN
-- resolution_seconds becomes that decision's last_error through write_rewards.)
-- Otherwise record_outcomes is unchanged (as of 20261122002000_training_jobs.sql).

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

-- create or replace keeps the function's privileges; restated so this file reads complete.
revoke all on function public.record_outcomes(integer) from public, anon, authenticated;
grant execute on function public.record_outcomes(integer) to service_role;
