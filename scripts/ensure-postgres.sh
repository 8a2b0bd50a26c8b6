#!/usr/bin/env bash
# scripts/ensure-postgres.sh: make a PostgreSQL server reachable for supacron's tests and demo,
# on a fresh Debian/Ubuntu machine, and print its URL.
#
#   export DATABASE_URL="$(scripts/ensure-postgres.sh | tail -1)"
#
# * DATABASE_URL already set: only check that it accepts connections and logins; say exactly
#   what is wrong if not. Nothing is installed or started.
# * Otherwise, with Debian's postgresql packages (postgresql-common):
#     1. install postgresql + postgresql-client if the server is missing (root), or print the
#        apt-get line to run (not root);
#     2. pick a cluster (pg_lsclusters; `main` of the newest version first), or create
#        <newest version>/main; SUPACRON_PG_CLUSTER=<version>/<name> picks (or creates) another;
#     3. start it if it is down, and wait (bounded) until it accepts connections;
#     4. make sure a login superuser `supacron` with password `supacron` exists.
#   The last stdout line is postgres://supacron:supacron@127.0.0.1:<port>/postgres; progress
#   goes to stderr. Running it again is harmless: each step only does what is missing.
set -euo pipefail

ROLE=supacron
PASSWORD=supacron
READY_TIMEOUT_SECONDS=30

say() { printf 'ensure-postgres: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# The URL without its password, for messages.
redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

# ---------------------------------------------------------------------------------------------
# DATABASE_URL given: check it and stop.

check_database_url() {
    local url="$1" shown out rc
    shown="$(redact "$url")"
    if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
        die "DATABASE_URL is set, but psql/pg_isready are missing: apt-get install -y postgresql-client"
    fi

    rc=0
    out="$(pg_isready -d "$url" -t 5 2>&1)" || rc=$?
    case "$rc" in
        0) ;;
        1) die "the server of DATABASE_URL ($shown) is up but rejecting connections (starting up or shutting down?): $out" ;;
        2) die "no PostgreSQL server answers at DATABASE_URL ($shown): $out. Start it, or unset DATABASE_URL to let this script set up a local one" ;;
        *) die "DATABASE_URL ($shown) is not a usable connection string: $out" ;;
    esac

    rc=0
    out="$(psql --no-psqlrc -d "$url" -Atc 'select 1' 2>&1)" || rc=$?
    [[ "$rc" -eq 0 ]] \
        || die "the server of DATABASE_URL ($shown) is up, but logging in failed: $out"
    say "DATABASE_URL ($shown) accepts connections"
    printf '%s\n' "$url"
}

# ---------------------------------------------------------------------------------------------
# Local server: packages, cluster, start, role.

installed_versions() {
    local bin
    for bin in /usr/lib/postgresql/*/bin/postgres; do
        [[ -x "$bin" ]] && basename "$(dirname "$(dirname "$bin")")"
    done | sort -n
}

ensure_packages() {
    if command -v pg_lsclusters >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 \
        && [[ -n "$(installed_versions)" ]]; then
        return
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "PostgreSQL is not installed and this is not a Debian/Ubuntu system (no apt-get); install PostgreSQL 15+ yourself and set DATABASE_URL"
    if ! is_root; then
        say "PostgreSQL server binaries are missing. Install them with:"
        say "  sudo apt-get update && sudo apt-get install -y postgresql postgresql-client"
        exit 1
    fi
    say "installing postgresql and postgresql-client with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql postgresql-client >&2
    [[ -n "$(installed_versions)" ]] || die "apt-get finished but no server binaries are in /usr/lib/postgresql/*/bin"
}

# Prints "<version> <name> <port> <status> <owner> <log>" of one cluster, or nothing.
cluster_line() {
    local version="$1" name="$2"
    pg_lsclusters --no-header 2>/dev/null \
        | awk -v v="$version" -v n="$name" '$1 == v && $2 == n { print $1, $2, $3, $4, $5, $7 }'
}

# Prints "<version> <name>" of the cluster to use (it may not exist yet).
choose_cluster() {
    if [[ -n "${SUPACRON_PG_CLUSTER:-}" ]]; then
        [[ "$SUPACRON_PG_CLUSTER" =~ ^([0-9]+)/([A-Za-z0-9_.-]+)$ ]] \
            || die "SUPACRON_PG_CLUSTER must look like 15/main, not '$SUPACRON_PG_CLUSTER'"
        printf '%s %s\n' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
        return
    fi
    local clusters
    clusters="$(pg_lsclusters --no-header 2>/dev/null | awk '{ print $1, $2 }' | sort -k1,1nr)"
    if [[ -n "$clusters" ]]; then
        # `main` of the newest version, else the newest cluster of any name.
        awk '$2 == "main" { print; found = 1; exit } END { if (!found) exit 1 }' <<<"$clusters" \
            || head -n 1 <<<"$clusters"
        return
    fi
    printf '%s main\n' "$(installed_versions | tail -n 1)"
}

