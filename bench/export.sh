#!/usr/bin/env bash
# Memory and time of a whole CSV export, against SQLite: the server's resident memory while
# it streams every corrective action, for a growing number of rows.
# Usage: bench/export.sh [rows...]   (default: 10000 100000)
# BIN=path/to/itsms runs that binary instead of building this checkout. Needs sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(10000 100000)
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/itsms
  [ -n "${CARGO_TARGET_DIR:-}" ] && BIN="$CARGO_TARGET_DIR/release/itsms"
fi

data=$(mktemp -d)
port=18$(( RANDOM % 900 + 100 ))
base="http://127.0.0.1:$port"
ITSMS__SERVER__PORT=$port ITSMS__SERVER__DATA_DIR="$data" ITSMS__DATABASE__URL="sqlite://$data/itsms.db?mode=rwc" \
  ITSMS__BOOTSTRAP__ADMIN_PASSWORD=bench-password-123 ITSMS__LOG__LEVEL=error "$BIN" serve &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.2; done

mem() { awk '/VmHWM|VmRSS/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$server/status"; }
token=$(curl -sf "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email": "admin@example.com", "password": "bench-password-123"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo), $(uname -sr)"
echo "after start: $(mem)"

# Counts the CSV records (a text cell may hold line breaks) and the MiB read.
count='import csv, io, sys
data = sys.stdin.buffer.read()
print(sum(1 for _ in csv.reader(io.StringIO(data.decode(), newline=""))) - 1, len(data) // 1048576)'

have=0
for rows in "${sizes[@]}"; do
  # Rows written straight into the table, each with a few hundred bytes of text.
  sqlite3 "$data/itsms.db" "PRAGMA busy_timeout = 5000;
    WITH RECURSIVE n(i) AS (SELECT $have + 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
    INSERT INTO corrective_actions (id, title, nonconformity, source, clause, correction, state, version, created_at, updated_at)
    SELECT printf('00000000-0000-7000-8000-%012d', i), 'Corrective action ' || i,
           'Nonconformity ' || i || ', with \"quotes\", commas and' || char(10) || 'a second line; ' || hex(randomblob(100)),
           'incident', '8.6.1', '=formula ' || i, 'open', 1,
           strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || i || ' seconds'),
           strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || i || ' seconds')
    FROM n;" >/dev/null
  have=$rows
  start=$(date +%s%N)
  counted=$(curl -sfN "$base/api/v1/exports/corrective-actions" -H "authorization: Bearer $token" |
    python3 -c "$count")
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "$rows rows: ${counted% *} exported, ${counted#* } MiB of CSV in ${took} ms: $(mem)"
done
