"""The catalogue at a real shop's size: the same read scenarios at 520 and at 50,000 products,
cached and cold, a 5,000-row supplier price update under browsing, and the list's query plans.

    .venv/bin/python bench/catalogue_scale.py [--products 520 50000] [--duration 8]
                                              [--skip-reads] [--skip-update] [--skip-explain]
                                              [--cleared]
                                              [--prepare-only | --reuse]

For each size it (re)creates the database `yls_scale_<size>` (BENCH_DATABASE_URL + `_<size>`),
seeds `sample_products.json`, and for a size above 520 adds generated products
(`bench/catalogue_data.py`) through the same import. Loading 50,000 products takes minutes on a
shared machine, so `--prepare-only` loads the databases and stops, and `--reuse` measures
databases loaded before (only the cache is emptied and warmed again); each measuring run then
stays short enough for a quiet machine. Then two gunicorns (2 sync workers each,
persistent connections) serve it: one as configured (cached), one with every catalogue cache
timeout at 0 (cold: each request reads the database as on an empty cache, while still reading
its tokens). wrk drives each scenario at --connections (16) for --duration seconds after a
3 s warm-up, at each size in turn (every size is served at once, by its own gunicorn, so the
drift of a shared machine's speed touches the sizes' figures alike):

- list p1: `GET /api/products`;
- random page: 200 random pages of the whole list (20 a page);
- category: page 1 of every category;
- search: 40 two-word searches (`?q=honey chocolate`), ranked;
- detail: 500 random products.

With --cleared, each scenario again on a running shop's cache just cleared (its Redis db emptied
under a warmed gunicorn, as configured), measured from its first request: what shoppers see
after a flush or a Redis restart.

Then, at the largest size, a supplier file of 5,000 new prices (`import_supplier_file --apply`)
is applied while wrk browses list pages and product pages: browse p95 before, during and after,
and the seconds from the start of the import until every changed price is served. Finally
`EXPLAIN (ANALYZE)` of the list, category and search queries. Figures, not a pass/fail test;
the machine may be shared: compare sizes run back to back.
"""

import argparse
import csv
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

from _server import PYTHON, ROOT, Services
from _wrk import wrk_missing, wrk_run
from catalogue_data import FLAVOURS, seed_generated_catalogue

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yls_scale")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SAMPLE_SIZE = 520  # sample_products.json
COLD = {"CATALOGUE_CACHE_SECONDS": "0", "CATALOGUE_STOCK_HINT_CACHE_SECONDS": "0"}


def services(products: int, **settings: str) -> Services:
    return Services(
        database_url=f"{DATABASE_URL}_{products}", redis_url=REDIS_URL,
        cache_prefix=f"yls-scale-{products}", ACCESS_LOG="0", **settings,
    )  # fmt: skip


def prepare(products: int) -> float:
    """Load the size's database afresh; returns the seconds the generated products took."""
    base = services(products)
    base.reset_database()
    base.manage("seed_products", "--file", "sample_products.json")
    seconds = 0.0
    if products > SAMPLE_SIZE:
        seconds = seed_generated_catalogue(base, products=products - SAMPLE_SIZE)
    return seconds


def warm(sizes: list[int]) -> None:
    """An empty cache (the Redis db), each size's part warmed as a deploy warms it."""
    services(sizes[0]).reset_cache()
    for products in sizes:
        services(products).manage("warm_catalogue_cache", "--top", "500")


