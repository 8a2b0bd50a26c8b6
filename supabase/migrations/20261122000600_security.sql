-- 20261122000600_security.sql: every supacron table is server-only.
--
-- Only the backend (service_role: the secret / service-role key) reads and writes these
-- tables, through PostgREST. The recipe (docs: Supabase "Row Level Security" and the 2026 change
-- that stops auto-granting new public tables to the Data API roles):
--   1. RLS enabled on every table, with NO policies: anon and authenticated could see nothing
--      even if a grant slipped in; service_role has BYPASSRLS.
--   2. Nothing granted to anon / authenticated / PUBLIC (revoke all, in case a project's default
--      privileges granted something when the tables were created).
--   3. Explicit grants to service_role (new projects no longer grant them by default).
--   4. Functions: executable by service_role only, now and for functions created later.
--
-- Rule for later migrations: a new table repeats 1-3 for itself; a new function does
--   revoke all on function public.f(...) from public, anon, authenticated;
--   grant execute on function public.f(...) to service_role;
-- (the default privileges below already withhold EXECUTE from PUBLIC, anon and authenticated,
-- but the explicit lines keep each migration correct on its own and easy to review).

-- 1. Row level security, no policies.
alter table public.characters          enable row level security;
alter table public.conversations       enable row level security;
alter table public.messages            enable row level security;
alter table public.conversation_states enable row level security;
alter table public.character_states    enable row level security;
alter table public.patch_jobs          enable row level security;
alter table public.memories            enable row level security;
alter table public.character_schedules enable row level security;
alter table public.schedule_ticks      enable row level security;
alter table public.character_posts     enable row level security;
alter table public.items               enable row level security;
alter table public.decisions           enable row level security;
alter table public.outcomes            enable row level security;
alter table public.cron_runs           enable row level security;
alter table public.job_locks           enable row level security;

-- 2. Nothing for the client-facing roles (tables, views and their sequences).
revoke all on table
    public.characters, public.conversations, public.messages,
    public.conversation_states, public.character_states, public.patch_jobs, public.memories,
    public.character_schedules, public.schedule_ticks, public.character_posts,
    public.items, public.decisions, public.outcomes,
    public.cron_runs, public.job_locks,
    public.queue_health, public.cron_run_summary
from public, anon, authenticated;

-- The identity sequences by name: a project may have other sequences in public that are
-- none of supacron's business.
revoke all on sequence
    public.messages_id_seq, public.patch_jobs_id_seq, public.memories_id_seq,
    public.schedule_ticks_id_seq, public.character_posts_id_seq, public.outcomes_id_seq,
    public.cron_runs_id_seq
from public, anon, authenticated;

-- 3. The backend's role.
grant usage on schema public to service_role;

grant select, insert, update, delete on table
    public.characters, public.conversations, public.messages,
    public.conversation_states, public.character_states, public.patch_jobs, public.memories,
    public.character_schedules, public.schedule_ticks, public.character_posts,
    public.items, public.decisions, public.outcomes,
    public.cron_runs, public.job_locks
to service_role;

grant select on table public.queue_health, public.cron_run_summary to service_role;

-- Identity columns do not need it for inserts, but explicit is cheaper than a surprise.
grant usage, select on sequence
    public.messages_id_seq, public.patch_jobs_id_seq, public.memories_id_seq,
    public.schedule_ticks_id_seq, public.character_posts_id_seq, public.outcomes_id_seq,
    public.cron_runs_id_seq
to service_role;

-- 4. Functions. PostgreSQL grants EXECUTE to PUBLIC on every new function by default; the
-- global form below removes that default for functions created by the role running the
-- migrations (postgres on Supabase). The per-schema form removes Supabase's default grant of
-- public-schema functions to anon and authenticated (a no-op on a plain server). Default
-- privileges belong to the creating role and to this database, so in a project shared with an
-- app, the app's own future functions need an explicit GRANT to be callable by its users too.
-- Tables are left alone: every supacron table is granted explicitly above.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from public, anon, authenticated;

-- The trigger functions created so far (a trigger fires whatever the caller's EXECUTE rights;
-- revoking only stops direct calls such as POST /rpc/set_updated_at).
revoke all on function public.set_updated_at() from public, anon, authenticated;
revoke all on function public.create_character_state() from public, anon, authenticated;
revoke all on function public.create_conversation_state() from public, anon, authenticated;
revoke all on function public.items_bump_status_changed_at() from public, anon, authenticated;

grant execute on function public.set_updated_at() to service_role;
grant execute on function public.create_character_state() to service_role;
grant execute on function public.create_conversation_state() to service_role;
grant execute on function public.items_bump_status_changed_at() to service_role;
