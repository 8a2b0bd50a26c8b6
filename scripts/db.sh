#!/usr/bin/env bash
# scripts/db.sh: set up supacron's schema on a plain PostgreSQL 15+ server with psql.
#
#   scripts/db.sh bootstrap <url>   create the Supabase API roles (dev/sql/bootstrap.sql);
#                                   idempotent, roles are cluster-wide
#   scripts/db.sh migrate <url>     apply supabase/migrations/*.sql in file-name order, each file
#                                   in its own transaction; files already applied are skipped
#   scripts/db.sh seed <url>        load supabase/seed.sql (once, on a freshly migrated database)
#   scripts/db.sh reset <dbname>    drop and re-create <dbname> on the server of DATABASE_URL,
#                                   then bootstrap, migrate and seed it; prints its URL last
#   scripts/db.sh diff              build one scratch database from supabase/migrations and one
#                                   from supabase/schemas on the server of DATABASE_URL and print
#                                   every catalog object that differs (exit 1 if any): what the
#                                   next migration must change (docs/development.md)
#   scripts/db.sh authenticator-url <url>
#                                   <url> logging in as `authenticator` with the local
#                                   development password bootstrap.sql gives it (what the dev
#                                   PostgREST server connects with, like PostgREST on Supabase)
#
# <url> is a libpq URL such as postgres://supacron:supacron@127.0.0.1:5432/supacron_dev.
#
# Applied migrations are recorded in supacron_local.schema_migrations (its own schema, so the
# Data API never sees it) with a checksum of each file. Migrations are forward-only: if an
# applied file has changed since, `migrate` refuses and asks for `reset`. On Supabase, use the
# CLI instead (`supabase db reset` / `supabase db push`): it keeps its own history.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MIGRATIONS_DIR="$ROOT/supabase/migrations"
SCHEMAS_DIR="$ROOT/supabase/schemas"
CATALOG_SQL="$ROOT/dev/testkit/src/catalog.sql"
BOOTSTRAP_SQL="$ROOT/dev/sql/bootstrap.sql"
SEED_SQL="$ROOT/supabase/seed.sql"
DEFAULT_DATABASE_URL="postgres://supacron:supacron@127.0.0.1:5432/postgres"

