"""Runs every benchmark scenario against the release build and prints one report.

Called by bench/run.sh, which builds the binary and installs wrk. For each backend (SQLite,
and PostgreSQL when a URL is given) and each scale (seed-demo --scale 1 and --scale 100) it
seeds a fresh database, starts the server, and measures with wrk on this machine:
reads, pages (first and deep), the readiness report, concurrent writes, 256 open
connections and a burst of concurrent logins. Peak resident memory (VmHWM) is read from
/proc after all of them.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ADMIN_PASSWORD = "bench-admin-password"
SMALL_PAGES = ("GET /processes?limit=10&state=active", "GET /corrective-actions?limit=10")
FIRST_PAGE = "GET /corrective-actions?limit=50"
DEEP_PAGE = "  same, 1,000 rows deep (keyset)"
DEMO_PASSWORD = "itsms-demo-password"
HERE = os.path.dirname(os.path.abspath(__file__))
CREATE_LUA = os.path.join(HERE, "create-corrective-action.lua")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, token=None, timeout=300):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as e:
        return e.code, None


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url, token, seconds, connections=32, threads=2, script=None):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": 0,
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if non_2xx:
        result["errors"] += int(non_2xx.group(1))
    if socket_errors:
        result["errors"] += sum(int(g) for g in socket_errors.groups())
    return result


class Database:
    """A fresh database for one run: a SQLite file in a temporary folder, or a PostgreSQL
    database created (and dropped afterwards) on the server of `postgres_url`."""

    def __init__(self, postgres_url, name):
        self.data_dir = tempfile.mkdtemp(prefix="itsms-bench-")
        self.postgres_url = postgres_url
        self.name = name
        self.url = None
        if postgres_url:
            self._psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self._psql(f'CREATE DATABASE "{name}"')
            parts = urllib.parse.urlsplit(postgres_url)
            self.url = urllib.parse.urlunsplit(parts._replace(path="/" + name))

    def _psql(self, sql):
        subprocess.run(["psql", "-q", self.postgres_url, "-c", sql], check=True,
                       capture_output=True)

    def env(self):
        env = dict(os.environ, ITSMS__SERVER__DATA_DIR=self.data_dir,
                   ITSMS__BOOTSTRAP__ADMIN_PASSWORD=ADMIN_PASSWORD, ITSMS__LOG__LEVEL="error")
        if self.url:
            env["ITSMS__DATABASE__URL"] = self.url
        return env

    def drop(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.postgres_url:
            self._psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Server:
    def __init__(self, binary, database):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(database.env(), ITSMS__SERVER__PORT=str(self.port),
                   ITSMS__AUTH__ACCESS_TOKEN_TTL_SECS="3600",
                   ITSMS__AUTH__LOGIN_MAX_FAILURES_PER_ACCOUNT="1000000",
                   ITSMS__AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS="1000000")
        self.process = subprocess.Popen([binary, "serve"], env=env)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/health/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not become ready")

    def memory(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return {k: int(fields[k].split()[0]) // 1024 for k in ("VmHWM", "VmRSS")}

    def stop(self):
        self.process.terminate()
        self.process.wait()


def login_burst(base, emails, count):
    """`count` logins released together, over the given accounts: (OK, seconds)."""
    statuses = []
    gate = threading.Barrier(count)

    def login(i):
        gate.wait()
        status, _ = call(base, "POST", "/api/v1/auth/login",
                         {"email": emails[i % len(emails)], "password": DEMO_PASSWORD})
        statuses.append(status)

    threads = [threading.Thread(target=login, args=(i,)) for i in range(count)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses.count(200), time.time() - started


def follow(base, token, path, pages):
    """The cursor `pages` pages into a list."""
    cursor = None
    for _ in range(pages):
        sep = "&" if "?" in path else "?"
        status, page = call(base, "GET", path + (f"{sep}cursor={cursor}" if cursor else ""), token=token)
        assert status == 200, (path, status)
        cursor = page.get("next_cursor")
        if not cursor:
            return None
    return cursor


def run_scale(binary, postgres_url, scale, seconds, backend):
    database = Database(postgres_url, f"itsms_bench_{scale}")
    results = {}
    try:
        started = time.time()
        subprocess.run([binary, "seed-demo", "--scale", str(scale)], env=database.env(),
                       check=True, capture_output=True)
        results["seed"] = time.time() - started
        server = Server(binary, database)
        try:
            base = server.base
            _, pair = call(base, "POST", "/api/v1/auth/login",
                           {"email": "admin@example.com", "password": ADMIN_PASSWORD})
            token = pair["access_token"]
            results["started"] = server.memory()
            _, cas = call(base, "GET", "/api/v1/corrective-actions?limit=1&state=action_planned", token=token)
            _, processes = call(base, "GET", "/api/v1/processes?limit=1&state=active", token=token)
            ca_id, process_id = cas["items"][0]["id"], processes["items"][0]["id"]
            scenarios = [
                ("GET /health/live", "/health/live", {}),
                ("GET /corrective-actions/{id}", f"/api/v1/corrective-actions/{ca_id}", {}),
                ("GET /processes/{id}", f"/api/v1/processes/{process_id}", {}),
                ("GET /processes?limit=50&state=active", "/api/v1/processes?limit=50&state=active", {}),
                ("GET /corrective-actions?limit=50&source=…",
                 "/api/v1/corrective-actions?limit=50&source=audit_finding", {}),
                # Scale 1 has 20 active processes and 12 corrective actions: pages of 10 are
                # full at both scales, so their ratio compares the same work.
                (SMALL_PAGES[0], "/api/v1/processes?limit=10&state=active", {}),
                (SMALL_PAGES[1], "/api/v1/corrective-actions?limit=10", {}),
            ]
            # The demo's corrective actions are alike from one business unit to the next, so
            # the first page and a page 1,000 rows deep hold the same kind of rows.
            ca_list = "/api/v1/corrective-actions?limit=50"
            deep = follow(base, token, ca_list, 20)
            if deep:
                scenarios += [(FIRST_PAGE, ca_list, {}), (DEEP_PAGE, f"{ca_list}&cursor={deep}", {})]
            scenarios += [
                ("GET /reports/readiness (1 connection)", "/api/v1/reports/readiness",
                 {"connections": 1, "threads": 1}),
                ("POST /corrective-actions (32 writers)", "/api/v1/corrective-actions",
                 {"script": CREATE_LUA}),
                ("GET /processes/{id}, 256 connections", f"/api/v1/processes/{process_id}",
                 {"connections": 256}),
            ]
            for name, path, options in scenarios:
                results[name] = wrk(base + path, token, seconds, **options)
                results[name]["peak"] = server.memory()["VmHWM"]
                print(f"  {backend} scale {scale}: {name}: {results[name]['rps']:,.0f} req/s", file=sys.stderr)
            _, people = call(base, "GET", "/api/v1/users?limit=20&sort=created_at", token=token)
            emails = [u["email"] for u in people["items"]
                      if u["kind"] == "person" and u["email"] != "admin@example.com"]
            results["logins"] = login_burst(base, emails, 200)
            results["memory"] = server.memory()
        finally:
            server.stop()
    finally:
        database.drop()
    return results


def report(backend, by_scale):
    print(f"\n## {backend}\n")
    for scale, results in by_scale.items():
        health = results["GET /health/live"]["rps"]
        print(f"### seed-demo --scale {scale} (seeded in {results['seed']:.1f} s)\n")
        print(f"Resident memory once started and logged in: {results['started']['VmRSS']} MiB.\n")
        print("| scenario | req/s | share of /health/live | p50 ms | p99 ms | errors | peak RSS after, MiB |")
        print("|---|---|---|---|---|---|---|")
        for name, r in results.items():
            if isinstance(r, dict) and "rps" in r:
                print(f"| {name} | {r['rps']:,.0f} | {100 * r['rps'] / health:.1f} % | "
                      f"{r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {r['peak']} |")
        if DEEP_PAGE in results:
            print(f"\nDeep page against first page (p50): "
                  f"{results[DEEP_PAGE]['p50'] / results[FIRST_PAGE]['p50']:.2f}×.")
        ok, took = results["logins"]
        memory = results["memory"]
        print(f"\n200 concurrent logins: {ok} OK in {took:.1f} s. "
              f"Peak RSS (VmHWM) {memory['VmHWM']} MiB, RSS at the end {memory['VmRSS']} MiB.\n")
    if 1 in by_scale and 100 in by_scale:
        print("Scale 100 against scale 1 (p50; the list goal reads the pages of 10, full at both scales):\n")
        for name in by_scale[1]:
            if isinstance(by_scale[1][name], dict) and "p50" in by_scale[1][name] and name in by_scale[100]:
                a, b = by_scale[1][name]["p50"], by_scale[100][name]["p50"]
                print(f"- {name}: {b / a:.2f}×")
        print()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--postgres", help="a server URL where databases may be created")
    parser.add_argument("--scales", default="1,100")
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    print(f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**20} MiB, "
          f"{' '.join(os.uname()[2:3])}; wrk -t2 -c32 -d{args.seconds}s on the same cores unless stated")
    backends = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    all_results = {}
    for backend, url in backends:
        all_results[backend] = {s: run_scale(args.bin, url, s, args.seconds, backend) for s in scales}
        report(backend, all_results[backend])
    if len(all_results) == 2:
        print("PostgreSQL against SQLite (req/s, largest scale):\n")
        largest = max(scales)
        sqlite, postgres = all_results["SQLite"][largest], all_results["PostgreSQL"][largest]
        for name, r in sqlite.items():
            if isinstance(r, dict) and "rps" in r and name in postgres:
                print(f"- {name}: {100 * postgres[name]['rps'] / r['rps']:.0f} %")


if __name__ == "__main__":
    main()
