"""Checkout benchmark: add to cart + pay, through gunicorn on PostgreSQL + Redis.

    .venv/bin/python bench/checkout.py [--duration 10] [--concurrency 8 32] [--workers 4]
                                       [--catalogue-products 50000] [--prepare-only | --reuse]

It drops and migrates the database `yls_orders` (BENCH_DATABASE_URL), creates products with
ample stock and one customer (with an API token) per order to be placed, starts gunicorn (sync
workers, persistent connections, mock payment gateway at zero delay, checkout throttle lifted),
then at each concurrency runs client threads that each repeat: `POST /api/cart/items` then
`POST /api/orders` with a fresh Idempotency-Key. It prints paid orders/s, p50/p95/p99 of the
whole order (both requests) and of the checkout request alone, every non-201 answer, and the SQL
queries per add-to-cart and per checkout (measured in-process with the same database). Outbox
deliveries are queued to Redis (BENCH_REDIS_URL, db 4) as in production; no worker runs.
A benchmark prints figures; it is not a pass/fail test.

Loading 50,000 generated products takes a minute or more: `--prepare-only` loads the database
(catalogue and products to sell) and stops, `--reuse` measures a database prepared so before,
adding only the run's customers, so the measuring run stays short on a quiet machine.
"""

import argparse
import itertools
import os
import statistics
import threading
import time
import uuid
from collections import Counter

from _server import Services
from catalogue_data import seed_generated_catalogue

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yls_orders")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
PRODUCTS = 50
ADDRESS = {"name": "Bench Buyer", "line1": "1 Load Lane", "city": "Hometown",
           "postcode": "HT1 1AA", "country": "GB"}  # fmt: skip
SERVICES = Services(
    database_url=DATABASE_URL,
    redis_url=REDIS_URL,
    cache_prefix="yls-orders-bench",
    PAYMENT_GATEWAY="mockproviders.payment.MockPaymentGateway",
    THROTTLE_CHECKOUT="1000000/min",
)


def prepare(*, catalogue_products: int = 0) -> None:
    """Fresh schema, products with stock (beside `catalogue_products` generated ones)."""
    SERVICES.reset_database()
    if catalogue_products:
        seed_generated_catalogue(SERVICES, products=catalogue_products)
    SERVICES.setup_django()
    from decimal import Decimal

    from catalogue.models import Category, Product
    from inventory.enums import MovementReason
    from inventory.services import stock_set_on_hand

    category = Category.objects.create(slug="bench", name="Bench")
    for index in range(PRODUCTS):
        product = Product.objects.create(
            sku=f"BENCH-{index:03d}", slug=f"bench-{index:03d}", name=f"Bench product {index}",
            category=category, price=Decimal("4.50") + index, currency="EUR",
        )  # fmt: skip
        stock_set_on_hand(product=product, on_hand=1_000_000, kind=MovementReason.SEED)


def customers_create(count: int) -> tuple[list[str], list[str]]:
    """`count` new customers with API tokens (this run's own: a prepared database may have
    served runs before). Returns (the products to sell's SKUs, tokens)."""
    SERVICES.setup_django()
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from catalogue.models import Product

    skus = list(
        Product.objects.filter(sku__startswith="BENCH-")
        .order_by("sku")
        .values_list("sku", flat=True)
    )
    run = uuid.uuid4().hex[:8]
    users = User.objects.bulk_create(
        User(email=f"bench-{run}-{index}@example.com", full_name=f"Bench {index}", password="!")
        for index in range(count)
    )
    tokens = Token.objects.bulk_create(Token(user=user, key=Token.generate_key()) for user in users)
    return skus, [token.key for token in tokens]


