#!/usr/bin/env bash
# The benchmark (docs/performance.md): builds the function binaries exactly as they ship
# (release profile, supacron alone, so no development crate can change their dependencies),
# then the benchmark and its hello-world reference with the same profile, and runs it
# against local PostgreSQL (scripts/ensure-postgres.sh). Takes a few minutes; prints the
# table with PASS / FALL SHORT per target. Extra arguments go to the benchmark
# (`--smoke` for tiny sizes, `--only scale`, `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "bench.sh: cargo is not installed. Install Rust (https://rustup.rs), then rerun." >&2
    exit 1
fi

DATABASE_URL="$(scripts/ensure-postgres.sh | tail -n 1)"
export DATABASE_URL

cargo build --release --locked -p supacron --bins
cargo build --release --locked -p bench --bins
exec target/release/bench "$@"
