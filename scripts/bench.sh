#!/usr/bin/env bash
# The benchmark (docs/performance.md): builds the function binaries exactly as they ship
# (release profile, supacron alone, so no development crate can change their dependencies),
# then the benchmark and its hello-world reference with the same profile, and runs it
# against local PostgreSQL (scripts/ensure-postgres.sh). Takes a few minutes; prints the
# table with PASS / FALL SHORT per target. Extra arguments go to the benchmark
# (`--smoke` for tiny sizes, `--only scale`, `--help`). Installs baseline 3's Node packages
# into dev/bench/baseline3/node_modules (npm ci) when node is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
    echo "bench.sh: cargo is not installed. Install Rust (https://rustup.rs), then rerun." >&2
    exit 1
fi

DATABASE_URL="$(scripts/ensure-postgres.sh | tail -n 1)"
export DATABASE_URL

# Baseline 3 (seed 000 as a Next.js route on Node): its packages, from the committed lock,
# into its own folder. Without node or npm the benchmark skips it and says why.
BASELINE3=dev/bench/baseline3
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    if ! (cd "$BASELINE3" && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
        echo "bench.sh: npm ci in $BASELINE3 failed; baseline 3 will be skipped" >&2
    fi
else
    echo "bench.sh: node/npm not found; baseline 3 (the TypeScript route) will be skipped" >&2
fi

cargo build --release --locked -p supacron --bins
cargo build --release --locked -p bench --bins
exec target/release/bench "$@"
