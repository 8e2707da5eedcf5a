"""Catalogue read-path benchmark: list and detail through gunicorn on PostgreSQL + Redis.

    .venv/bin/python bench/catalogue.py [--duration 10] [--connections 16] [--threads 2]

It (re)creates the database `yls_bench` (BENCH_DATABASE_URL), migrates it, seeds
`sample_products.json`, warms the cache, starts gunicorn (2 sync workers, persistent database
connections) and drives `GET /api/products` (pages of 20) and `GET /api/products/{sku}` with wrk.
It prints requests/s, p50/p95/p99 latency and the SQL queries per request (measured in-process
with the same database and cache). A benchmark that prints figures, not a pass/fail test.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yls_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")


def free_port() -> int:
    # Another benchmark may be serving on a fixed port; measuring it instead would be silent.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


PORT = int(os.environ.get("BENCH_PORT") or free_port())
BASE = f"http://127.0.0.1:{PORT}"

ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "CACHE_KEY_PREFIX": "yls-bench",
    "CONN_MAX_AGE": "600",  # persistent connections, as in production
    "DEBUG": "0",
    "SECRET_KEY": "benchmark-only-secret-key-not-for-production-use-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "LOG_LEVEL": "WARNING",
    "ACCESS_LOG": "0",  # a JSON log line per request would be measured too; the proxy logs
    "DJANGO_SETTINGS_MODULE": "yourlocalshop.settings",
}

# wrk picks the next path round-robin and reports p50/p95/p99 itself (`--latency` has no p95).
WRK_SCRIPT = """
local paths = {%s}
local index = 0
request = function()
  index = index %% #paths + 1
  return wrk.format("GET", paths[index])
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout + summary.errors.status
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "p50": %%f, "p95": %%f, "p99": %%f, '
    .. '"errors": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, errors))
end
"""


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=ENV, check=True)


def create_database() -> None:
    """Create the benchmark database when missing (connecting to the server's `postgres` db)."""
    import psycopg

    server_url, name = DATABASE_URL.rsplit("/", 1)
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        exists = connection.execute(query, [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def prepare() -> None:
    create_database()
    manage("prepare_database", "--reset", "--verbosity", "0")
    manage("seed_products", "--file", "sample_products.json")
    subprocess.run(
        [PYTHON, "-c", "import django; django.setup(); "
         "from django.core.cache import cache; cache.clear()"],
        cwd=ROOT, env=ENV, check=True,
    )  # fmt: skip
    manage("warm_catalogue_cache", "--top", "500")


def paths() -> tuple[list[str], list[str]]:
    document = json.loads((ROOT / "sample_products.json").read_text(encoding="utf-8"))
    active = [row for row in document["products"] if row.get("is_active", True)]
    active.sort(key=lambda row: -row.get("popularity", 0))
    detail = [f"/api/products/{row['sku']}" for row in active[:200]]
    list_paths = ["/api/products", "/api/products?page=2", "/api/products?page=3"]
    list_paths += [f"/api/products?category={row['slug']}" for row in document["categories"]]
    list_paths += ["/api/products?ordering=price", "/api/products?q=tea&ordering=-price"]
    return list_paths, detail


def start_gunicorn() -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "yourlocalshop.wsgi:application",
            "--workers", "2",
            "--bind", f"127.0.0.1:{PORT}",
            "--log-level", "warning",
        ],
        cwd=ROOT, env=ENV, start_new_session=True,
    )  # fmt: skip
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} (port {PORT} taken?)")
        try:
            with urllib.request.urlopen(f"{BASE}/api/health", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not become healthy")


def run_wrk(name: str, targets: list[str], *, duration: int, connections: int, threads: int):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % ", ".join(json.dumps(path) for path in targets))
    command = ["wrk", f"-t{threads}", f"-c{connections}", "-s", script.name, BASE]
    # A short first run fills every cache entry and opens the persistent connections.
    subprocess.run([*command[:1], "-d3s", *command[1:]], capture_output=True, check=True)
    output = subprocess.run(
        [*command[:1], f"-d{duration}s", *command[1:]], capture_output=True, text=True, check=True
    ).stdout
    os.unlink(script.name)
    result = json.loads(output.split("RESULT ", 1)[1])
    result["rps"] = result["requests"] / result["seconds"]
    print(
        f"{name:<7} {result['rps']:>9,.0f} req/s   p50 {result['p50']:6.2f} ms   "
        f"p95 {result['p95']:6.2f} ms   p99 {result['p99']:6.2f} ms   "
        f"errors {result['errors']}   ({len(targets)} URLs, {connections} connections)"
    )
    return result


def queries_per_request(list_paths: list[str], detail_paths: list[str]) -> None:
    code = """
import json, sys
import django
django.setup()
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

client = Client()
groups = json.loads(sys.argv[1])
def count(paths):
    with CaptureQueriesContext(connection) as queries:
        for path in paths:
            assert client.get(path).status_code == 200, path
    return len(queries) / len(paths)
cache.clear()
cold = {name: count(paths[:1]) for name, paths in groups.items()}
refill = {name: count(paths) for name, paths in groups.items()}
cached = {name: count(paths) for name, paths in groups.items()}
print(json.dumps({"cold": cold, "refill": refill, "cached": cached}))
"""
    groups = {"list": list_paths, "detail": detail_paths}
    output = subprocess.run(
        [PYTHON, "-c", code, json.dumps(groups)],
        cwd=ROOT, env=ENV, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    counts = json.loads(output)
    for name in groups:
        print(
            f"SQL queries per {name} request: {counts['cached'][name]:.2f} cached, "
            f"{counts['refill'][name]:.2f} on first sight (pages share product documents), "
            f"{counts['cold'][name]:.0f} on an empty cache"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--skip-prepare", action="store_true", help="reuse the seeded database")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get update && apt-get install -y wrk")

    if not options.skip_prepare:
        prepare()
    list_paths, detail_paths = paths()
    server = start_gunicorn()
    try:
        print(f"gunicorn: 2 sync workers, CONN_MAX_AGE=600, PostgreSQL {DATABASE_URL}, {REDIS_URL}")
        for name, targets in (("list", list_paths), ("detail", detail_paths)):
            run_wrk(
                name,
                targets,
                duration=options.duration,
                connections=options.connections,
                threads=options.threads,
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    queries_per_request(list_paths, detail_paths)


if __name__ == "__main__":
    main()
