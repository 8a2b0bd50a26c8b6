#!/usr/bin/env bash
# scripts/screenshot-status.sh: render the status page (api/cron/status) from the demo data to
# PNGs with headless Chromium, so a person can see it without deploying.
#
#   scripts/screenshot-status.sh            writes docs/status.png (desktop) and
#                                           docs/status-phone.png (390 px wide)
#   OUT_DIR=/tmp scripts/screenshot-status.sh
#
# Steps, all local (needs PostgreSQL via scripts/ensure-postgres.sh, Debian's `chromium`
# (apt-get install -y chromium; run as root, Chromium needs --no-sandbox) and Node.js, with
# playwright-core in tests/browser (installed here with npm ci when missing; no browser download)):
#   1. scripts/db.sh reset supacron_status_demo: every migration and supabase/seed.sql;
#   2. adds a SYNTHETIC day of run history (cron_runs rows generated below, labelled
#      deployment_id 'demo-history') so the timeline has something to show: mostly green
#      runs, a short Supabase outage, a missed stretch of the patch cron, skipped memory runs;
#   3. runs every job once through its real function binary as Vercel Cron would (GET with
#      user-agent vercel-cron/1.0) against the PostgREST-compatible dev server;
#   4. starts the status function binary, signs in on its page as an operator would (the form,
#      never ?secret=) and screenshots the signed-in console (tests/browser/console.mjs).
# Every process started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${OUT_DIR:-$ROOT/docs}"
DB_NAME=supacron_status_demo
SECRET=status-demo-secret-123
KEY=sb_secret_status_demo_key_0123456789

say() { printf 'screenshot-status: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v chromium >/dev/null 2>&1 || die "chromium not found: apt-get install -y chromium"
command -v node >/dev/null 2>&1 || die "node not found: install Node.js (18 or later)"
cd "$ROOT"
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
    say "installing playwright-core into tests/browser (npm ci)"
    (cd tests/browser && npm ci --no-audit --no-fund >/dev/null)
fi
export DATABASE_URL="${DATABASE_URL:-$(scripts/ensure-postgres.sh | tail -n 1)}"
DB_URL="$(scripts/db.sh reset "$DB_NAME" | tail -n 1)"

say "adding a synthetic day of run history"
psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 -d "$DB_URL" <<'SQL'
-- One row per tick of each job's schedule over the last 24 hours, a few seconds after the tick.
with ticks as (
    select s.job, t as tick
    from cron_schedules s,
         generate_series(date_trunc('hour', now()) - interval '24 hours', now() - interval '3 minutes',
                         interval '1 minute') t
    where t > now() - interval '24 hours'
      and cron_previous_tick(s.schedule, t) = t
),
shaped as (
    select job, tick,
           case
               -- a 10-minute Supabase outage about 7 hours ago
               when tick between date_trunc('hour', now()) - interval '7 hours'
                             and date_trunc('hour', now()) - interval '6 hours 50 minutes' then 'error'
               -- the memory job now and then finds the previous run still holding its lease
               when job = 'memory' and extract(hour from tick)::int % 5 = 0 and extract(minute from tick) = 20 then 'skipped'
               when job = 'patch' and (extract(epoch from tick)::bigint / 120) % 97 = 0 then 'partial'
               else 'ok'
           end as status,
           0.6 + random() as jitter
    from ticks
    -- the patch cron was not delivered for 20 minutes about 15 hours ago (a gap in its lane)
    where not (job = 'patch' and tick between now() - interval '15 hours' and now() - interval '14 hours 40 minutes')
)
insert into cron_runs (run_id, job, trigger, status, started_at, finished_at, duration_ms, counts, error, deployment_id)
select gen_random_uuid(), job, 'vercel_cron', status,
       tick + interval '2 seconds',
       tick + interval '2 seconds' + make_interval(secs => d / 1000.0),
       d,
       case when status = 'partial' then '{"processed": 14, "ok_count": 12, "failed_count": 2, "dead_count": 0}'::jsonb
            else '{}'::jsonb end,
       case when status = 'error' then 'supabase_unavailable: Supabase is unreachable or timed out (rpc claim_patch_batch); nothing was changed, the next run retries. Check SUPABASE_URL and the project''s status' end,
       'demo-history'
from (select *, ((case job when 'patch' then 40 when 'memory' then 9000 when 'schedule' then 14000
                             else 300 end) * jitter)::int as d
      from shaped) runs;
SQL

say "building the function binaries and the dev server"
cargo build --quiet -p supacron -p postgrest-dev --bins
BIN="$ROOT/target/debug"

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    die "$1 did not come up"
}

REST_PORT="$(free_port)"
"$BIN/postgrest-dev" --db-uri "$(scripts/db.sh authenticator-url "$DB_URL")" --port "$REST_PORT" --secret-api-key "$KEY" >/dev/null 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$REST_PORT/rest/v1/"

# start_function <binary> <port>: one function process with the demo environment.
start_function() {
    env -i PATH="$PATH" VERCEL_DEV_PORT="$2" CRON_SECRET="$SECRET" \
        SUPABASE_URL="http://127.0.0.1:$REST_PORT" SUPABASE_SERVICE_ROLE_KEY="$KEY" \
        SUPACRON_LLM_PROVIDER=offline VERCEL_DEPLOYMENT_ID=dpl_local_demo "$BIN/$1" >/dev/null 2>&1 &
    PIDS+=($!)
    wait_for "http://127.0.0.1:$2/_vercel/ping"
}

for fn in cron/patch:cron-patch cron/memory:cron-memory cron/schedule:cron-schedule \
          training/outcomes:training-outcomes training/calculate-pending:training-calculate-pending; do
    path="${fn%%:*}" binary="${fn##*:}" port="$(free_port)"
    start_function "$binary" "$port"
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SECRET" \
        -H 'user-agent: vercel-cron/1.0' "http://127.0.0.1:$port/api/$path")"
    say "ran /api/$path as Vercel Cron: HTTP $code"
done

STATUS_PORT="$(free_port)"
start_function cron-status "$STATUS_PORT"
mkdir -p "$OUT_DIR"
node tests/browser/console.mjs screenshot "http://127.0.0.1:$STATUS_PORT/api/cron/status" "$SECRET" "$OUT_DIR" >&2
say "wrote $OUT_DIR/status.png and $OUT_DIR/status-phone.png"
