"""The catalogue's first requests after a deploy: cold, later, and after the warm-up.

    .venv/bin/python bench/first_requests.py                # --urls 40

A throw-away PostgreSQL database (BENCH_DATABASE_URL, default yls_first) and Redis db
(BENCH_REDIS_URL, default db 12), seeded with sample_products.json. Two deploys of gunicorn (2
workers, as production), each after the cache was emptied:

- **cold**: the server starts on an empty cache; the first shoppers' catalogue requests (the
  catalogue's list pages, each category, the most popular products' details: its API), one
  after another, are timed; then the same requests again ("later": what shoppers get once the
  cache is full);
- **warmed**: `warm_catalogue_cache` runs first (what the migrations Job does before a release
  serves), then the same first requests are timed.

Prints the median, p95 and maximum of each; the warm-up works when "warmed" is close to "later".
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
from _server import ROOT, Services

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yls_first")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def first_shoppers_urls(count: int) -> list[str]:
    catalogue = json.loads((ROOT / "sample_products.json").read_text())
    on_sale = [product for product in catalogue["products"] if product.get("is_active", True)]
    popular = sorted(on_sale, key=lambda product: -int(product.get("popularity", 0)))
    urls = ["/api/categories"] + [f"/api/products?page={page}" for page in (1, 2, 3)]
    urls += [f"/api/products?category={c['slug']}" for c in catalogue["categories"]]
    urls += [f"/api/products/{product['sku']}" for product in popular]
    return urls[:count]


def timed(base_url: str, urls: list[str]) -> list[float]:
    seconds = []
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for url in urls:
            started = time.perf_counter()
            answer = client.get(url)
            seconds.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"{url}: {answer.status_code}")
    return seconds


def summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return (
        f"{label:<28} median {statistics.median(ordered) * 1000:7.1f} ms   "
        f"p95 {p95 * 1000:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=40, help="first requests timed (default 40)")
    options = parser.parse_args()
    urls = first_shoppers_urls(options.urls)
    services = Services(database_url=DATABASE_URL, redis_url=REDIS_URL, cache_prefix="yls-first")
    services.reset_database()
    services.manage("seed_products", "--file", "sample_products.json")
    results = {}
    for deploy in ("cold", "warmed"):
        services.reset_cache()
        if deploy == "warmed":
            services.manage("warm_catalogue_cache")
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"yls-first-{deploy}.log"
        with open(log_path, "w") as log:
            server = services.start_gunicorn(workers=2, log=log)
            try:
                results[f"{deploy}: first requests"] = timed(server.base_url, urls)
                if deploy == "cold":
                    results["cold: the same, later"] = timed(server.base_url, urls)
            finally:
                services.stop(server)
    print(f"{len(urls)} catalogue requests, one after another, gunicorn with 2 workers:")
    for label, seconds in results.items():
        print(summary(label, seconds))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
