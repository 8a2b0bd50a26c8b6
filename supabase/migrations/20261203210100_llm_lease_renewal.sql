-- 20261203210100_llm_lease_renewal.sql: an LLM run never works without holding its lease
-- (issue #21).
--
-- The job_locks lease was taken for maxDuration + 60 s and never renewed, while a run's budget
-- (SUPACRON_TIME_BUDGET_SECS under `supacron serve` / `run`) had no bound: a run outlived its
-- lease and a second run paid again for the same conversations. The lease is now taken for
-- the run's own budget + 60 s, and renewed before every paid call with renew_job_lock, which
-- extends it only while the caller still holds it; a renewal that finds it taken (or
-- released) stops the run before its next paid call.

-- Extends p_job's lease to at least p_now + p_lease_seconds if p_owner still holds it (even if
-- it expired meanwhile: nobody else took it). Answers {"held": bool, "lease_owner": text,
-- "lease_until": time} (the current holder's when not held).
create function public.renew_job_lock(
    p_job text, p_owner text, p_lease_seconds integer, p_now timestamptz default now())
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    held public.job_locks;
begin
    update public.job_locks as l
    set lease_until = greatest(coalesce(l.lease_until, p_now),
                               p_now + make_interval(secs => p_lease_seconds))
    where l.job = p_job and l.lease_owner = p_owner
    returning * into held;
    if found then
        return jsonb_build_object('held', true, 'lease_owner', held.lease_owner,
                                  'lease_until', held.lease_until);
    end if;
    select * into held from public.job_locks where job = p_job;
    return jsonb_build_object('held', false, 'lease_owner', held.lease_owner,
                              'lease_until', held.lease_until);
end;
$$;

comment on function public.renew_job_lock(text, text, integer, timestamptz) is
    'Extends a job''s lease while the caller still holds it; says who holds it otherwise.';

-- Server-only, like every function (see 20261122000600_security.sql).
revoke all on function public.renew_job_lock(text, text, integer, timestamptz)
    from public, anon, authenticated;
grant execute on function public.renew_job_lock(text, text, integer, timestamptz) to service_role;