def queries_per_request(*, sku: str, tokens: list[str]) -> tuple[int, int]:
    """SQL statements of a steady-state order: the first order of a year also creates that
    year's invoice counter, so one order is placed (with another customer) before measuring."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    for token in tokens:
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        with CaptureQueriesContext(connection) as add:
            response = client.post("/api/cart/items", {"sku": sku, "quantity": 1},
                                   content_type="application/json")  # fmt: skip
            assert response.status_code == 201, response.content
        with CaptureQueriesContext(connection) as pay:
            response = client.post(
                "/api/orders", {"shippingAddress": ADDRESS, "paymentToken": "tok_success"},
                content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )  # fmt: skip
            assert response.status_code == 201, response.content
    return len(add.captured_queries), len(pay.captured_queries)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(*, base_url: str, concurrency: int, duration: float, skus: list[str], tokens) -> dict:
    import httpx

    order_latencies: list[float] = []
    checkout_latencies: list[float] = []
    failures: Counter = Counter()
    paid = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + duration
    sku_cycle = itertools.cycle(skus)

    def client_loop():
        nonlocal paid
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while time.perf_counter() < deadline:
                with lock:
                    token = next(tokens, None)
                    sku = next(sku_cycle)
                if token is None:
                    return
                headers = {"Authorization": f"Token {token}"}
                started = time.perf_counter()
                added = client.post("/api/cart/items", json={"sku": sku, "quantity": 1},
                                    headers=headers)  # fmt: skip
                paying = time.perf_counter()
                answer = client.post(
                    "/api/orders",
                    json={"shippingAddress": ADDRESS, "paymentToken": "tok_success"},
                    headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                )
                finished = time.perf_counter()
                with lock:
                    if added.status_code != 201:
                        failures[f"add {added.status_code}"] += 1
                    elif answer.status_code == 201:
                        paid += 1
                        order_latencies.append(finished - started)
                        checkout_latencies.append(finished - paying)
                    else:
                        code = answer.json().get("code", "") if answer.content else ""
                        failures[f"checkout {answer.status_code} {code}"] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "concurrency": concurrency,
        "paid": paid,
        "seconds": elapsed,
        "order": order_latencies,
        "checkout": checkout_latencies,
        "failures": failures,
    }


def report(result: dict) -> None:
    def ms(values, fraction):
        return percentile(values, fraction) * 1000 if values else float("nan")

    rate = result["paid"] / result["seconds"]
    print(
        f"\nconcurrency {result['concurrency']}: {result['paid']} paid orders in "
        f"{result['seconds']:.1f} s = {rate:.1f} paid orders/s"
    )
    for label in ("order", "checkout"):
        values = result[label]
        mean = statistics.fmean(values) * 1000 if values else float("nan")
        print(
            f"  {label:8} p50 {ms(values, 0.50):6.1f} ms  p95 {ms(values, 0.95):6.1f} ms  "
            f"p99 {ms(values, 0.99):6.1f} ms  mean {mean:6.1f} ms"
        )
    errors = sum(result["failures"].values())
    print(f"  errors: {errors}" + (f" {dict(result['failures'])}" if errors else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument(
        "--catalogue-products", type=int, default=0, help="generated products beside (50000)"
    )
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--prepare-only", action="store_true", help="load, do not measure")
    database.add_argument("--reuse", action="store_true", help="measure a database loaded before")
    arguments = parser.parse_args()

    if not arguments.reuse:
        prepare(catalogue_products=arguments.catalogue_products)
    if arguments.prepare_only:
        return
    # Enough customers for every order at well above the target rate.
    budget = int(150 * (arguments.duration + arguments.warmup)) * len(arguments.concurrency) + 10
    skus, token_list = customers_create(budget)
    add_queries, checkout_queries = queries_per_request(sku=skus[0], tokens=token_list[:2])
    print(f"SQL queries: {add_queries} per add-to-cart, {checkout_queries} per checkout")
    tokens = iter(token_list[2:])
    server = SERVICES.start_gunicorn(workers=arguments.workers)
    try:
        for concurrency in arguments.concurrency:
            run(base_url=server.base_url, concurrency=concurrency, duration=arguments.warmup,
                skus=skus, tokens=tokens)  # fmt: skip
            report(run(base_url=server.base_url, concurrency=concurrency,
                       duration=arguments.duration, skus=skus, tokens=tokens))  # fmt: skip
    finally:
        SERVICES.stop(server)


if __name__ == "__main__":
    main()
