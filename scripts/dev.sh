#!/usr/bin/env bash
# scripts/dev.sh: all of supacron on this machine, with one command (README "Run it").
#
#   scripts/dev.sh          set everything up, run every job once (the table of --once), then
#                           serve the functions and run every job on its vercel.json schedule,
#                           until Ctrl-C
#   scripts/dev.sh --once   set everything up, run every job once against the demo data, print a
#                           table of the answers and what changed, stop everything it started;
#                           exit 1 if any job could not complete
#
# Steps (running it again is fine: the database starts from the demo data every time):
#   1. PostgreSQL via scripts/ensure-postgres.sh: installed from the OS packages when missing
#      (as root; otherwise it prints the apt-get line to run), started, local role `supacron`
#   2. the database supacron_dev re-created: roles, supabase/migrations, supabase/seed.sql
#   3. cargo build of `supacron` and of the dev PostgREST server (dev/postgrest-dev)
#   4. the dev PostgREST server on 127.0.0.1:54321 (/rest/v1, as `supabase start` serves it),
#      logged in as the NOINHERIT `authenticator` role, as PostgREST on Supabase
#   5. every job once (`supacron run <job>`), then `supacron scheduler --serve` on
#      127.0.0.1:3000; the LLM jobs use the offline provider unless a MiniMax key is configured
#      (MINIMAX_API_KEY in the environment or .env)
#
# Environment (all optional): DATABASE_URL (another PostgreSQL server), SUPACRON_DEV_DB
# [supacron_dev], SUPACRON_DEV_PORT [3000], SUPACRON_DEV_REST_PORT [54321], SUPACRON_DEV_LOG_DIR
# [target/dev], CRON_SECRET [generated], MINIMAX_API_KEY / MINIMAX_BASE_URL / MINIMAX_MODEL,
# SUPACRON_LLM_PROVIDER.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DB_NAME="${SUPACRON_DEV_DB:-supacron_dev}"
PORT="${SUPACRON_DEV_PORT:-3000}"
REST_PORT="${SUPACRON_DEV_REST_PORT:-54321}"
# The local dev server's secret API key (acts as service_role). Local only: it listens on
# 127.0.0.1 and serves a throw-away database.
SERVICE_KEY="sb_secret_supacron_local_dev"
JOBS=(patch memory schedule outcomes rewards)
LOG_DIR="${SUPACRON_DEV_LOG_DIR:-$ROOT/target/dev}"
STARTED_PIDS=()
SETSID="$(command -v setsid || true)"