create_cluster() {
    local version="$1" name="$2"
    [[ -x "/usr/lib/postgresql/$version/bin/postgres" ]] \
        || die "PostgreSQL $version is not installed (have: $(installed_versions | tr '\n' ' '))"
    if ! is_root; then
        say "there is no PostgreSQL cluster $version/$name yet. Create and start it with:"
        say "  sudo pg_createcluster $version $name --start"
        exit 1
    fi
    say "creating cluster $version/$name"
    pg_createcluster "$version" "$name" >&2
}

start_cluster() {
    local version="$1" name="$2" owner="$3" log="$4"
    if ! is_root && [[ "$(id -un)" != "$owner" ]]; then
        say "cluster $version/$name is down. Start it with:"
        say "  sudo pg_ctlcluster $version $name start"
        exit 1
    fi
    say "starting cluster $version/$name"
    # The server outlives this script: it must not inherit our open files beyond stdio, or
    # it holds them for its whole life — under `flock /tmp/supacron-build.lock scripts/…`
    # that is the team's build lock, held until the server stops.
    (
        for fd in /proc/self/fd/*; do
            fd="${fd##*/}"
            if [[ "$fd" -gt 2 ]]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec pg_ctlcluster "$version" "$name" start >&2
    ) || die "pg_ctlcluster $version $name start failed; see its log: $log"
}

wait_until_ready() {
    local port="$1" log="$2" deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
    until pg_isready -q -h 127.0.0.1 -p "$port" -t 2; do
        ((SECONDS < deadline)) \
            || die "PostgreSQL on 127.0.0.1:$port did not accept connections within ${READY_TIMEOUT_SECONDS}s; see $log (is listen_addresses including localhost?)"
        sleep 0.5
    done
}

# True when the final URL logs in as a superuser.
role_ready() {
    local url="$1"
    [[ "$(psql --no-psqlrc -d "$url" -Atc 'select rolsuper from pg_roles where rolname = current_user' 2>/dev/null)" == t ]]
}

ensure_role() {
    local port="$1" owner="$2"
    local sql="do \$\$ begin
        if not exists (select 1 from pg_roles where rolname = '$ROLE') then
            create role $ROLE login superuser password '$PASSWORD';
        else
            alter role $ROLE login superuser password '$PASSWORD';
        end if;
    end \$\$;"
    if is_root; then
        say "creating login superuser '$ROLE' (as $owner, over the unix socket)"
        (cd / && runuser -u "$owner" -- psql --no-psqlrc -q -v ON_ERROR_STOP=1 -p "$port" -d postgres -c "$sql") >&2
    elif [[ "$(id -un)" == "$owner" ]]; then
        say "creating login superuser '$ROLE' (over the unix socket)"
        psql --no-psqlrc -q -v ON_ERROR_STOP=1 -p "$port" -d postgres -c "$sql" >&2
    else
        say "PostgreSQL runs on port $port, but the superuser '$ROLE' (password '$PASSWORD') is missing or cannot log in. Create it with:"
        say "  sudo -u $owner psql -p $port -d postgres -c \"create role $ROLE login superuser password '$PASSWORD'\""
        say "(if the role exists, use 'alter role' instead of 'create role')"
        exit 1
    fi
}

main() {
    if [[ -n "${DATABASE_URL:-}" ]]; then
        check_database_url "$DATABASE_URL"
        return
    fi

    ensure_packages

    local chosen version name line
    chosen="$(choose_cluster)"
    read -r version name <<<"$chosen"
    [[ -n "$version" && -n "$name" ]] || die "could not determine which PostgreSQL version to use"
    line="$(cluster_line "$version" "$name")"
    if [[ -z "$line" ]]; then
        create_cluster "$version" "$name"
        line="$(cluster_line "$version" "$name")"
        [[ -n "$line" ]] || die "pg_createcluster $version $name did not create a cluster"
    fi

    local port status owner log
    read -r _ _ port status owner log <<<"$line"
    if [[ "$status" != online* ]]; then
        start_cluster "$version" "$name" "$owner" "$log"
    fi
    wait_until_ready "$port" "$log"
    say "cluster $version/$name is accepting connections on 127.0.0.1:$port"

    local url="postgres://$ROLE:$PASSWORD@127.0.0.1:$port/postgres"
    if ! role_ready "$url"; then
        ensure_role "$port" "$owner"
        role_ready "$url" \
            || die "role '$ROLE' exists but cannot log in as a superuser over TCP ($(redact "$url")); check pg_hba.conf allows 'host all all 127.0.0.1/32 scram-sha-256'"
    fi
    say "ready: $(redact "$url")"
    printf '%s\n' "$url"
}

main "$@"
