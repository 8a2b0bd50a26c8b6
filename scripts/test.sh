#!/usr/bin/env bash
# The test command (docs/development.md "Tests"; .ci/run calls exactly this).
#
# Makes PostgreSQL reachable — installing it from the OS packages and starting it when
# needed (scripts/ensure-postgres.sh) — then runs every test of the Cargo workspace
# against it. Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "test.sh: cargo is not installed. Install Rust (https://rustup.rs), then rerun." >&2
    exit 1
fi

DATABASE_URL="$(scripts/ensure-postgres.sh | tail -n 1)"
export DATABASE_URL
echo "test.sh: PostgreSQL ready at ${DATABASE_URL%%://*}://…@${DATABASE_URL#*@}" >&2

cargo test --workspace --locked "$@"
