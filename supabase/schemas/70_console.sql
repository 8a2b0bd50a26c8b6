-- supabase/schemas/70_console.sql: the status page's operator console (issue #18; supacron's own).
--
-- The status function (src/function/status.rs, src/console/) lets a signed-in operator act from
-- the page. Everything it does goes through the functions below, and leaves a row in
-- console_actions (who: the console session; what; when; how many rows):
--   console_sign_in     records a sign-in (or a refused one) and throttles repeated failures
--   console_sign_out    records a sign-out: the session can no longer act, even with its cookie
--   console_act         one operator action, idempotent per form: requeue dead (and failed) patch
--                       jobs, clear an expired job lock, retry given-up schedule ticks and refused
--                       training rows, start a run of a job now
--   console_action_finished   the outcome of a run started by console_act
--   console_overview    what the page shows besides status_report: the latest actions, a notice
--   console_list        the drill-down lists (runs of a job, patch jobs, held conversations, ...)
--   console_patch_job   one patch job's history
-- Every function takes p_now, so tests move time instead of waiting.

create table if not exists public.console_actions (
    id           bigint generated always as identity primary key,
    -- The form's one-time key: a form submitted twice finds its first row and acts once.
    form_key     uuid unique,
    -- Who: the console session (32 hex digits; '' for a refused sign-in).
    session_id   text not null check (session_id ~ '^([0-9a-f]{32})?$'),
    -- The caller's address, for the sign-in throttle (x-forwarded-for on Vercel).
    client       text not null default '',
    action       text not null check (action ~ '^[a-z_]+$'),
    -- What: the ids or the job the action was about.
    target       jsonb not null default '{}' check (jsonb_typeof(target) = 'object'),
    outcome      text not null check (outcome in ('done', 'refused', 'running', 'failed')),
    -- How many rows it changed.
    rows         integer not null default 0 check (rows >= 0),
    -- The one line the page shows after the action.
    notice       text not null default '',
    -- A run started by run_job_now, and its answer.
    run_id       uuid,
    answer       jsonb,
    created_at   timestamptz not null default now(),
    finished_at  timestamptz
);

comment on table public.console_actions is
    'The status console''s audit log: every sign-in, sign-out and operator action (issue #18).';

create index if not exists console_actions_created_at_idx on public.console_actions (created_at desc, id desc);
create index if not exists console_actions_refused_sign_in_idx on public.console_actions (client, created_at)
    where action = 'sign_in' and outcome = 'refused';
create index if not exists console_actions_sign_out_idx on public.console_actions (session_id)
    where action = 'sign_out';

