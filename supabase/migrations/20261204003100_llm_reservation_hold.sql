-- 20261204003100_llm_reservation_hold.sql: a daily-budget reservation no longer leaks when
-- its run dies between reserving and settling (issue #21's debt): each reservation is held for
-- the caller's time budget plus a margin (llm_spend_days.reserved_until), and once every
-- reservation of the day has outlived its hold, the next reserve frees them.
--   llm_spend_days.reserved_until   new
--   reserve_llm_tokens              + p_hold_seconds, p_now (the old 3-argument one dropped)
--   supacron_schema_version         20261204003100_llm_reservation_hold
-- Written from supabase/schemas/40_llm_jobs.sql, 99_security.sql and 00_helpers.sql.

alter table public.llm_spend_days add column if not exists reserved_until timestamptz;

drop function if exists public.reserve_llm_tokens(text, bigint, bigint);

-- Reserves p_tokens of p_job's budget for today (UTC, the database's clock) if the day's spent
-- and reserved tokens plus p_tokens stay within p_cap. Answers {"reserved": bool, "day": date,
-- "used": spent + reserved after the attempt, "cap": p_cap}. A reservation is held for
-- p_hold_seconds (the caller's time budget plus a margin: no call can still settle later).
-- When every reservation of the day has outlived its hold, the calls that made them are gone
-- (a run killed between reserving and settling) and their tokens are free again: without
-- that, a dead run's worst case stayed reserved until midnight.
create or replace function public.reserve_llm_tokens(
    p_job text, p_tokens bigint, p_cap bigint, p_hold_seconds integer default 3600,
    p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_day date := (v_now at time zone 'utc')::date;
    v_until timestamptz := v_now + make_interval(secs => greatest(p_hold_seconds, 1));
    v_used bigint;
begin
    insert into public.llm_spend_days (job, day) values (p_job, v_day)
    on conflict (job, day) do nothing;
    update public.llm_spend_days d
    set reserved_tokens = 0, reserved_until = null
    where d.job = p_job and d.day = v_day and d.reserved_tokens > 0
      and d.reserved_until < v_now;
    update public.llm_spend_days d
    set reserved_tokens = d.reserved_tokens + greatest(p_tokens, 0),
        reserved_until = greatest(d.reserved_until, v_until),
        cap_tokens = p_cap, updated_at = v_now
    where d.job = p_job and d.day = v_day
      and d.spent_tokens + d.reserved_tokens + greatest(p_tokens, 0) <= p_cap
    returning d.spent_tokens + d.reserved_tokens into v_used;
    if found then
        return jsonb_build_object('reserved', true, 'day', v_day, 'used', v_used, 'cap', p_cap);
    end if;
    update public.llm_spend_days d
    set cap_tokens = p_cap, cap_reached_at = coalesce(d.cap_reached_at, v_now), updated_at = v_now
    where d.job = p_job and d.day = v_day
    returning d.spent_tokens + d.reserved_tokens into v_used;
    return jsonb_build_object('reserved', false, 'day', v_day, 'used', v_used, 'cap', p_cap);
end;
$$;

comment on function public.reserve_llm_tokens(text, bigint, bigint, integer, timestamptz) is
    'Reserves tokens of a job''s daily LLM budget for one call, if they fit under the cap; frees reservations whose hold has passed.';

revoke all on function public.reserve_llm_tokens(text, bigint, bigint, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.reserve_llm_tokens(text, bigint, bigint, integer, timestamptz) to service_role;

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
    select '20261204003100_llm_reservation_hold'::text;
$$;

comment on function public.supacron_schema_version() is
    'The migration that last changed supacron''s schema (compared by supacron check).';
