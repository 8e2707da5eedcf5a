"""Catalogue read-path benchmark: list and detail through gunicorn on PostgreSQL + Redis.

    .venv/bin/python bench/catalogue.py [--duration 10] [--connections 16] [--threads 2]
                                        [--version-recheck-seconds 0]

It (re)creates the database `yls_bench` (BENCH_DATABASE_URL), migrates it, seeds
`sample_products.json`, warms the cache, starts gunicorn (2 sync workers, persistent database
connections) and drives `GET /api/products` (pages of 20) and `GET /api/products/{sku}` with wrk.
It prints requests/s, p50/p95/p99 latency and the SQL queries per request (measured in-process
with the same database and cache). A benchmark that prints figures, not a pass/fail test.
"""

import argparse
import json
import os
import subprocess
from pathlib import Path

from _server import PYTHON, Services
from _wrk import catalogue_paths, wrk_missing, wrk_run

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yls_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
SERVICES = Services(
    database_url=DATABASE_URL,
    redis_url=REDIS_URL,
    cache_prefix="yls-bench",
    ACCESS_LOG="0",  # a JSON log line per request would be measured too; the proxy logs
)


def prepare() -> None:
    SERVICES.reset_database()
    SERVICES.manage("seed_products", "--file", "sample_products.json")
    SERVICES.manage("warm_catalogue_cache", "--top", "500")


def run_wrk(name: str, base_url: str, targets: list[str], *, duration, connections, threads):
    result = wrk_run(base_url, targets, duration=duration, connections=connections, threads=threads)
    errors = result["transportErrors"] + sum(
        count for status, count in result["statuses"].items() if not status.startswith("2")
    )
    print(
        f"{name:<7} {result['rps']:>9,.0f} req/s   p50 {result['p50']:6.2f} ms   "
        f"p95 {result['p95']:6.2f} ms   p99 {result['p99']:6.2f} ms   "
        f"errors {errors}   ({len(targets)} URLs, {connections} connections)"
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
        cwd=ROOT, env=SERVICES.env, check=True, capture_output=True, text=True,
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
    parser.add_argument(
        "--version-recheck-seconds",
        type=float,
        default=0.0,
        help="the server's CATALOGUE_VERSION_RECHECK_SECONDS (0, the default: every request "
        "checks the tokens a cached body was built from)",
    )
    options = parser.parse_args()
    if message := wrk_missing():
        raise SystemExit(message)

    if not options.skip_prepare:
        prepare()
    list_paths, detail_paths = catalogue_paths()
    SERVICES.env["CATALOGUE_VERSION_RECHECK_SECONDS"] = str(options.version_recheck_seconds)
    server = SERVICES.start_gunicorn(workers=2)
    try:
        print(
            f"gunicorn: 2 sync workers, CONN_MAX_AGE=600, PostgreSQL {DATABASE_URL}, {REDIS_URL}, "
            f"CATALOGUE_VERSION_RECHECK_SECONDS={options.version_recheck_seconds:g}"
        )
        for name, targets in (("list", list_paths), ("detail", detail_paths)):
            run_wrk(
                name,
                server.base_url,
                targets,
                duration=options.duration,
                connections=options.connections,
                threads=options.threads,
            )
    finally:
        SERVICES.stop(server)
    queries_per_request(list_paths, detail_paths)


if __name__ == "__main__":
    main()