-- A sign-in attempt from p_client: refused without a trace while 5 attempts from that address
-- failed in the last 15 minutes ({"allowed": false, "retry_after_seconds": n}); otherwise
-- recorded (done, or refused when p_ok is false) and {"allowed": true}.
create or replace function public.console_sign_in(
    p_session text, p_client text, p_ok boolean, p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_failures integer;
    v_oldest timestamptz;
begin
    select count(*), min(f.created_at) into v_failures, v_oldest
    from (select a.created_at from public.console_actions a
          where a.action = 'sign_in' and a.outcome = 'refused' and a.client = coalesce(p_client, '')
            and a.created_at > v_now - interval '15 minutes' and a.created_at <= v_now
          order by a.created_at desc
          limit 5) f;
    if v_failures >= 5 then
        return jsonb_build_object(
            'allowed', false,
            'retry_after_seconds',
            greatest(1, ceil(extract(epoch from v_oldest + interval '15 minutes' - v_now)))::integer);
    end if;
    insert into public.console_actions (session_id, client, action, outcome, notice, created_at, finished_at)
    values (case when p_ok then p_session else '' end, coalesce(p_client, ''), 'sign_in',
            case when p_ok then 'done' else 'refused' end,
            case when p_ok then 'Signed in.' else 'Sign-in refused.' end, v_now, v_now);
    return jsonb_build_object('allowed', true);
end;
$$;

-- Records that p_session signed out: console_act refuses its actions from then on.
create or replace function public.console_sign_out(p_session text, p_client text, p_now timestamptz default null)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    insert into public.console_actions (session_id, client, action, outcome, notice, created_at, finished_at)
    values (p_session, coalesce(p_client, ''), 'sign_out', 'done', 'Signed out.',
            coalesce(p_now, now()), coalesce(p_now, now()));
$$;

-- The ids in p_target->'ids' (null when absent or empty).
create or replace function public.console_target_ids(p_target jsonb)
returns text[]
language sql
immutable
set search_path = public, pg_temp
as $$
    select nullif(array(select jsonb_array_elements_text(coalesce(p_target->'ids', '[]'::jsonb))), '{}');
$$;

-- One operator action of session p_session, submitted with the form key p_form_key. A form
-- submitted again finds its first row and changes nothing ("repeated": true). A signed-out
-- session acts no more ("signed_out": true). Answers the action's row as JSON.
--   requeue_dead_patch_jobs        target {"ids": [..]} or {"all": true}: dead and failed jobs
--                                  back to pending, fresh attempts, due now (requeue_patch_jobs)
--   clear_expired_job_lock         target {"job": "memory"}: only a lease that has expired
--   retry_given_up_schedule_ticks  target {"ids": [..]} or {"all": true}: ticks that failed
--                                  p_target->'max_attempts' times become pending with fresh attempts
--   retry_refused_training_rows    target {"job": "outcomes"|"rewards", "ids": [..] or "all": true}:
--                                  the decisions' last_error is cleared, so the job considers them again
--   run_job_now                    target {"job": ".."}: recorded as running; the caller runs the
--                                  job and writes its outcome with console_action_finished
create or replace function public.console_act(
    p_session text, p_form_key uuid, p_action text, p_target jsonb, p_now timestamptz default null)
returns jsonb
language plpgsql
security invoker
set search_path = public, pg_temp
as $$
declare
    v_now timestamptz := coalesce(p_now, now());
    v_target jsonb := coalesce(p_target, '{}'::jsonb);
    v_all boolean := coalesce((v_target->>'all')::boolean, false);
    v_ids text[] := public.console_target_ids(v_target);
    v_job text := v_target->>'job';
    v_id bigint;
    v_rows integer := 0;
    v_outcome text := 'done';
    v_notice text;
    v_row public.console_actions;
begin
    if p_form_key is null then
        raise exception 'console_act needs a form key' using errcode = '22023';
    end if;
    if exists (select 1 from public.console_actions a
               where a.session_id = p_session and a.action = 'sign_out') then
        return jsonb_build_object('signed_out', true);
    end if;
    insert into public.console_actions (form_key, session_id, action, target, outcome, created_at)
    values (p_form_key, p_session, p_action, v_target, 'running', v_now)
    on conflict (form_key) do nothing
    returning id into v_id;
    if v_id is null then
        select * into v_row from public.console_actions a where a.form_key = p_form_key;
        return to_jsonb(v_row) || jsonb_build_object('repeated', true);
    end if;

    if p_action = 'requeue_dead_patch_jobs' then
        if v_all then
            v_rows := public.requeue_patch_jobs(
                array(select j.id from public.patch_jobs j where j.status in ('dead', 'failed')), v_now);
        elsif v_ids is not null then
            v_rows := public.requeue_patch_jobs(v_ids::bigint[], v_now);
        else
            v_outcome := 'refused';
            v_notice := 'Nothing to requeue: tick the jobs to requeue, or use "Requeue all".';
        end if;
        v_notice := coalesce(v_notice, format('Requeued %s dead or failed patch job%s (pending, due now).',
                                              v_rows, case when v_rows = 1 then '' else 's' end));
    elsif p_action = 'clear_expired_job_lock' then
        update public.job_locks l
        set lease_owner = null, lease_until = null, updated_at = v_now
        where l.job = v_job and l.lease_owner is not null and l.lease_until < v_now;
        get diagnostics v_rows = row_count;
        v_notice := case when v_rows = 1
                         then format('Cleared the expired lock of the %s job.', v_job)
                         else format('The %s job holds no expired lock: nothing changed.', coalesce(v_job, '(none)')) end;
    elsif p_action = 'retry_given_up_schedule_ticks' then
        if not v_all and v_ids is null then
            v_outcome := 'refused';
            v_notice := 'Nothing to retry: tick the ticks to retry, or use "Retry all".';
        else
            update public.schedule_ticks t
            set status = 'pending', attempts = 0, last_error = null, updated_at = v_now
            where t.status = 'failed'
              and t.attempts >= coalesce((v_target->>'max_attempts')::integer, 5)
              and (v_all or t.id = any(v_ids::bigint[]));
            get diagnostics v_rows = row_count;
            v_notice := format('%s given-up schedule tick%s will be tried again by the next schedule run.',
                               v_rows, case when v_rows = 1 then '' else 's' end);
        end if;
    elsif p_action = 'retry_refused_training_rows' then
        if v_job is distinct from 'outcomes' and v_job is distinct from 'rewards' then
            v_outcome := 'refused';
            v_notice := format('Unknown training job %s: use outcomes or rewards.', coalesce(v_job, '(none)'));
        elsif not v_all and v_ids is null then
            v_outcome := 'refused';
            v_notice := 'Nothing to retry: tick the rows to retry, or use "Retry all".';
        else
            update public.decisions d
            set last_error = null, updated_at = v_now
            where d.last_error is not null
              and (v_all or d.id = any(v_ids::uuid[]))
              and case when v_job = 'outcomes' then
                       exists (select 1 from public.items i
                               where i.id = d.item_id and i.status in ('DONE', 'COLD_STORAGE'))
                       and not exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  else
                       d.reward is null
                       and exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  end;
            get diagnostics v_rows = row_count;
            v_notice := format('%s refused row%s of the %s job will be considered again by its next run.',
                               v_rows, case when v_rows = 1 then '' else 's' end, v_job);
        end if;
    elsif p_action = 'run_job_now' then
        v_outcome := 'running';
        v_notice := format('Running the %s job…', coalesce(v_job, '(none)'));
    else
        v_outcome := 'refused';
        v_notice := format('Unknown action %s.', p_action);
    end if;

    update public.console_actions a
    set outcome = v_outcome, rows = v_rows, notice = v_notice,
        finished_at = case when v_outcome = 'running' then null else v_now end
    where a.id = v_id
    returning * into v_row;
    return to_jsonb(v_row) || jsonb_build_object('repeated', false);
end;
$$;

-- How a run started by console_act ended: its outcome (done or failed), rows, run id, answer.
create or replace function public.console_action_finished(
    p_id bigint, p_outcome text, p_rows integer, p_run_id uuid, p_answer jsonb, p_notice text,
    p_now timestamptz default null)
returns void
language sql
security invoker
set search_path = public, pg_temp
as $$
    update public.console_actions
    set outcome = p_outcome, rows = greatest(coalesce(p_rows, 0), 0), run_id = p_run_id,
        answer = p_answer, notice = p_notice, finished_at = coalesce(p_now, now())
    where id = p_id and outcome = 'running';
$$;

-- What the signed-in page shows besides status_report: whether p_session signed out, the
-- notice of action p_done, the latest p_limit actions, the expired job locks, and the counts
-- behind the retry buttons.
create or replace function public.console_overview(
    p_session text, p_done bigint default null, p_limit integer default 10,
    p_max_attempts integer default 5, p_now timestamptz default null)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'signed_out', exists (select 1 from public.console_actions a
                              where a.session_id = p_session and a.action = 'sign_out'),
        'notice', (select to_jsonb(a) from public.console_actions a where a.id = p_done),
        'actions', coalesce((select jsonb_agg(to_jsonb(a) order by a.created_at desc, a.id desc)
                             from (select * from public.console_actions
                                   order by created_at desc, id desc
                                   limit greatest(p_limit, 0)) a), '[]'::jsonb),
        'expired_locks', coalesce((select jsonb_agg(jsonb_build_object(
                                         'job', l.job, 'lease_owner', l.lease_owner,
                                         'lease_until', l.lease_until) order by l.job)
                                   from public.job_locks l
                                   where l.lease_owner is not null
                                     and l.lease_until < coalesce(p_now, now())), '[]'::jsonb),
        'given_up_ticks', (select count(*) from public.schedule_ticks t
                           where t.status = 'failed' and t.attempts >= p_max_attempts),
        'refused_outcomes', (select count(*) from public.decisions d
                             join public.items i on i.id = d.item_id
                             where d.last_error is not null and i.status in ('DONE', 'COLD_STORAGE')
                               and not exists (select 1 from public.outcomes o where o.decision_id = d.id)),
        'refused_rewards', (select count(*) from public.decisions d
                            where d.last_error is not null and d.reward is null
                              and exists (select 1 from public.outcomes o where o.decision_id = d.id)),
        'held_conversations', (select count(*) from (
                                   select distinct on (j.conversation_id) j.status
                                   from public.patch_jobs j
                                   where j.status in ('pending', 'processing', 'failed')
                                   order by j.conversation_id, j.id) f
                               where f.status = 'failed'));
