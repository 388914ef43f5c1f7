#!/usr/bin/env bash
# Every benchmark scenario, in one run, against the release build on this machine:
#   bench/run.sh [seconds per scenario] [postgres server URL]
# SQLite always; PostgreSQL too when a URL is given (a user who may create databases, e.g.
# postgres://postgres:postgres@127.0.0.1:5432/postgres). Each backend is measured at
# seed-demo --scale 1 and --scale 100 (SCALES=1,100). BIN=path/to/itsms measures another build.
# Needs wrk (installed from Debian's packages when missing) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
postgres="${2:-}"
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN="${CARGO_TARGET_DIR:-target}/release/itsms"
fi
exec python3 bench/bench.py --bin "$BIN" --seconds "$seconds" --scales "${SCALES:-1,100}" \
  ${postgres:+--postgres "$postgres"}
