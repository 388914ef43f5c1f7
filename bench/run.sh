#!/usr/bin/env bash
# Throughput, latency and memory of the release build on this machine, against SQLite.
# Needs wrk (Debian: apt-get install wrk). Usage: bench/run.sh [seconds per scenario] [processes to seed]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
seed="${2:-1000}"
command -v wrk >/dev/null || { echo "bench/run.sh needs wrk (apt-get install wrk)"; exit 2; }

cargo build --release --quiet
data=$(mktemp -d)
port=18$(( RANDOM % 900 + 100 ))
base="http://127.0.0.1:$port"
ITSMS__SERVER__PORT=$port ITSMS__SERVER__DATA_DIR="$data" ITSMS__BOOTSTRAP__ADMIN_PASSWORD=bench-password-123 \
  ITSMS__LOG__LEVEL=warn ITSMS__AUTH__ACCESS_TOKEN_TTL_SECS=3600 target/release/itsms serve &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.2; done

token=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"email":"admin@example.com","password":"bench-password-123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
rss() { awk '/VmRSS/ {print $2 " KiB"}' "/proc/$server/status"; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo), $(uname -sr)"
echo "memory after start: $(rss)"

started=$(date +%s.%N)
python3 - "$base" "$token" "$seed" <<'PY'
import json, sys, urllib.request
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
role = post("/api/v1/roles", {"name": "Process owner"})["id"]
for i in range(n):
    post("/api/v1/processes", {"code": f"P{i:05d}", "name": f"Process {i}", "clauses": ["8.6.1"], "owner_role_id": role})
PY
echo "seeded $seed processes (one write transaction each, with its audit row) in $(echo "$(date +%s.%N) - $started" | bc) s"
id=$(curl -sf "$base/api/v1/processes?limit=1" -H "authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
cursor=$(curl -sf "$base/api/v1/processes?limit=200&sort=code" -H "authorization: Bearer $token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')

run() {
  echo; echo "== $1"
  wrk -t2 -c32 -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$2" | grep -E 'Requests/sec|50%|99%|Non-2xx'
}
run "GET /health/live" "$base/health/live"
run "GET /api/v1/processes/{id}" "$base/api/v1/processes/$id"
run "GET /api/v1/processes?limit=50 (first page)" "$base/api/v1/processes?limit=50"
run "GET /api/v1/processes?limit=50 (a page after 200 rows)" "$base/api/v1/processes?limit=50&sort=code&cursor=$cursor"
run "GET /api/v1/clauses/8.6.1" "$base/api/v1/clauses/8.6.1"
echo; echo "memory after the load: $(rss)"
