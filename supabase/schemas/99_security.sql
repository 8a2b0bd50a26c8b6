-- supabase/schemas/99_security.sql: who may touch supacron's own objects.
--
-- Only the backend (service_role: the secret / service-role key) reads and writes them,
-- through PostgREST. The recipe (Supabase "Row Level Security", and the 2026 change that stops
-- auto-granting new public tables to the Data API roles):
--   1. RLS enabled on every supacron table, with NO policies: anon and authenticated could see
--      nothing even if a grant slipped in; service_role has BYPASSRLS.
--   2. Nothing granted to anon / authenticated / PUBLIC on supacron's tables, views, sequences
--      and functions (revoked by name, in case a project's default privileges granted
--      something when they were created: Supabase grants new public-schema functions to anon
--      and authenticated, and PostgreSQL grants EXECUTE to PUBLIC).
--   3. Explicit grants to service_role.
-- supacron grants and revokes its own objects only. It never changes default privileges, so
-- the app's own functions keep whatever the app grants them. The app's tables are the app's:
-- the ones an install creates are secured the same way where they are created
-- (10_app_contract.sql, step 5); existing ones keep their policies and grants.
-- Rule for a new object: add it to the lists below.

-- For `supacron check` (src/check): which of the given relations and functions the client
-- roles may use. The check runs with the service role, which cannot look as anon; it passes
-- supacron's own tables, views and functions (and the patch queue), and every privilege
-- anon or authenticated holds on them is a finding. [{"object", "role", "privilege"}].
create or replace function public.supacron_exposure(p_relations text[], p_functions text[])
returns jsonb
language sql
stable
security invoker
set search_path = public, pg_temp
as $$
    select coalesce(jsonb_agg(jsonb_build_object('object', x.object, 'role', x.role,
                                                 'privilege', x.privilege)
                              order by x.object, x.role, x.privilege), '[]'::jsonb)
    from (
        select r.name as object, g.role, p.privilege
        from unnest(p_relations) as r(name)
        cross join unnest(array['anon', 'authenticated']) as g(role)
        cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as p(privilege)
        where to_regclass(format('public.%I', r.name)) is not null
          and has_table_privilege(g.role, to_regclass(format('public.%I', r.name)), p.privilege)
        union all
        select f.proname::text, g.role, 'EXECUTE'
        from pg_proc f
        cross join unnest(array['anon', 'authenticated']) as g(role)
        where f.pronamespace = 'public'::regnamespace and f.proname = any(p_functions)
          and has_function_privilege(g.role, f.oid, 'EXECUTE')
    ) as x;
$$;

comment on function public.supacron_exposure(text[], text[]) is
    'For supacron check: the privileges anon and authenticated hold on the given objects.';

-- 1. Row level security, no policies.
alter table public.cron_runs       enable row level security;
alter table public.cron_schedules  enable row level security;
alter table public.job_locks       enable row level security;
alter table public.schedule_ticks  enable row level security;
alter table public.console_actions enable row level security;
alter table public.llm_spend_days  enable row level security;
alter table public.cron_incidents  enable row level security;

-- 2. Nothing for the client-facing roles.
revoke all on table
    public.cron_runs, public.cron_schedules, public.job_locks, public.schedule_ticks,
    public.console_actions, public.llm_spend_days, public.cron_incidents, public.queue_health, public.cron_run_summary
from public, anon, authenticated;

revoke all on sequence
    public.cron_runs_id_seq, public.schedule_ticks_id_seq, public.console_actions_id_seq,
    public.cron_incidents_id_seq
from public, anon, authenticated;

-- 3. The backend's role.
grant usage on schema public to service_role;

grant select, insert, update, delete on table
    public.cron_runs, public.cron_schedules, public.job_locks, public.schedule_ticks,
    public.console_actions, public.llm_spend_days, public.cron_incidents
to service_role;

grant select on table public.queue_health, public.cron_run_summary to service_role;

grant usage, select on sequence
    public.cron_runs_id_seq, public.schedule_ticks_id_seq, public.console_actions_id_seq,
    public.cron_incidents_id_seq
to service_role;

-- 4. Functions: every supacron function, by signature. Trigger functions too (a trigger fires
-- whatever the caller's EXECUTE rights; revoking only stops direct calls such as
-- POST /rpc/set_updated_at).
do $functions$
declare
    f text;