def scenario_paths(products: int, rng: random.Random) -> dict[str, list[str]]:
    """Read from the database: the categories, SKUs and words of this catalogue."""
    code = """
import json, django
django.setup()
from catalogue.models import Category, Product
print(json.dumps({
    "categories": list(Category.objects.values_list("slug", flat=True)),
    "skus": list(Product.objects.filter(is_active=True).values_list("sku", flat=True)),
    "names": list(Product.objects.filter(is_active=True).values_list("name", flat=True)[:5000]),
}))
"""
    found = json.loads(
        subprocess.run(
            [PYTHON, "-c", code], cwd=ROOT, env=services(products).env, check=True,
            capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    pages = max(1, len(found["skus"]) // 20)
    words = sorted({word.strip(",").lower() for name in found["names"] for word in name.split()})
    kinds = [word for word in words if word.isalpha() and len(word) > 3] or ["tea"]
    flavours = [flavour.lower() for flavour in FLAVOURS if " " not in flavour]
    return {
        "list p1": ["/api/products"],
        "random page": [f"/api/products?page={rng.randint(1, pages)}" for _ in range(200)],
        "category": [f"/api/products?category={slug}" for slug in found["categories"]],
        "search": [
            f"/api/products?q={rng.choice(flavours)}+{rng.choice(kinds)}" for _ in range(40)
        ],
        "detail": [f"/api/products/{sku}" for sku in rng.sample(found["skus"], 500)],
    }


def scenario_figures(result: dict, *, label: str, products: int) -> dict:
    """One wrk run's figures as the report keeps them (any answer but a 2xx counts as an error),
    printed as they come."""
    errors = result["transportErrors"] + sum(
        n for status, n in result["statuses"].items() if not status.startswith("2")
    )
    print(
        f"  {label:<22} {products:>6,} products {result['rps']:>7,.0f} req/s  "
        f"p50 {result['p50']:6.1f} ms  p95 {result['p95']:6.1f} ms  errors {errors}  "
        f"(load {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return {
        "rps": round(result["rps"]),
        "p50": round(result["p50"], 1),
        "p95": round(result["p95"], 1),
        "errors": errors,
    }


def measure_reads(
    paths_by_size: dict[int, dict[str, list[str]]], *, duration: float, connections: int
) -> dict[int, dict]:
    """Each scenario at each size, the sizes one after the other per scenario (both served at
    once, each by its own gunicorn), so a machine whose speed drifts affects both alike."""
    results: dict[int, dict] = {products: {} for products in paths_by_size}
    for mode, settings in (("cached", {}), ("cold", COLD)):
        runners = {products: services(products, **settings) for products in paths_by_size}
        servers = {}
        try:
            for products, runner in runners.items():
                servers[products] = runner.start_gunicorn(workers=2)
            for name in next(iter(paths_by_size.values())):
                for products, paths in paths_by_size.items():
                    result = wrk_run(
                        servers[products].base_url,
                        paths[name],
                        duration=duration,
                        connections=connections,
                    )
                    results[products][f"{name} ({mode})"] = scenario_figures(
                        result, label=f"{name} ({mode})", products=products
                    )
        finally:
            for products, server in servers.items():
                runners[products].stop(server)
    return results


def measure_cleared(
    paths_by_size: dict[int, dict[str, list[str]]], *, duration: float, connections: int
) -> dict[int, dict]:
    """A running shop's cache just cleared, as after a Redis restart or a flush: for each size a
    gunicorn configured as in production, warmed on every scenario (its processes loaded and
    connected, as a shop's are), then for each scenario its Redis db emptied and wrk measuring
    from the first request (no warm-up): the bodies the processes hold are orphaned with the
    tokens they were read under, every URL's first sight misses, what follows is served from the
    cache again. A new deploy's first requests are `bench/first_requests.py`'s measure."""
    results: dict[int, dict] = {products: {} for products in paths_by_size}
    runners = {products: services(products) for products in paths_by_size}
    servers = {}
    try:
        for products, runner in runners.items():
            servers[products] = runner.start_gunicorn(workers=2)
            every_scenario = [path for paths in paths_by_size[products].values() for path in paths]
            wrk_run(
                servers[products].base_url, every_scenario, duration=3, connections=connections,
                warmup=0,
            )  # fmt: skip
        for name in next(iter(paths_by_size.values())):
            for products, paths in paths_by_size.items():
                runners[products].reset_cache()
                result = wrk_run(
                    servers[products].base_url, paths[name], duration=duration,
                    connections=connections, warmup=0,
                )  # fmt: skip
                results[products][f"{name} (cleared)"] = scenario_figures(
                    result, label=f"{name} (cleared)", products=products
                )
    finally:
        for products, server in servers.items():
            runners[products].stop(server)
    return results


def price_update_under_load(
    products: int, paths: dict[str, list[str]], *, connections: int
) -> dict:
    """Apply 5,000 new prices while wrk browses; when is every new price served?"""
    rng = random.Random(7)
    code = """
import json, django
django.setup()
from catalogue.models import Product
print(json.dumps({p.sku: str(p.price) for p in Product.objects.filter(is_active=True)
                  .order_by("?")[:5000]}))
"""
    prices = json.loads(
        subprocess.run(
            [PYTHON, "-c", code], cwd=ROOT, env=services(products).env, check=True,
            capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    new_prices = {
        sku: str((Decimal(price) * Decimal(rng.randint(101, 120)) / 100).quantize(Decimal("0.01")))
        for sku, price in prices.items()
    }
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["sku", "price"])
        writer.writerows(new_prices.items())
    runner = services(products)
    server = runner.start_gunicorn(workers=2)
    browse = paths["list p1"] + paths["random page"][:50] + paths["detail"][:200]
    try:
        before = wrk_run(server.base_url, browse, duration=5, connections=connections)
        during: dict = {}
        probe = rng.sample(sorted(new_prices), 200)

        def browse_during() -> None:
            during.update(
                wrk_run(server.base_url, browse, duration=20, connections=connections, warmup=0)
            )

        load = threading.Thread(target=browse_during)
        load.start()
        started = time.monotonic()
        runner.manage("import_supplier_file", file.name, "--apply", "--reference", "bench")
        applied = time.monotonic() - started
        while True:  # every probed price served? (a round asked only after it started)
            round_started = time.monotonic()
            stale = [sku for sku in probe if _price(server.base_url, sku) != new_prices[sku]]
            if not stale:
                break
            time.sleep(0.05)
        served = round_started - started
        load.join()
        after = wrk_run(server.base_url, browse, duration=5, connections=connections, warmup=0)
    finally:
        runner.stop(server)
        os.unlink(file.name)
    figures = {
        "rows": len(new_prices),
        "import seconds": round(applied, 1),
        "every probed price served after seconds": round(served, 1),
        "browse p95 before ms": round(before["p95"], 1),
        "browse p95 during ms": round(during["p95"], 1),
        "browse p95 after ms": round(after["p95"], 1),
        "browse req/s before/during/after": [
            round(before["rps"]),
            round(during["rps"]),
            round(after["rps"]),
        ],
    }
    for name, value in figures.items():
        print(f"  {name}: {value}", flush=True)
    return figures


def _price(base_url: str, sku: str) -> str | None:
    with urllib.request.urlopen(f"{base_url}/api/products/{sku}", timeout=10) as answer:
        return json.load(answer).get("price")


def explain(products: int) -> str:
    code = Path(__file__).with_name("catalogue_explain.py").read_text(encoding="utf-8")
    return subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=services(products).env, check=True,
        capture_output=True, text=True,
    ).stdout  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, nargs="+", default=[SAMPLE_SIZE, 50_000])
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument(
        "--cleared", action="store_true", help="also each scenario on a cache just cleared"
    )
    parser.add_argument("--skip-update", action="store_true")
    parser.add_argument("--skip-explain", action="store_true")
    databases = parser.add_mutually_exclusive_group()
    databases.add_argument("--prepare-only", action="store_true", help="load, do not measure")
    databases.add_argument("--reuse", action="store_true", help="measure databases loaded before")
    options = parser.parse_args()
    if not options.prepare_only and (message := wrk_missing()):
        raise SystemExit(message)
    report: dict = {}
    paths_by_size = {}
    for products in options.products:
        print(f"\n{products:,} products ({time.strftime('%H:%M:%S')}, load average "
              f"{' '.join(f'{v:.1f}' for v in os.getloadavg())})", flush=True)  # fmt: skip
        report[products] = {}
        if not options.reuse:
            report[products]["load seconds"] = round(prepare(products), 1)
        if not options.prepare_only:
            paths_by_size[products] = scenario_paths(products, random.Random(products))
    if options.prepare_only:
        return
    warm(options.products)
    if not options.skip_reads:
        reads = measure_reads(
            paths_by_size, duration=options.duration, connections=options.connections
        )
        for products, results in reads.items():
            report[products]["reads"] = results
    if options.cleared:
        cleared = measure_cleared(
            paths_by_size, duration=options.duration, connections=options.connections
        )
        for products, results in cleared.items():
            report[products]["cleared"] = results
    largest = max(options.products)
    if not options.skip_update:
        print(f"\n5,000 new prices at {largest:,} products, while browsing:", flush=True)
        report[largest]["price update"] = price_update_under_load(
            largest, paths_by_size[largest], connections=options.connections
        )
    if not options.skip_explain:
        plans = explain(largest)
        print(f"\nEXPLAIN (ANALYZE) at {largest:,} products:\n{plans}")
        report[largest]["explain"] = plans
    output = ROOT / "bench" / "results" / "catalogue_scale.json"
    output.parent.mkdir(exist_ok=True)
    output.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"written to {output}")


if __name__ == "__main__":
    main()
