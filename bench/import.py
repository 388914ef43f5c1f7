"""Times a bulk import of N processes (all `active`, each with its RACI) into a fresh SQLite
database: python3 bench/import.py path/to/itsms [N]. Prints the dry run's and the import's
wall time and the server's peak resident memory."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

binary, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
data = tempfile.mkdtemp()
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://127.0.0.1:{port}/api/v1"
env = dict(os.environ, ITSMS__SERVER__PORT=str(port), ITSMS__SERVER__DATA_DIR=data,
           ITSMS__BOOTSTRAP__ADMIN_PASSWORD="bench-admin-password", ITSMS__LOG__LEVEL="error")
server = subprocess.Popen([binary, "serve"], env=env)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=1)
            break
        except OSError:
            time.sleep(0.1)

    def call(path, body, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(base + path, json.dumps(body).encode(), headers)
        with urllib.request.urlopen(req, timeout=600) as res:
            return res.status, json.load(res)

    _, pair = call("/auth/login", {"email": "admin@example.com", "password": "bench-admin-password"})
    token = pair["access_token"]
    for name in ("Process owner", "Service desk"):
        call("/roles", {"name": name}, token)
    rows = [{"code": f"P{i:05d}", "name": f"Process {i}", "clauses": ["8.6.1"],
             "owner_role_id": "Process owner", "state": "active",
             "raci": [{"role_id": "Process owner", "responsibility": "A"},
                      {"role_id": "Service desk", "responsibility": "R"}]}
            for i in range(count)]
    for dry_run in ("true", "false"):
        started = time.time()
        status, result = call(f"/imports/processes?dry_run={dry_run}", rows, token)
        print(f"{count} processes, dry_run={dry_run}: {status} in {time.time() - started:.2f} s")
    with open(f"/proc/{server.pid}/status") as f:
        peak = [line.split()[1] for line in f if line.startswith("VmHWM")][0]
    print(f"peak RSS {int(peak) // 1024} MiB")
finally:
    server.terminate()
    server.wait()
    shutil.rmtree(data, ignore_errors=True)