begin
    foreach f in array array[
        'public.acquire_job_lock(text,text,integer,timestamp with time zone)',
        'public.advance_schedules(jsonb,timestamp with time zone)',
        'public.begin_cron_run(uuid,text,text,boolean,text,text,text,integer,jsonb,integer,integer,timestamp with time zone,text,integer,text,text,timestamp with time zone,text,integer)',
        'public.claim_patch_batch(text,integer,integer,timestamp with time zone)',
        'public.commit_memory(uuid,bigint,bigint,bigint,text,jsonb,text,integer,integer)',
        'public.commit_patch_batch(text,jsonb,timestamp with time zone)',
        'public.complete_schedule_tick(bigint,text,text,integer,integer)',
        'public.console_act(text,uuid,text,jsonb,timestamp with time zone)',
        'public.console_action_finished(bigint,text,integer,uuid,jsonb,text,timestamp with time zone)',
        'public.console_list(text,jsonb,integer,integer,timestamp with time zone)',
        'public.console_overview(text,bigint,integer,integer,timestamp with time zone)',
        'public.console_patch_job(bigint)',
        'public.console_sign_in(text,text,boolean,timestamp with time zone)',
        'public.console_sign_out(text,text,timestamp with time zone)',
        'public.console_target_ids(jsonb)',
        'public.cron_alert_posted(bigint,text,timestamp with time zone)',
        'public.cron_alert_sweep(timestamp with time zone)',
        'public.count_memory_candidates(integer,timestamp with time zone)',
        'public.count_patch_jobs(timestamp with time zone)',
        'public.count_pending_outcomes()',
        'public.count_pending_rewards()',
        'public.count_schedule_work(timestamp with time zone,integer)',
        'public.create_character_state()',
        'public.create_conversation_state()',
        'public.cron_expression_valid(text)',
        'public.cron_field_bits(text,integer,integer)',
        'public.cron_field_values(text,integer,integer)',
        'public.cron_job_pending(text,jsonb,timestamp with time zone)',
        'public.cron_previous_tick(text,timestamp with time zone)',
        'public.cron_previous_tick(text,timestamp with time zone,text)',
        'public.cron_run_housekeeping(text,text,text,integer,timestamp with time zone,text,integer,text)',
        'public.cron_run_summary_at(timestamp with time zone)',
        'public.due_schedules(timestamp with time zone,integer)',
        'public.enqueue_patch_job(uuid,jsonb,uuid,text,integer)',
        'public.fail_memory(uuid,text,timestamp with time zone)',
        'public.fail_schedule_tick(bigint,text)',
        'public.finish_cron_run(uuid,text,text,text,integer,jsonb,text,boolean,text,integer,timestamp with time zone,text,text,integer,text,integer,text,text,timestamp with time zone,text)',
        'public.items_bump_status_changed_at()',
        'public.llm_count(jsonb,text)',
        'public.llm_spend_at(timestamp with time zone,text[])',
        'public.memory_candidates(integer,timestamp with time zone)',
        'public.open_schedule_ticks(integer,integer)',
        'public.pending_rewards(integer)',
        'public.pick_memory_conversations(integer,integer,integer,timestamp with time zone)',
        'public.prune_cron_runs(interval,timestamp with time zone)',
        'public.queue_health_at(timestamp with time zone,integer)',
        'public.read_patch_states(uuid[],uuid[])',
        'public.record_outcomes(integer)',
        'public.release_job_lock(text,text)',
        'public.renew_job_lock(text,text,integer,timestamp with time zone)',
        'public.requeue_patch_jobs(bigint[],timestamp with time zone)',
        'public.reserve_llm_tokens(text,bigint,bigint,integer,timestamp with time zone)',
        'public.set_updated_at()',
        'public.settle_llm_tokens(text,date,bigint,bigint,integer,integer)',
        'public.status_report(timestamp with time zone,integer,boolean,integer)',
        'public.supacron_app_contract()',
        'public.supacron_exposure(text[],text[])',
        'public.supacron_schema_version()',
        'public.write_rewards(jsonb,timestamp with time zone)'
    ] loop
        execute format('revoke all on function %s from public, anon, authenticated', f);
        execute format('grant execute on function %s to service_role', f);
    end loop;
end;
$functions$;
