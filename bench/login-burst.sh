#!/usr/bin/env bash
# Peak memory of the release build under bursts of concurrent logins, against SQLite.
# Usage: bench/login-burst.sh [rounds] [logins per burst] [users to create]
# BIN=path/to/itsms runs that binary instead of building this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
burst="${2:-200}"
users="${3:-200}"
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/itsms
  [ -n "${CARGO_TARGET_DIR:-}" ] && BIN="$CARGO_TARGET_DIR/release/itsms"
fi

data=$(mktemp -d)
port=18$(( RANDOM % 900 + 100 ))
base="http://127.0.0.1:$port"
# The throttle is set out of the way, so every login of the burst checks a password.
ITSMS__SERVER__PORT=$port ITSMS__SERVER__DATA_DIR="$data" ITSMS__BOOTSTRAP__ADMIN_PASSWORD=bench-password-123 \
  ITSMS__LOG__LEVEL=error ITSMS__AUTH__LOGIN_MAX_FAILURES_PER_ACCOUNT=1000000 \
  ITSMS__AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS=1000000 "$BIN" serve &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 50); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.2; done

mem() { awk '/VmHWM|VmRSS/ {printf "%s %d MiB  ", $1, $2/1024}' "/proc/$server/status"; echo; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo), $(uname -sr)"
echo "after start:            $(mem)"

python3 - "$base" "$rounds" "$burst" "$users" "$server" <<'PY'
import json, sys, threading, time, urllib.request, urllib.error
base, rounds, burst, users, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

def call(path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(req, timeout=300) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as e:
        return e.code, None

def mem():
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return "  ".join(f"{k} {int(fields[k].split()[0]) // 1024} MiB" for k in ("VmHWM", "VmRSS"))

_, pair = call("/api/v1/auth/login", {"email": "admin@example.com", "password": "bench-password-123"})
token = pair["access_token"]
started = time.time()
for i in range(users):
    status, _ = call("/api/v1/users", {"email": f"user{i}@example.com", "display_name": f"User {i}",
                                       "roles": ["viewer"], "password": "bench-user-password"}, token)
    assert status == 201, status
print(f"after {users} users created ({time.time() - started:.1f} s): {mem()}", flush=True)

for r in range(rounds):
    statuses = []
    gate = threading.Barrier(burst)
    def login(i):
        gate.wait()
        statuses.append(call("/api/v1/auth/login", {"email": f"user{i % max(users, 1)}@example.com",
                                                    "password": "bench-user-password"})[0])
    threads = [threading.Thread(target=login, args=(i,)) for i in range(burst)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = statuses.count(200)
    print(f"burst {r + 1}: {ok}/{burst} logins OK in {time.time() - started:.1f} s: {mem()}", flush=True)
PY