$$;

-- A page of one drill-down list, newest first: {"total": n, "rows": [...]}.
--   runs          p_args {"job"}: the job's runs with counts and errors (cron_runs)
--   patch_jobs    p_args {"status": "dead"|"failed"|"open"|"all"}: patch jobs
--   held          conversations whose first open patch job is failed: it holds back the rest
--   ticks         schedule ticks given up on (failed p_args->'max_attempts' times)
--   refused       p_args {"job": "outcomes"|"rewards"}: decisions the job refused (last_error)
--   actions       the audit log (console_actions)
create or replace function public.console_list(
    p_view text, p_args jsonb default '{}', p_limit integer default 25, p_offset integer default 0,
    p_now timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = public, pg_temp
as $$
declare
    v_args jsonb := coalesce(p_args, '{}'::jsonb);
    v_limit integer := least(greatest(coalesce(p_limit, 25), 1), 200);
    v_offset integer := greatest(coalesce(p_offset, 0), 0);
    v_status text[];
    v_total bigint;
    v_rows jsonb;
begin
    if p_view = 'runs' then
        select count(*) into v_total from public.cron_runs r where r.job = v_args->>'job';
        select coalesce(jsonb_agg(to_jsonb(x) order by x.started_at desc, x.id desc), '[]') into v_rows
        from (select r.id, r.run_id, r.trigger, r.status, r.dry_run, r.started_at, r.finished_at,
                     r.duration_ms, r.counts, r.error
              from public.cron_runs r where r.job = v_args->>'job'
              order by r.started_at desc, r.id desc limit v_limit offset v_offset) x;
    elsif p_view = 'patch_jobs' then
        v_status := case coalesce(v_args->>'status', 'dead')
                        when 'dead' then array['dead']
                        when 'failed' then array['failed']
                        when 'open' then array['pending', 'processing', 'failed']
                        else array['pending', 'processing', 'failed', 'dead', 'done'] end;
        select count(*) into v_total from public.patch_jobs j where j.status = any(v_status);
        select coalesce(jsonb_agg(to_jsonb(x) order by x.updated_at desc, x.id desc), '[]') into v_rows
        from (select j.id, j.conversation_id, j.status, j.attempts, j.max_attempts, j.error_kind,
                     j.last_error, j.run_after, j.lease_owner, j.lease_until, j.updated_at, j.finished_at
              from public.patch_jobs j where j.status = any(v_status)
              order by j.updated_at desc, j.id desc limit v_limit offset v_offset) x;
    elsif p_view = 'held' then
        with first_open as (
            select distinct on (j.conversation_id) j.*
            from public.patch_jobs j
            where j.status in ('pending', 'processing', 'failed')
            order by j.conversation_id, j.id),
        held as (
            select f.conversation_id, f.id as failed_job_id, f.attempts, f.error_kind, f.last_error,
                   f.run_after,
                   (select count(*) from public.patch_jobs b
                    where b.conversation_id = f.conversation_id and b.id > f.id
                      and b.status in ('pending', 'processing', 'failed')) as held_jobs
            from first_open f where f.status = 'failed')
        select (select count(*) from held),
               coalesce((select jsonb_agg(to_jsonb(x) order by x.run_after, x.failed_job_id)
                         from (select * from held order by run_after, failed_job_id
                               limit v_limit offset v_offset) x), '[]')
        into v_total, v_rows;
    elsif p_view = 'ticks' then
        select count(*) into v_total from public.schedule_ticks t
        where t.status = 'failed' and t.attempts >= coalesce((v_args->>'max_attempts')::integer, 5);
        select coalesce(jsonb_agg(to_jsonb(x) order by x.updated_at desc, x.id desc), '[]') into v_rows
        from (select t.id, t.schedule_id, s.kind, c.name as character, t.slot, t.attempts,
                     t.last_error, t.updated_at
              from public.schedule_ticks t
              join public.character_schedules s on s.id = t.schedule_id
              join public.characters c on c.id = s.character_id
              where t.status = 'failed' and t.attempts >= coalesce((v_args->>'max_attempts')::integer, 5)
              order by t.updated_at desc, t.id desc limit v_limit offset v_offset) x;
    elsif p_view = 'refused' then
        with refused as (
            select d.id, d.item_id, d.action, d.decided_at, d.last_error, d.updated_at
            from public.decisions d
            where d.last_error is not null
              and case when v_args->>'job' = 'outcomes' then
                       exists (select 1 from public.items i
                               where i.id = d.item_id and i.status in ('DONE', 'COLD_STORAGE'))
                       and not exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  else
                       d.reward is null
                       and exists (select 1 from public.outcomes o where o.decision_id = d.id)
                  end)
        select (select count(*) from refused),
               coalesce((select jsonb_agg(to_jsonb(x) order by x.updated_at desc, x.id)
                         from (select * from refused order by updated_at desc, id
                               limit v_limit offset v_offset) x), '[]')
        into v_total, v_rows;
    elsif p_view = 'actions' then
        select count(*) into v_total from public.console_actions;
        select coalesce(jsonb_agg(to_jsonb(x) order by x.created_at desc, x.id desc), '[]') into v_rows
        from (select * from public.console_actions
              order by created_at desc, id desc limit v_limit offset v_offset) x;
    else
        raise exception 'unknown console list %', p_view using errcode = '22023';
    end if;
    return jsonb_build_object('total', v_total, 'rows', v_rows);
end;
$$;

-- One patch job's history: the row (without its patch), the open jobs of its conversation, and
-- the console actions that named it. Null when there is no such job.
create or replace function public.console_patch_job(p_id bigint)
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select jsonb_build_object(
        'job', to_jsonb(j) - 'patch',
        'patch_keys', (select coalesce(jsonb_agg(k order by k), '[]') from jsonb_object_keys(j.patch) k),
        'conversation_jobs', coalesce((select jsonb_agg(jsonb_build_object(
                                               'id', o.id, 'status', o.status, 'attempts', o.attempts,
                                               'run_after', o.run_after) order by o.id)
                                       from (select * from public.patch_jobs o
                                             where o.conversation_id = j.conversation_id
                                               and o.status in ('pending', 'processing', 'failed', 'dead')
                                             order by o.id limit 50) o), '[]'),
        'actions', coalesce((select jsonb_agg(to_jsonb(a) order by a.created_at desc)
                             from public.console_actions a
                             where a.action = 'requeue_dead_patch_jobs'
                               and (a.target->'ids' @> to_jsonb(array[j.id::text])
                                    or (a.target->>'all')::boolean)
                               and a.created_at >= j.created_at), '[]'))
    from public.patch_jobs j
    where j.id = p_id;
$$;