say() { printf 'dev.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
    sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# alive <pid>: the process exists and is not a zombie waiting to be reaped.
alive() {
    local state
    state="$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# stop_pid <pid> <seconds>: SIGTERM, then SIGKILL if it is still there after <seconds>.
stop_pid() {
    local pid="$1" limit=$(($2 * 10)) i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < limit; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stops every process this script started, by pid, the last started first (the scheduler
# finishes its runs while the PostgREST server they need is still up).
cleanup() {
    local i
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${STARTED_PIDS[i]}" 45
    done
    STARTED_PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for_line <file> <regex> <pid> <what>: waits (bounded) until <file> has a matching line.
wait_for_line() {
    local file="$1" pattern="$2" pid="$3" what="$4" deadline=$((SECONDS + 60))
    until grep -qE "$pattern" "$file" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$what exited; the end of its log ($file):"
            tail -n 20 "$file" >&2 || true
            exit 1
        fi
        ((SECONDS < deadline)) || die "$what did not get ready within 60 s; see $file"
        sleep 0.2
    done
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

random_hex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# The value of NAME in .env (last one wins; surrounding quotes removed), or nothing.
dotenv_value() {
    [[ -f "$ROOT/.env" ]] || return 0
    sed -nE "s/^[[:space:]]*(export[[:space:]]+)?$1=(.*)$/\\2/p" "$ROOT/.env" | tail -n 1 \
        | sed -E "s/^['\"](.*)['\"][[:space:]]*$/\\1/"
}

choose_llm() {
    local name value
    for name in MINIMAX_API_KEY MINIMAX_BASE_URL MINIMAX_MODEL; do
        if [[ -z "${!name:-}" ]]; then
            value="$(dotenv_value "$name")"
            [[ -n "$value" ]] && export "$name=$value"
        fi
    done
    if [[ -n "${SUPACRON_LLM_PROVIDER:-}" ]]; then
        LLM_NOTE="SUPACRON_LLM_PROVIDER=$SUPACRON_LLM_PROVIDER (from your environment)"
    elif [[ -n "${MINIMAX_API_KEY:-}" ]]; then
        export SUPACRON_LLM_PROVIDER=minimax
        LLM_NOTE="MiniMax (MINIMAX_API_KEY is set): the memory and schedule jobs make real, paid calls"
    else
        export SUPACRON_LLM_PROVIDER=offline
        LLM_NOTE="offline provider (deterministic text, model = 'offline'); set MINIMAX_API_KEY for MiniMax"
    fi
}

setup_database() {
    command -v cargo >/dev/null 2>&1 \
        || die "cargo is not installed. Install Rust (https://rustup.rs), then rerun."
    DATABASE_URL="$(scripts/ensure-postgres.sh | tail -n 1)"
    export DATABASE_URL
    DB_URL="$(scripts/db.sh reset "$DB_NAME" | tail -n 1)"
}

build() {
    say "building supacron and the dev PostgREST server (the first build takes a few minutes)"
    cargo build --locked --bin supacron -p supacron --bin postgrest-dev -p postgrest-dev >&2
    SUPACRON_BIN="$ROOT/target/debug/supacron"
    POSTGREST_BIN="$ROOT/target/debug/postgrest-dev"
}

# start_rest <port>: starts the dev PostgREST server and sets REST_URL.
start_rest() {
    local port="$1" log="$LOG_DIR/postgrest-dev.log"
    # In its own session: Ctrl-C in the terminal must not stop it before the scheduler's runs
    # are done with it; cleanup stops it last.
    # As PostgREST on Supabase: logged in as the NOINHERIT `authenticator`, switching to anon,
    # authenticated or service_role per request.
    local rest_db_url
    rest_db_url="$(scripts/db.sh authenticator-url "$DB_URL")"
    # Emptied here, not only by the redirection below: that one happens in the background
    # child, so the wait could still read a previous run's "listening" line (and its port).
    : >"$log"
    $SETSID "$POSTGREST_BIN" --db-uri "$rest_db_url" --host 127.0.0.1 --port "$port" \
        --secret-api-key "$SERVICE_KEY" >>"$log" 2>&1 &
    STARTED_PIDS+=("$!")
    # Wait for the whole URL, not the start of the line: a line read while it is being written
    # would make the extraction below fail (and, under set -e, end this script silently).
    wait_for_line "$log" 'listening on http://[^ ]+/rest/v1' "$!" "the dev PostgREST server"
    REST_URL="$(grep -oE 'http://[^ ]+/rest/v1' "$log" | head -n 1)" \
        || die "the dev PostgREST server's log has no URL; see $log"
    export SUPABASE_URL="$REST_URL" SUPABASE_SERVICE_ROLE_KEY="$SERVICE_KEY"
}

# ---------------------------------------------------------------------------------------------
# --once: every job once, a table of the answers, what changed.

# field <json> <name>: a top-level string field of a compact JSON answer.
field() { sed -nE "s/.*\"$2\":\"([^\"]*)\".*/\\1/p" <<<"$1"; }

# counts <json>: the job's counts as name=value pairs.
counts() {
    sed -E 's/^\{//; s/\}$//;
            s/"(job|run_id|status|dry_run|duration_ms)":("[^"]*"|[^,]*),?//g;
            s/"//g; s/:/=/g; s/,/ /g; s/[[:space:]]+$//' <<<"$1"
}

psql_dev() { psql --no-psqlrc -X -At -F ' ' -d "$DB_URL" -c "$1"; }

show_changes() {
    printf '\nWhat the runs left in %s:\n' "$DB_NAME"
    printf '  patch_jobs      %s\n' "$(psql_dev "select string_agg(status || ' ' || n, ', ' order by status) from (select status, count(*) n from patch_jobs group by status) s")"
    psql_dev "select '  dead job #' || id || '     ' || last_error from patch_jobs where status = 'dead' order by id"
    printf '  memories        %s\n' "$(psql_dev "select coalesce(string_agg(n || ' by ' || m, ', '), 'none') from (select coalesce(model, '(seed)') m, count(*) n from memories group by 1) s")"
    printf '  character_posts %s\n' "$(psql_dev "select coalesce(string_agg(n || ' ' || kind || ' by ' || m, ', '), 'none') from (select kind, coalesce(model, '(seed)') m, count(*) n from character_posts group by 1, 2) s")"
    psql_dev "select '  bad schedule    ' || id || ': ' || last_error from character_schedules where last_error is not null order by id"
    printf '  outcomes        %s\n' "$(psql_dev "select count(*) from outcomes")"
    printf '  rewards         %s\n' "$(psql_dev "select count(*) filter (where reward is not null) || ' computed, ' || count(*) filter (where last_error is not null) || ' decision(s) with bad data' from decisions")"
    psql_dev "select '  bad decision    ' || id || ': ' || last_error from decisions where last_error is not null order by id"
}

run_once() {
    local failed=0 job answer code status detail
    local -a rows=()
    for job in "${JOBS[@]}"; do
        say "running $job"
        set +e
        answer="$("$SUPACRON_BIN" run "$job" --json 2>>"$LOG_DIR/once.log")"
        code=$?
        set -e
        status="$(field "$answer" status)"
        if [[ "$code" -eq 0 ]]; then
            detail="$(counts "$answer")"
        else
            failed=1
            status="FAILED"
            detail="$(field "$answer" error): $(field "$answer" message)"
            [[ -n "$answer" ]] || detail="no answer; see $LOG_DIR/once.log"
        fi
        rows+=("$(printf '%-9s %-9s %s' "$job" "$status" "$detail")")
    done
    printf '\n%-9s %-9s %s\n' JOB STATUS ANSWER
    printf '%s\n' "${rows[@]}"
    show_changes
    printf '\nEvery answer in full: %s (one JSON log line per run)\n' "$LOG_DIR/once.log"
    return "$failed"
}

# ---------------------------------------------------------------------------------------------
# Default: serve and schedule until Ctrl-C.

run_forever() {
    if port_in_use "$PORT"; then
        die "port $PORT is in use; pick another: SUPACRON_DEV_PORT=3001 scripts/dev.sh"
    fi
    if port_in_use "$REST_PORT"; then
        die "port $REST_PORT is in use; pick another: SUPACRON_DEV_REST_PORT=54329 scripts/dev.sh"
    fi
    start_rest "$REST_PORT"
    run_once || true
    local shown_db="${DB_URL/:supacron@/:***@}" job
    cat <<EOF

supacron is running on this machine. Ctrl-C stops everything.

  functions     http://127.0.0.1:$PORT/api/cron/patch  (every job, see below)
  status page   http://127.0.0.1:$PORT/api/cron/status?secret=$CRON_SECRET  (local only: a secret in a URL)
  CRON_SECRET   $CRON_SECRET
  Supabase API  $REST_URL  (apikey: $SERVICE_KEY)
  database      $shown_db
  LLM           $LLM_NOTE
  schedules     vercel.json (UTC); the scheduler's log follows below

Try it in another terminal: queue a state patch, run the patch job now, look at the queue.
  curl -sS $REST_URL/rpc/enqueue_patch_job -H 'apikey: $SERVICE_KEY' -H 'Content-Type: application/json' \\
    -d '{"p_conversation_id": "20000000-0000-4000-8000-000000000001", "p_patch": {"conversation": {"mood": "curious"}}}'
  curl -sS -H 'Authorization: Bearer $CRON_SECRET' http://127.0.0.1:$PORT/api/cron/patch
  psql '$DB_URL' -c 'select id, status, last_error from patch_jobs order by id'

Function paths:
EOF
    for job in "${JOBS[@]}"; do
        case "$job" in
            outcomes) printf '  http://127.0.0.1:%s/api/training/outcomes\n' "$PORT" ;;
            rewards) printf '  http://127.0.0.1:%s/api/training/calculate-pending\n' "$PORT" ;;
            *) printf '  http://127.0.0.1:%s/api/cron/%s\n' "$PORT" "$job" ;;
        esac
    done
    printf '\nLogs of the scheduler follow (the dev PostgREST server logs to %s).\n\n' \
        "$LOG_DIR/postgrest-dev.log"
    # Ctrl-C reaches it too; on SIGINT or SIGTERM it finishes the runs in progress, then exits.
    "$SUPACRON_BIN" scheduler --serve --port "$PORT" --pretty --shutdown-grace-secs 30 &
    STARTED_PIDS+=("$!")
    local status=0
    wait "$!" || status=$?
    return "$status"
}

main() {
    local once=0
    case "${1:-}" in
        "") ;;
        --once) once=1 ;;
        -h | --help) usage ;;
        *) say "unknown option '$1'"; usage ;;
    esac
    [[ $# -le 1 ]] || usage
    mkdir -p "$LOG_DIR"
    : >"$LOG_DIR/once.log"
    choose_llm
    export CRON_SECRET="${CRON_SECRET:-local-$(random_hex)}"
    setup_database
    build
    if ((once)); then
        start_rest 0
        run_once
    else
        run_forever
    fi
}

main "$@"