say() { printf 'db.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
    sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# psql that stops at the first error and does not read ~/.psqlrc.
run_psql() {
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
        psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 "$@"
}

require_psql() {
    command -v psql >/dev/null 2>&1 \
        || die "psql not found: install it with 'apt-get install -y postgresql-client'"
}

# url_with_db <url> <dbname>: the same URL pointing at another database (keeps ?params).
url_with_db() {
    local url="$1" db="$2" base query=""
    if [[ "$url" == *\?* ]]; then
        query="?${url#*\?}"
        url="${url%%\?*}"
    fi
    local scheme="${url%%://*}" rest="${url#*://}"
    base="${rest%%/*}"
    printf '%s://%s/%s%s\n' "$scheme" "$base" "$db" "$query"
}

check_reachable() {
    local url="$1"
    run_psql -d "$url" -Atc 'select 1' >/dev/null \
        || die "cannot connect to the database (see the psql error above); is PostgreSQL running? try scripts/ensure-postgres.sh"
}

cmd_bootstrap() {
    local url="$1"
    check_reachable "$url"
    run_psql -d "$url" -f "$BOOTSTRAP_SQL"
    say "roles anon, authenticated, service_role, authenticator are in place"
}

cmd_migrate() {
    local url="$1"
    check_reachable "$url"
    run_psql -d "$url" -c "
        create schema if not exists supacron_local;
        comment on schema supacron_local is 'scripts/db.sh bookkeeping; not exposed by the Data API';
        create table if not exists supacron_local.schema_migrations (
            file        text primary key,
            sha256      text not null,
            applied_at  timestamptz not null default now()
        );"

    local file name sum applied count=0
    shopt -s nullglob
    local files=("$MIGRATIONS_DIR"/*.sql)
    shopt -u nullglob
    [[ ${#files[@]} -gt 0 ]] || die "no migrations found in $MIGRATIONS_DIR"

    for file in "${files[@]}"; do
        name="$(basename "$file")"
        # The name is inlined into SQL below, so it must be exactly <14 digits>_<word>.sql.
        [[ "$name" =~ ^[0-9]{14}_[a-z0-9_]+\.sql$ ]] \
            || die "unexpected migration file name '$name' (want <YYYYMMDDHHMMSS>_<name>.sql)"
        sum="$(sha256sum "$file" | cut -d' ' -f1)"
        applied="$(run_psql -d "$url" -Atc \
            "select sha256 from supacron_local.schema_migrations where file = '$name'")"
        if [[ -n "$applied" ]]; then
            [[ "$applied" == "$sum" ]] \
                || die "$name changed after it was applied; migrations are forward-only: add a new file, or 'scripts/db.sh reset <dbname>' a dev database"
            continue
        fi
        say "applying $name"
        # One transaction for the file and its bookkeeping row (-1 wraps every -f/-c).
        run_psql -d "$url" -1 -f "$file" \
            -c "insert into supacron_local.schema_migrations (file, sha256) values ('$name', '$sum')" \
            || die "$name failed (rolled back; see the error above)"
        count=$((count + 1))
    done
    say "migrations up to date ($count applied now, ${#files[@]} in total)"
}

cmd_seed() {
    local url="$1"
    check_reachable "$url"
    run_psql -d "$url" -1 -f "$SEED_SQL" \
        || die "seed failed (rolled back); the seed expects a freshly migrated, empty database"
    say "seed loaded"
}

# The role and password the dev PostgREST server logs in with (dev/sql/bootstrap.sql).
AUTHENTICATOR_USER=authenticator
AUTHENTICATOR_PASSWORD=authenticator-local-dev

cmd_authenticator_url() {
    local url="$1" scheme rest
    [[ "$url" == *://* ]] || die "authenticator-url needs a postgres:// URL, not '$url'"
    scheme="${url%%://*}"
    rest="${url#*://}"
    # Drop any user info before the host (an '@' before the first '/').
    local authority="${rest%%/*}"
    if [[ "$authority" == *@* ]]; then
        rest="${rest#*@}"
    fi
    printf '%s://%s:%s@%s\n' "$scheme" "$AUTHENTICATOR_USER" "$AUTHENTICATOR_PASSWORD" "$rest"
}

cmd_reset() {
    local db="$1"
    [[ "$db" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] \
        || die "database name '$db' must be lower-case letters, digits and underscores"
    [[ "$db" != postgres && "$db" != template0 && "$db" != template1 ]] \
        || die "refusing to reset the '$db' database"
    local server="${DATABASE_URL:-$DEFAULT_DATABASE_URL}"
    check_reachable "$server"
    say "re-creating database $db"
    run_psql -d "$server" -c "drop database if exists \"$db\" with (force)" -c "create database \"$db\""
    local url
    url="$(url_with_db "$server" "$db")"
    cmd_bootstrap "$url"
    cmd_migrate "$url"
    cmd_seed "$url"
    say "database $db is ready"
    printf '%s\n' "$url"
}

# scratch_db <name>: a fresh, bootstrapped database <name> on the server; prints its URL.
scratch_db() {
    local server="${DATABASE_URL:-$DEFAULT_DATABASE_URL}" url
    run_psql -d "$server" -c "drop database if exists \"$1\" with (force)" -c "create database \"$1\"" >&2
    url="$(url_with_db "$server" "$1")"
    run_psql -d "$url" -f "$BOOTSTRAP_SQL" >&2
    printf '%s\n' "$url"
}

# catalog <url>: every catalog object as "key<TAB>definition" (dev/testkit/src/catalog.sql, the
# query of the catalog test); a function's body spans several lines.
catalog() {
    run_psql -d "$1" -At -F $'\t' -f "$CATALOG_SQL"
}

cmd_diff() {
    local server="${DATABASE_URL:-$DEFAULT_DATABASE_URL}" from_migrations from_schemas file status=0
    check_reachable "$server"
    from_migrations="$(scratch_db supacron_diff_migrations)"
    from_schemas="$(scratch_db supacron_diff_schemas)"
    for file in "$MIGRATIONS_DIR"/*.sql; do
        run_psql -d "$from_migrations" -1 -f "$file" || die "$(basename "$file") failed"
    done
    for file in "$SCHEMAS_DIR"/*.sql; do
        run_psql -d "$from_schemas" -1 -f "$file" || die "schemas/$(basename "$file") failed"
    done
    diff -u --label supabase/migrations --label supabase/schemas \
        <(catalog "$from_migrations") <(catalog "$from_schemas") || status=1
    run_psql -d "$server" -c "drop database supacron_diff_migrations" -c "drop database supacron_diff_schemas"
    if ((status)); then
        say "the lines above differ: '-' is what the migrations build, '+' what the schemas say; write a migration that turns one into the other"
    else
        say "supabase/migrations and supabase/schemas build the same catalog"
    fi
    return "$status"
}

main() {
    if [[ "${1:-}" == diff && $# -eq 1 ]]; then
        require_psql
        cmd_diff
        return
    fi
    [[ $# -eq 2 ]] || usage
    require_psql
    case "$1" in
        bootstrap) cmd_bootstrap "$2" ;;
        migrate) cmd_migrate "$2" ;;
        seed) cmd_seed "$2" ;;
        reset) cmd_reset "$2" ;;
        authenticator-url) cmd_authenticator_url "$2" ;;
        *) usage ;;
    esac
}

main "$@"
