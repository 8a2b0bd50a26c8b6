-- 20261203232100_llm_daily_cap.sql: a daily token budget per LLM job, enforced in the
-- database, and what each LLM job spent on the status page (issue #21).
--
--   llm_spend_days       per job and UTC day (the database's clock, so runs on machines whose
--                        clocks disagree share one day): tokens spent (settled), tokens
--                        reserved by calls in flight, calls, unusable calls, the cap last
--                        checked against and when a reservation was first refused that day
--   reserve_llm_tokens   before a paid call: reserves its worst case (max_tokens plus an
--                        estimate of its prompt) if spent + reserved + it stays within the cap;
--                        a row-locking UPDATE, so overlapping runs cannot both take the last room
--   settle_llm_tokens    after the call: the reservation is replaced by what was billed
--   llm_spend_at         per LLM job: calls and tokens over the 24 hours before p_now (from the
--                        runs' counts) and today's ledger; status_report gains it as llm_spend
--                        (status_report otherwise as in the baseline)
--   supacron_schema_version  this migration's name
--
-- A run that dies between reserve and settle leaves its reservation counted until the day
-- ends: the cap errs on the side of spending less.

create table if not exists public.llm_spend_days (
    job             text not null,
    day             date not null,
    spent_tokens    bigint not null default 0 check (spent_tokens >= 0),
    reserved_tokens bigint not null default 0 check (reserved_tokens >= 0),
    llm_calls       bigint not null default 0 check (llm_calls >= 0),
    unusable_calls  bigint not null default 0 check (unusable_calls >= 0),
    cap_tokens      bigint,
    cap_reached_at  timestamptz,
    updated_at      timestamptz not null default now(),
    primary key (job, day)
);

comment on table public.llm_spend_days is
    'LLM tokens per job and UTC day: spent, reserved by calls in flight, and the daily cap (LLM_DAILY_TOKEN_BUDGET).';

alter table public.llm_spend_days enable row level security;
revoke all on table public.llm_spend_days from public, anon, authenticated;
grant select, insert, update, delete on table public.llm_spend_days to service_role;

-- Reserves p_tokens of p_job's budget for today (UTC, the database's clock) if the day's spent
-- and reserved tokens plus p_tokens stay within p_cap. Answers {"reserved": bool, "day": date,
-- "used": spent + reserved after the attempt, "cap": p_cap}.
create or replace function public.reserve_llm_tokens(p_job text, p_tokens bigint, p_cap bigint)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_day date := (now() at time zone 'utc')::date;
    v_used bigint;
begin
    insert into public.llm_spend_days (job, day) values (p_job, v_day)
    on conflict (job, day) do nothing;
    update public.llm_spend_days d
    set reserved_tokens = d.reserved_tokens + greatest(p_tokens, 0),
        cap_tokens = p_cap, updated_at = now()
    where d.job = p_job and d.day = v_day
      and d.spent_tokens + d.reserved_tokens + greatest(p_tokens, 0) <= p_cap
    returning d.spent_tokens + d.reserved_tokens into v_used;
    if found then
        return jsonb_build_object('reserved', true, 'day', v_day, 'used', v_used, 'cap', p_cap);
    end if;
    update public.llm_spend_days d
    set cap_tokens = p_cap, cap_reached_at = coalesce(d.cap_reached_at, now()), updated_at = now()
    where d.job = p_job and d.day = v_day
    returning d.spent_tokens + d.reserved_tokens into v_used;
    return jsonb_build_object('reserved', false, 'day', v_day, 'used', v_used, 'cap', p_cap);
end;
$$;

comment on function public.reserve_llm_tokens(text, bigint, bigint) is
    'Reserves tokens of a job''s daily LLM budget for one call, if they fit under the cap.';

-- Replaces p_reserved tokens reserved on p_day by what the call was billed.
create or replace function public.settle_llm_tokens(
    p_job text, p_day date, p_reserved bigint, p_tokens bigint, p_calls integer,
    p_unusable integer)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    update public.llm_spend_days d
    set reserved_tokens = greatest(d.reserved_tokens - greatest(p_reserved, 0), 0),
        spent_tokens = d.spent_tokens + greatest(p_tokens, 0),
        llm_calls = d.llm_calls + greatest(p_calls, 0),
        unusable_calls = d.unusable_calls + greatest(p_unusable, 0),
        updated_at = now()
    where d.job = p_job and d.day = p_day;
$$;

comment on function public.settle_llm_tokens(text, date, bigint, bigint, integer, integer) is
    'Settles one LLM call: its reservation is replaced by what it was billed.';

-- A count from a run's counts, 0 when absent or not a number.
create or replace function public.llm_count(p_counts jsonb, p_name text)
returns bigint
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select case when jsonb_typeof(p_counts -> p_name) = 'number'
                then (p_counts ->> p_name)::numeric::bigint else 0 end;
$$;

comment on function public.llm_count(jsonb, text) is
    'One numeric count of a run (0 when absent): llm_spend_at''s sums.';

-- Per LLM job: billed calls, unusable calls and tokens of its runs over the 24 hours before
-- p_now (their recorded counts), and today's ledger row (null without a daily cap).
create or replace function public.llm_spend_at(
    p_now timestamptz default null, p_jobs text[] default array['memory', 'schedule'])
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
#variable_conflict use_column
declare
    v_now timestamptz := coalesce(p_now, now());
begin
    return coalesce((
        select jsonb_agg(jsonb_build_object(
                   'job', j.job,
                   'llm_calls_24h', coalesce(spent.calls, 0),
                   'unusable_calls_24h', coalesce(spent.unusable, 0),
                   'prompt_tokens_24h', coalesce(spent.prompt, 0),
                   'completion_tokens_24h', coalesce(spent.completion, 0),
                   'today', case when l.job is null then null else jsonb_build_object(
                       'day', l.day, 'spent_tokens', l.spent_tokens,
                       'reserved_tokens', l.reserved_tokens, 'cap_tokens', l.cap_tokens,
                       'cap_reached_at', l.cap_reached_at) end)
                 order by j.job)
        from unnest(p_jobs) as j(job)
        left join lateral (
            select sum(public.llm_count(r.counts, 'llm_calls')) as calls,
                   sum(public.llm_count(r.counts, 'unusable_calls')) as unusable,
                   sum(public.llm_count(r.counts, 'prompt_tokens')) as prompt,
                   sum(public.llm_count(r.counts, 'completion_tokens')) as completion
            from public.cron_runs r
            where r.job = j.job and not r.dry_run
              and r.started_at > v_now - interval '24 hours' and r.started_at <= v_now
        ) spent on true
        left join public.llm_spend_days l
            on l.job = j.job and l.day = (v_now at time zone 'utc')::date), '[]'::jsonb);
end;
$$;

comment on function public.llm_spend_at(timestamptz, text[]) is
    'Per LLM job: calls and tokens over 24 hours, and today''s daily-budget ledger.';

-- The status function's single round trip: both views at p_now, the latest dead patch jobs,
-- what each LLM job spent (llm_spend_at), and (for the HTML page) every non-dry run of the last 24 hours as [job, started_at, status].
create or replace function public.status_report(
    p_now timestamptz default null,
    p_dead_limit integer default 10,
    p_timeline boolean default false,
    p_memory_min_new integer default 10
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
#variable_conflict use_column
begin
    return (
    select jsonb_build_object(
            'generated_at', coalesce(p_now, now()),
            'cron_run_summary', coalesce((select jsonb_agg(to_jsonb(s) order by s.job)
                                          from public.cron_run_summary_at(p_now) s), '[]'::jsonb),
            'queue_health', coalesce((select jsonb_agg(to_jsonb(q))
                                      from public.queue_health_at(p_now, p_memory_min_new) q), '[]'::jsonb),
            'llm_spend', public.llm_spend_at(p_now),
            'dead_jobs', coalesce((select jsonb_agg(to_jsonb(d) order by d.finished_at desc nulls last, d.id desc)
                                   from (select id, conversation_id, attempts, error_kind, last_error, finished_at
                                         from public.patch_jobs
                                         where status = 'dead'
                                         order by finished_at desc nulls last, id desc
                                         limit greatest(p_dead_limit, 0)) d), '[]'::jsonb),
            'timeline', case when p_timeline then
                coalesce((select jsonb_agg(jsonb_build_array(r.job, r.started_at,
                                     case when r.status = 'running'
                                               and r.started_at < coalesce(p_now, now())
                                                   - make_interval(secs => coalesce(s.max_duration_secs, 300) + 60)
                                          then 'error' else r.status end)
                                 order by r.started_at)
                          from public.cron_runs r
                          left join public.cron_schedules s on s.job = r.job
                          where not r.dry_run
                            and r.started_at > coalesce(p_now, now()) - interval '24 hours'
                            and r.started_at <= coalesce(p_now, now())), '[]'::jsonb)
            else null end));
end;
$$;

comment on function public.status_report(timestamptz, integer, boolean, integer) is
    'Everything the status page shows, in one call: both views, dead jobs, LLM spend, the 24 h timeline.';

create or replace function public.supacron_schema_version()
returns text
language sql
immutable
security invoker
set search_path = public, pg_temp
as $$
    select '20261203232100_llm_daily_cap'::text;
$$;

do $$
declare
    f text;
begin
    foreach f in array array[
        'public.reserve_llm_tokens(text,bigint,bigint)',
        'public.settle_llm_tokens(text,date,bigint,bigint,integer,integer)',
        'public.llm_spend_at(timestamp with time zone,text[])',
        'public.llm_count(jsonb,text)'
    ] loop
        execute format('revoke all on function %s from public, anon, authenticated', f);
        execute format('grant execute on function %s to service_role', f);
    end loop;
end;
$$;
