"""The shop under load: browsing, cart building, checkout and packing, then a 10x burst, then the
invariants checked in the database. `make bench` runs it.

    .venv/bin/python bench/load.py [--duration 10] [--burst-duration 30] [--burst-factor 10]
                                   [--workers CPUS] [--concurrency 8] [--connections 16]

It drops and migrates the PostgreSQL database `yls_load` (BENCH_DATABASE_URL) and empties the
Redis db 11 (BENCH_REDIS_URL: cache and Celery broker), seeds `sample_products.json` plus the
benchmark's own products (most with ample stock, a few scarce ones that sell out under load),
customers and a member of staff with API tokens, then starts gunicorn (workers = CPUs, sync,
persistent database connections), a real Celery worker (outbox deliveries create the packing
tasks) and Celery beat (reservation expiry every 5 s, outbox sweep, abandoned checkouts), with
Prometheus metrics on (multiprocess mode, METRICS_TOKEN, the worker's metrics port). Phases:

1. catalogue: wrk on `GET /api/products` (pages, categories, orderings, a search) and
   `GET /api/products/{sku}`, each at --connections for --duration seconds;
2. checkout, then shop: --concurrency shoppers (asyncio + httpx), each order a fresh customer:
   (shop: one list page, one product page first) `POST /api/cart/items` (every 8th order also a
   scarce product), `POST /api/orders` (Idempotency-Key, tok_success; a lost answer is retried
   with the same key); one member of staff packs what is paid (`GET /api/admin/packing-tasks`,
   start, packed). In the shop phase some shoppers do what real ones do: a card declined, the
   payment provider down, a cart reserved (`POST /api/checkout`) and left to expire;
3. burst: --burst-factor times the shoppers and the catalogue connections for --burst-duration
   seconds. Graceful means only 2xx/4xx, or 503 with Retry-After: never a 500, never a lost order.

Then it waits (up to 15 s) for the worker to create every packing task and checks, in the
database: no negative stock, no SKU sold beyond its stock, stock conserved, on_hand equal to the
ledger, one charge per paid order and no charge kept without a paid order, one packing task per
paid order, and every order answered 201 exists and is paid. Once beat has expired the left
reservations it scrapes the metrics as Prometheus would (bench/_metrics.py), prints the summary
and checks it against the database and the answers seen: paid counter = paid orders, declined
and failed counters = the 402s and 503s, expiries = the reservations left, drift 0, beat on time.

It prints the figures and writes `bench/results/latest.json`. The targets are printed next to
the figures, not asserted; the exit status is 1 only for a broken invariant, an answer that is
not graceful (a 5xx other than 503, or a 429/503 without Retry-After) or a metric that disagrees
with the database.
"""

import argparse
import asyncio
import functools
import itertools
import json
import os
import platform
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import _metrics
import httpx
from _server import ROOT, Services, free_port
from _wrk import catalogue_paths, wrk_command, wrk_missing, wrk_parse, wrk_run
from catalogue_data import seed_generated_catalogue

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yls_load")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
AMPLE_PRODUCTS = 40
AMPLE_STOCK = 1_000_000
SCARCE_PRODUCTS = 3
SCARCE_STOCK = 5
SCARCE_EVERY = 8  # every 8th order also wants a scarce product
PACKING_WAIT_SECONDS = 15
# Reservations left in a cart expire after RESERVATION_TTL_SECONDS; beat sends the expiry every
# RESERVATION_EXPIRY_INTERVAL_SECONDS (below). Short, so that a short run sees them expire.
RESERVATION_TTL_SECONDS = 20
RESERVATION_EXPIRY_INTERVAL_SECONDS = 5
METRICS_TOKEN = "benchmark-metrics-token"
PAID_STATUSES = ("paid", "packing", "shipped", "delivered")
ADDRESS = {
    "name": "Load Tester",
    "line1": "1 Load Lane",
    "city": "Hometown",
    "postcode": "HT1 1AA",
    "country": "GB",
}
TARGETS = {
    "catalogue list req/s": (">=", 1500),
    "catalogue list p95 ms": ("<=", 15),
    "catalogue detail req/s": (">=", 1500),
    "catalogue detail p95 ms": ("<=", 15),
    "paid orders/s": (">=", 40),
    "checkout p95 ms": ("<=", 200),
}

SERVICES = Services(
    database_url=DATABASE_URL,
    redis_url=REDIS_URL,
    cache_prefix="yls-load",
    ACCESS_LOG="0",  # a JSON log line per request would be measured too; the proxy logs
    # Each shopper is a customer ordering once; below the default 30/min so that the burst's
    # hammering client meets the limit within seconds even when its requests queue.
    THROTTLE_CHECKOUT="10/min",
    PAYMENT_GATEWAY="mockproviders.payment.MockPaymentGateway",
    METRICS_TOKEN=METRICS_TOKEN,
    METRICS_STOCK_DRIFT_SECONDS="0",  # the drift read after the run, not the one read mid-run
    RESERVATION_TTL_SECONDS=str(RESERVATION_TTL_SECONDS),
    RESERVATION_EXPIRY_INTERVAL_SECONDS=str(RESERVATION_EXPIRY_INTERVAL_SECONDS),
)


# --- Preparation -----------------------------------------------------------------------------


def prepare(*, customers: int, catalogue_products: int = 0) -> dict:
    """Fresh schema, the sample catalogue (plus `catalogue_products` generated ones, through the
    same import), benchmark products, customers and a packer."""
    SERVICES.reset_database()
    SERVICES.manage("seed_products", "--file", "sample_products.json")
    if catalogue_products:
        seed_generated_catalogue(SERVICES, products=catalogue_products)
    SERVICES.manage("warm_catalogue_cache", "--top", "500")
    SERVICES.setup_django()
    from decimal import Decimal

    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from catalogue.models import Category, Product
    from inventory.enums import MovementReason
    from inventory.services import stock_set_on_hand

    category = Category.objects.create(slug="load-bench", name="Load bench")
    initial_stock = {}
    for kind, count, stock in (
        ("AMPLE", AMPLE_PRODUCTS, AMPLE_STOCK),
        ("SCARCE", SCARCE_PRODUCTS, SCARCE_STOCK),
    ):
        for index in range(count):
            product = Product.objects.create(
                sku=f"LOAD-{kind}-{index:02d}",
                slug=f"load-{kind.lower()}-{index:02d}",
                name=f"Load {kind.lower()} {index}",
                category=category,
                price=Decimal("3.20") + index,
                currency="EUR",
            )
            stock_set_on_hand(product=product, on_hand=stock, kind=MovementReason.SEED)
            initial_stock[product.sku] = stock
    users = User.objects.bulk_create(
        User(email=f"load{index}@example.com", full_name=f"Load {index}", password="!")
        for index in range(customers)
    )
    tokens = Token.objects.bulk_create(Token(user=user, key=Token.generate_key()) for user in users)
    staff = User.objects.create(
        email="packer@example.com", full_name="Load Packer", password="!", is_staff=True
    )
    staff_token = Token.objects.create(user=staff, key=Token.generate_key())
    skus = sorted(initial_stock)
    return {
        "initial_stock": initial_stock,
        "ample": [sku for sku in skus if "AMPLE" in sku],
        "scarce": [sku for sku in skus if "SCARCE" in sku],
        "tokens": [token.key for token in tokens],
        "staff_token": staff_token.key,
    }


# --- Measuring -------------------------------------------------------------------------------


class Recorder:
    """Latencies and answers per endpoint, for one phase."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.answers: dict[str, Counter] = defaultdict(Counter)
        self.server_errors: list[str] = []
        self.orders: dict[str, dict] = {}  # orderId -> {sku: quantity} of every 201
        self.holds_left = 0  # carts reserved (POST /api/checkout 201) and never paid
        self.started = time.perf_counter()
        self.seconds = 0.0

    def record(self, endpoint: str, started: float, response: httpx.Response | None) -> None:
        if response is None:
            self.answers[endpoint]["transport error"] += 1
            return
        self.latencies[endpoint].append(time.perf_counter() - started)
        status = response.status_code
        label = str(status)
        if status >= 400 and response.headers.get("content-type", "").startswith(
            "application/problem+json"
        ):
            label += " " + str(response.json().get("code", ""))
        graceful_refusal = status in (429, 503)
        if graceful_refusal and not response.headers.get("Retry-After"):
            label += " without Retry-After"
            self.server_errors.append(f"{endpoint} {label}")
        elif status >= 500 and not graceful_refusal:
            self.server_errors.append(f"{endpoint} {label}")
        self.answers[endpoint][label] += 1

    def summary(self) -> dict:
        endpoints = {}
        for endpoint in sorted(set(self.latencies) | set(self.answers)):
            values = sorted(self.latencies[endpoint])
            endpoints[endpoint] = {
                "requests": sum(self.answers[endpoint].values()),
                "rps": len(values) / self.seconds if self.seconds else 0.0,
                "p50": percentile_ms(values, 0.50),
                "p95": percentile_ms(values, 0.95),
                "p99": percentile_ms(values, 0.99),
                "answers": dict(self.answers[endpoint]),
            }
        return endpoints


def percentile_ms(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] * 1000


async def send(
    client: httpx.AsyncClient, recorder: Recorder, endpoint: str, method: str, url: str, **kwargs
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TransportError:
        response = None
    recorder.record(endpoint, started, response)
    return response


async def add_to_cart(client, recorder, *, sku: str, headers: dict) -> bool:
    """One unit of `sku` into the shopper's cart; True when it was added."""
    added = await send(
        client,
        recorder,
        "cart add",
        "POST",
        "/api/cart/items",
        json={"sku": sku, "quantity": 1},
        headers=headers,
    )
    return added is not None and added.status_code == 201


def shopper_intent(number: int) -> str:
    """What the shop phase's order `number` does at the till: most pay; one in 10 reserves the
    cart and leaves, one in 16 of the rest has the card declined, one in 40 meets the payment
    provider down (503 with Retry-After, nothing charged)."""
    if number % 10 == 5:
        return "leave"
    if number % 16 == 3:
        return "tok_decline"
    if number % 40 == 7:
        return "tok_down"
    return "tok_success"


async def shopper(client, recorder, *, deadline, customers, orders_counter, data, browse, mix):
    """Order after order, each by a fresh customer: (with `browse`, the catalogue's list and
    product pages first), cart, checkout (with `mix`, as `shopper_intent` says)."""
    while time.perf_counter() < deadline:
        token = next(customers, None)
        if token is None:
            return
        number = next(orders_counter)
        headers = {"Authorization": f"Token {token}"}
        sku = data["ample"][number % len(data["ample"])]
        if browse is not None:
            list_paths = browse[0]
            list_path = list_paths[number % len(list_paths)]
            await send(client, recorder, "catalogue list", "GET", list_path)
            await send(client, recorder, "catalogue detail", "GET", f"/api/products/{sku}")
        wanted = {sku: 1}
        if not await add_to_cart(client, recorder, sku=sku, headers=headers):
            continue
        if number % SCARCE_EVERY == 0:
            scarce = data["scarce"][number // SCARCE_EVERY % len(data["scarce"])]
            if await add_to_cart(client, recorder, sku=scarce, headers=headers):
                wanted[scarce] = 1
        intent = shopper_intent(number) if mix else "tok_success"
        if intent == "leave":
            held = await send(client, recorder, "checkout hold", "POST", "/api/checkout",
                              headers=headers)  # fmt: skip
            recorder.holds_left += held is not None and held.status_code == 201
            continue
        await checkout(client, recorder, headers=headers, wanted=wanted, payment_token=intent)


async def checkout(client, recorder, *, headers, wanted, payment_token="tok_success") -> None:
    """Pay for the cart; an answer lost in transit is retried once with the same key."""
    headers = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    body = {"shippingAddress": ADDRESS, "paymentToken": payment_token}
    answer = await send(
        client, recorder, "checkout", "POST", "/api/orders", json=body, headers=headers
    )
    if answer is None:
        answer = await send(
            client, recorder, "checkout retry", "POST", "/api/orders", json=body, headers=headers
        )
    if answer is not None and answer.status_code == 201:
        order = answer.json()
        recorder.orders[order["orderId"]] = {
            line["sku"]: line["quantity"] for line in order["lines"]
        }


async def packer(client, recorder, *, deadline, staff_token) -> None:
    """One member of staff: take the oldest pending tasks, start each, mark it packed."""
    headers = {"Authorization": f"Token {staff_token}"}
    while time.perf_counter() < deadline:
        listed = await send(
            client,
            recorder,
            "packing list",
            "GET",
            "/api/admin/packing-tasks?status=pending&page_size=10",
            headers=headers,
        )
        tasks = listed.json()["results"] if listed is not None and listed.status_code == 200 else []
        if not tasks:
            await asyncio.sleep(0.2)
        for task in tasks:
            if time.perf_counter() >= deadline:
                return
            base = f"/api/admin/packing-tasks/{task['id']}"
            await send(client, recorder, "packing start", "POST", f"{base}/start", headers=headers)
            await send(
                client,
                recorder,
                "packing packed",
                "POST",
                f"{base}/packed",
                json={"parcels": [{"weightGrams": 500}]},
                headers=headers,
            )


async def hammering_client(client, recorder, *, deadline, token) -> None:
    """A misbehaving client: checkout after checkout on an empty cart. The checkout rate limit
    (THROTTLE_CHECKOUT, per customer) must answer 429 with Retry-After."""
    headers = {"Authorization": f"Token {token}"}
    body = {"shippingAddress": ADDRESS, "paymentToken": "tok_success"}
    while time.perf_counter() < deadline:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        await send(client, recorder, "checkout (hammer)", "POST", "/api/orders",
                   json=body, headers={**headers, **key})  # fmt: skip
        await asyncio.sleep(0.05)


async def shop_phase(
    base_url,
    *,
    seconds,
    concurrency,
    data,
    customers,
    orders_counter,
    browse,
    wrk_connections=0,
    mix=False,
) -> tuple[dict, dict]:
    """Shoppers and one packer for `seconds`; shoppers browse first unless `browse` is None,
    and with `mix` not all of them pay (`shopper_intent`). With `wrk_connections` (the burst),
    wrk browses alongside and one client hammers the checkout."""
    recorder = Recorder()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=0)
    wrk = None
    if wrk_connections:
        command, script = wrk_command(
            base_url,
            browse[0] + browse[1],
            duration=seconds,
            connections=wrk_connections,
            threads=2,
        )
        wrk = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:
        extra = []
        if wrk_connections:
            token = next(customers)
            extra += [
                hammering_client(client, recorder, deadline=deadline, token=token) for _ in range(4)
            ]
        await asyncio.gather(
            *extra,
            packer(client, recorder, deadline=deadline, staff_token=data["staff_token"]),
            *(
                shopper(
                    client,
                    recorder,
                    deadline=deadline,
                    customers=customers,
                    orders_counter=orders_counter,
                    data=data,
                    browse=browse,
                    mix=mix,
                )
                for _ in range(concurrency)
            ),
        )
    recorder.seconds = time.perf_counter() - recorder.started
    result = {
        "seconds": recorder.seconds,
        "concurrency": concurrency,
        "browsing": browse is not None,
        "endpoints": recorder.summary(),
    }
    paid = len(recorder.orders)
    result["paidOrders"] = paid
    result["ordersPerSecond"] = paid / recorder.seconds
    result["ordersPerMinute"] = paid * 60 / recorder.seconds
    result["serverErrors"] = len(recorder.server_errors)
    result["holdsLeft"] = recorder.holds_left
    if wrk is not None:
        output, _ = await wrk.communicate()
        os.unlink(script)
        catalogue = wrk_parse(output.decode())
        catalogue["connections"] = wrk_connections
        result["catalogueWrk"] = catalogue
        result["serverErrors"] += sum(
            count
            for status, count in catalogue["statuses"].items()
            if status.startswith("5") and status != "503"
        )
    return result, recorder.orders


class ServerCpu:
    """CPU seconds spent by the server side — gunicorn's workers, the Celery worker and this
    database's PostgreSQL backends — read from /proc (Linux). What a request costs in CPU does not
    depend on what else the machine runs, unlike requests/s on a shared machine; the load
    generator and Redis are not counted."""

    def __init__(self, *, root_pids: dict[int, str]):
        import psycopg

        self.root_pids = root_pids
        self.clock_ticks = os.sysconf("SC_CLK_TCK")
        self.database = psycopg.connect(DATABASE_URL, autocommit=True)

    def _descendants(self) -> dict[int, int]:
        """Every process under one of the roots, mapped to that root."""
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        roots = {pid: pid for pid in self.root_pids}
        grown = True
        while grown:
            children = {pid: roots[parent] for pid, parent in parents.items() if parent in roots}
            grown = not children.keys() <= roots.keys()
            roots |= children
        return roots

    def _database_backends(self) -> set[int]:
        rows = self.database.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        return {row[0] for row in rows}

    def snapshot(self) -> dict[int, tuple[str, float]]:
        """CPU seconds so far per process, with its group: the root's name or `postgresql`."""
        groups = {pid: self.root_pids[root] for pid, root in self._descendants().items()}
        groups |= dict.fromkeys(self._database_backends(), "postgresql")
        seconds = {}
        for pid, group in groups.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds[pid] = (group, (int(fields[11]) + int(fields[12])) / self.clock_ticks)
        return seconds

    @staticmethod
    def used(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds per group between two snapshots."""
        groups: dict[str, float] = defaultdict(float)
        for pid, (group, value) in after.items():
            groups[group] += value - before.get(pid, (group, 0.0))[1]
        return dict(groups)


def cpu_figures(cpu_seconds: dict[str, float], count: int, *, per: str) -> dict:
    """CPU ms per `per` (in all, and per group) and how many per second the machine's cores
    would serve if nothing else ran."""
    total = sum(cpu_seconds.values())
    if not count or total <= 0:
        return {}
    milliseconds = total * 1000 / count
    return {
        f"serverCpuMsPer{per}": milliseconds,
        f"serverCpuMsPer{per}ByProcess": {
            group: seconds * 1000 / count for group, seconds in sorted(cpu_seconds.items())
        },
        f"{per[0].lower() + per[1:]}sPerSecondOnIdleCores": (os.cpu_count() or 1)
        * 1000
        / milliseconds,
    }


# --- Invariants ------------------------------------------------------------------------------


def check_invariants(*, initial_stock: dict[str, int], answered_orders: dict[str, dict]) -> dict:
    """Each invariant: ok, how many rows it looked at, and the first violations."""
    from django.db.models import Count, Sum

    from fulfilment.models import PackingTask
    from inventory.models import StockItem, StockMovement
    from mockproviders.models import MockCharge
    from orders.models import Order, OrderLine, Payment

    def outcome(checked: int, violations: list) -> dict:
        return {
            "ok": not violations,
            "checked": checked,
            "violations": violations[:10],
            "violationCount": len(violations),
        }

    paid_orders = Order.objects.filter(status__in=PAID_STATUSES)
    # The worker creates packing tasks from the outbox; give it time to catch up.
    deadline = time.monotonic() + PACKING_WAIT_SECONDS
    while time.monotonic() < deadline:
        if not _orders_without_task(paid_orders).exists():
            break
        time.sleep(0.5)

    results = {}
    stock_items = list(StockItem.objects.select_related("product"))
    results["no negative stock"] = outcome(
        len(stock_items),
        [
            f"{item.product.sku}: on_hand {item.on_hand}, reserved {item.reserved}"
            for item in stock_items
            if item.on_hand < 0 or item.reserved < 0
        ],
    )

    sold = dict(
        OrderLine.objects.filter(order__status__in=PAID_STATUSES)
        .values_list("sku")
        .annotate(total=Sum("quantity"))
        .values_list("sku", "total")
    )
    results["no oversell (paid quantity <= initial stock)"] = outcome(
        len(initial_stock),
        [
            f"{sku}: sold {sold.get(sku, 0)} of {stock}"
            for sku, stock in initial_stock.items()
            if sold.get(sku, 0) > stock
        ],
    )
    on_hand = {item.product.sku: item.on_hand for item in stock_items}
    results["stock conserved (on_hand = initial - paid quantity)"] = outcome(
        len(initial_stock),
        [
            f"{sku}: on_hand {on_hand[sku]}, initial {stock} - sold {sold.get(sku, 0)}"
            for sku, stock in initial_stock.items()
            if on_hand[sku] != stock - sold.get(sku, 0)
        ],
    )

    ledger = dict(
        StockMovement.objects.values_list("stock_item_id")
        .annotate(total=Sum("delta"))
        .values_list("stock_item_id", "total")
    )
    results["on_hand equals the ledger sum"] = outcome(
        len(stock_items),
        [
            f"{item.product.sku}: on_hand {item.on_hand}, ledger {ledger.get(item.pk, 0)}"
            for item in stock_items
            if item.on_hand != ledger.get(item.pk, 0)
        ],
    )

    payments = defaultdict(list)
    for payment in Payment.objects.all():
        payments[payment.order_id].append(payment)
    charges = Counter(
        MockCharge.objects.filter(status="succeeded").values_list("idempotency_key", flat=True)
    )
    # Paid at some point: refunded and partially refunded orders keep their one charge.
    paid = list(
        Order.objects.filter(paid_at__isnull=False).only(
            "id", "number", "status", "total", "payment_idempotency_key"
        )
    )
    violations = []
    for order in paid:
        amounts = [payment.amount for payment in payments[order.pk]]
        if amounts != [order.total] or charges[order.payment_idempotency_key] != 1:
            violations.append(
                f"{order.number}: payments {amounts}, provider charges "
                f"{charges[order.payment_idempotency_key]}, total {order.total}"
            )
    results["one charge per paid order"] = outcome(len(paid), violations)

    paid_keys = {order.payment_idempotency_key for order in paid}
    kept = (
        MockCharge.objects.filter(status="succeeded")
        .exclude(idempotency_key__in=paid_keys)
        .annotate(refunded=Sum("refunds__amount"))
    )
    results["no charge kept without a paid order"] = outcome(
        len(charges),
        [
            f"{charge.id}: {charge.amount} charged, {charge.refunded or 0} refunded"
            for charge in kept
            if (charge.refunded or 0) != charge.amount
        ],
    )

    tasks = dict(
        PackingTask.objects.values_list("order_id")
        .annotate(count=Count("id"))
        .values_list("order_id", "count")
    )
    # A paid order has exactly one task; one refunded before packing may have none.
    violations = [
        f"{order.number} ({order.status}): {tasks.get(order.pk, 0)} packing tasks"
        for order in paid
        if tasks.get(order.pk, 0) > 1
        or (order.status in PAID_STATUSES and tasks.get(order.pk, 0) != 1)
    ]
    violations += [
        f"order {order_id}: a packing task, but never paid"
        for order_id in set(tasks) - {order.pk for order in paid}
    ]
    results["one packing task per paid order"] = outcome(len(paid), violations)

    found = {
        str(order.pk): order.status
        for order in Order.objects.filter(pk__in=list(answered_orders)).only("id", "status")
    }
    results["every 201 order exists and is paid"] = outcome(
        len(answered_orders),
        [
            f"{order_id}: {found.get(order_id, 'missing')}"
            for order_id in answered_orders
            if found.get(order_id) not in PAID_STATUSES
        ],
    )
    return results


def _orders_without_task(paid_orders):
    from fulfilment.models import PackingTask

    return paid_orders.exclude(pk__in=PackingTask.objects.values("order_id"))


# --- Metrics ---------------------------------------------------------------------------------


def scrape_when_up(scrape, *, seconds: float = 60) -> _metrics.Samples:
    """The first scrape, once the worker serves its metrics too (it starts beside gunicorn)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return scrape()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def wait_for_settled_shop() -> float:
    """Until beat has expired every reservation left in a cart and the worker has delivered every
    outbox event (at most the reservations' TTL and a few expiry runs); returns the seconds."""
    from inventory.enums import ReservationStatus
    from inventory.models import InventoryReservation
    from yourlocalshop.models import OutboxEvent

    started = time.monotonic()
    deadline = started + RESERVATION_TTL_SECONDS + 3 * RESERVATION_EXPIRY_INTERVAL_SECONDS + 10
    while time.monotonic() < deadline:
        live = InventoryReservation.objects.filter(status=ReservationStatus.ACTIVE).exists()
        if not live and not OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
            break
        time.sleep(0.5)
    return time.monotonic() - started


def scrape_after_run(scrape, *, first_scrape, scraped_at: float, results: dict) -> dict:
    """Scrape once the shop has settled, summarise the counters' increase since the first scrape
    and check them against the database and the answers the shoppers got."""
    waited = wait_for_settled_shop()
    summary = _metrics.summarise(
        scrape(), since=first_scrape, seconds=time.monotonic() - scraped_at
    )
    summary["settleSeconds"] = waited
    summary["checks"] = metric_checks(summary, results=results)
    return summary


def metric_checks(summary: dict, *, results: dict) -> dict:
    """Each metric against what it counts: {name: {ok, metric, expected}}."""
    from django.conf import settings

    from inventory.enums import ReservationStatus
    from inventory.models import InventoryReservation
    from orders.models import Order

    phases = [results[phase] for phase in ("checkout", "shop", "burst") if phase in results]
    answers = Counter()
    for phase in phases:
        answers.update(phase["endpoints"].get("checkout", {}).get("answers", {}))
        answers.update(phase["endpoints"].get("checkout retry", {}).get("answers", {}))
    paid = Order.objects.filter(paid_at__isnull=False).count()
    outcomes = summary["checkoutOutcomes"]
    reservations = summary["reservations"]
    transitions = summary["transitions"]
    statuses = summary["endpoints"].get("POST api/orders", {}).get("statuses", {})
    server_errors = sum(
        count
        for figures in summary["endpoints"].values()
        for status, count in figures["statuses"].items()
        if status.startswith("5") and status != "503"
    )
    checks = {
        "paid counter = orders paid in the database": (outcomes.get("paid", 0), paid),
        "order transitions to paid = orders paid": (transitions.get("orders.order paid", 0), paid),
        "POST api/orders answered 201 = orders paid": (statuses.get("201", 0), paid),
        "reservations committed = orders paid": (reservations["committed"], paid),
        "declined counter = 402 answers seen": (
            outcomes.get("declined", 0),
            sum(count for label, count in answers.items() if label.startswith("402")),
        ),
        "failed counter = 503 payment_unavailable answers seen": (
            outcomes.get("failed", 0),
            answers.get("503 payment_unavailable", 0),
        ),
        "reservations expired = carts left reserved": (
            reservations["expired"],
            sum(phase.get("holdsLeft", 0) for phase in phases),
        ),
        "reservations expired = expired in the database": (
            reservations["expired"],
            InventoryReservation.objects.filter(status=ReservationStatus.EXPIRED).count(),
        ),
        "reservations live, units held after expiry = 0": (
            reservations["live"] + reservations["unitsHeld"],
            0,
        ),
        "stock drift rows = 0": (summary["stockDriftRows"], 0),
        "outbox backlog after the run = 0": (summary["outbox"]["undelivered"], 0),
        "5xx other than 503 counted by the server = 0": (server_errors, 0),
    }
    report = {
        name: {"ok": metric == expected, "metric": metric, "expected": expected}
        for name, (metric, expected) in checks.items()
    }
    # A periodic task is on time when it last ran within its interval (and a second or two).
    ages = summary["beatLastRunAgeSeconds"]
    intervals = {
        name: float(entry["schedule"]) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    }
    late = {task: age for task, age in ages.items() if age > intervals.get(task, 0) + 5}
    report["beat: every periodic task that ran did so within its interval + 5 s"] = {
        "ok": "inventory-expire-reservations" in ages and not late,
        "metric": ages,
        "expected": f"expiry every {RESERVATION_EXPIRY_INTERVAL_SECONDS} s; late: {late or 'none'}",
    }
    report["Celery queue after the run <= 2"] = {
        "ok": summary["celeryQueueLength"] <= 2,
        "metric": summary["celeryQueueLength"],
        "expected": "<= 2 (beat keeps sending)",
    }
    return report


def print_metrics(summary: dict) -> None:
    print(
        f"\nPrometheus scrape (web /metrics with the token + the worker's port), "
        f"{summary['settleSeconds']:.0f} s after the load for the left carts to expire:"
    )
    _metrics.print_summary(summary)
    print("  checked against the database and the answers seen:")
    for name, check in summary["checks"].items():
        mark = "ok  " if check["ok"] else "FAIL"
        metric = check["metric"]
        detail = (
            ", ".join(f"{key} {amount:.1f} s" for key, amount in metric.items())
            if isinstance(metric, dict)
            else f"{metric:g}"
        )
        if not check["ok"]:
            detail = f"{detail}, expected {check['expected']}"
        print(f"  {mark} {name} ({detail})")


# --- Report ----------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    return f"{value:7.1f}" if value is not None else "      -"


def print_endpoints(endpoints: dict) -> None:
    for name, figures in endpoints.items():
        answers = ", ".join(
            f"{label}: {count}" for label, count in sorted(figures["answers"].items())
        )
        print(
            f"  {name:<17} {figures['rps']:8.1f} req/s  p50 {fmt_ms(figures['p50'])} ms  "
            f"p95 {fmt_ms(figures['p95'])} ms  p99 {fmt_ms(figures['p99'])} ms   [{answers}]"
        )


def by_process(milliseconds: dict[str, float]) -> str:
    return ", ".join(f"{group} {value:.2f} ms" for group, value in milliseconds.items())


def print_wrk(name: str, result: dict) -> None:
    answers = sorted(result["statuses"].items())
    if result["transportErrors"]:
        answers.append(("transport errors", result["transportErrors"]))
    print(
        f"  {name:<17} {result['rps']:8.1f} req/s  p50 {result['p50']:7.2f} ms  "
        f"p95 {result['p95']:7.2f} ms  p99 {result['p99']:7.2f} ms   "
        f"[{', '.join(f'{label}: {count}' for label, count in answers)}]"
        f"  ({result['connections']} connections)"
    )
    if "serverCpuMsPerRequest" in result:
        print(
            f"  {'':<17} server CPU {result['serverCpuMsPerRequest']:.2f} ms per request: "
            f"~{result['requestsPerSecondOnIdleCores']:,.0f} req/s on {os.cpu_count()} idle cores "
            f"({by_process(result['serverCpuMsPerRequestByProcess'])})"
        )


def print_shop(title: str, result: dict) -> None:
    print(
        f"\n{title}: {result['concurrency']} shoppers + 1 packer, {result['seconds']:.1f} s, "
        f"{result['paidOrders']} paid orders = {result['ordersPerSecond']:.1f}/s "
        f"({result['ordersPerMinute']:.0f}/min)"
    )
    if "serverCpuMsPerOrder" in result:
        steps = "browse, add, pay, pack" if result["browsing"] else "add, pay, pack"
        print(
            f"  server CPU {result['serverCpuMsPerOrder']:.1f} ms per order ({steps}): "
            f"~{result['ordersPerSecondOnIdleCores']:.0f} orders/s on {os.cpu_count()} "
            f"idle cores ({by_process(result['serverCpuMsPerOrderByProcess'])})"
        )
    print_endpoints(result["endpoints"])
    if "catalogueWrk" in result:
        print_wrk("catalogue (wrk)", result["catalogueWrk"])


def target_figures(results: dict) -> dict:
    figures = {}
    for kind in ("list", "detail"):
        wrk = results["catalogue"][kind]
        figures[f"catalogue {kind} req/s"] = wrk["rps"]
        figures[f"catalogue {kind} p95 ms"] = wrk["p95"]
    # Like the catalogue's, measured in a phase of its own: the checkout phase.
    figures["paid orders/s"] = results["checkout"]["ordersPerSecond"]
    figures["checkout p95 ms"] = results["checkout"]["endpoints"].get("checkout", {}).get("p95")
    report = {}
    for name, (direction, target) in TARGETS.items():
        value = figures[name]
        met = value is not None and (value >= target if direction == ">=" else value <= target)
        report[name] = {"value": value, "target": f"{direction} {target}", "met": met}
    return report


# --- Main ------------------------------------------------------------------------------------


async def run_phases(options, data, server_url, list_paths, detail_paths, cpu, scrape) -> dict:
    results = {}
    loop = asyncio.get_running_loop()
    print(f"\ncatalogue (wrk, {options.connections} connections, {options.duration:g} s each):")
    results["catalogue"] = {}
    for kind, paths in (("list", list_paths), ("detail", detail_paths)):
        # A short first run fills every cache entry and opens the persistent connections.
        for seconds in (2, options.duration):
            before = cpu.snapshot()
            result = await loop.run_in_executor(
                None,
                lambda paths=paths, seconds=seconds: wrk_run(
                    server_url, paths, duration=seconds, connections=options.connections, warmup=0
                ),
            )
        result |= cpu_figures(cpu.used(before, cpu.snapshot()), result["requests"], per="Request")
        result["connections"] = options.connections
        results["catalogue"][kind] = result
        print_wrk(kind, result)

    customers = iter(data["tokens"])
    orders_counter = itertools.count()
    browse = (list_paths, detail_paths)
    answered = {}
    # A short warm-up opens every worker's database connection and fills its caches.
    await shop_phase(
        server_url,
        seconds=2,
        concurrency=options.concurrency,
        data=data,
        customers=customers,
        orders_counter=orders_counter,
        browse=browse,
    )
    for phase, phase_browse in (("checkout", None), ("shop", browse)):
        before = cpu.snapshot()
        results[phase], orders = await shop_phase(
            server_url,
            seconds=options.duration,
            concurrency=options.concurrency,
            data=data,
            customers=customers,
            orders_counter=orders_counter,
            browse=phase_browse,
            mix=phase == "shop",
        )
        results[phase] |= cpu_figures(
            cpu.used(before, cpu.snapshot()), results[phase]["paidOrders"], per="Order"
        )
        answered.update(orders)
        print_shop(phase, results[phase])
    # Mid-run, the carts just left still hold their stock and the worker may have a backlog.
    gauges = _metrics.state_gauges(await loop.run_in_executor(None, scrape))
    results["metricsAfterShop"] = gauges
    print(
        f"  scraped now: {gauges['reservations']['live']:.0f} reservations live holding "
        f"{gauges['reservations']['unitsHeld']:.0f} units, outbox backlog "
        f"{gauges['outbox']['undelivered']:.0f}, Celery queue {gauges['celeryQueueLength']:.0f}"
    )
    if options.burst_duration > 0:
        results["burst"], orders = await shop_phase(
            server_url,
            seconds=options.burst_duration,
            concurrency=options.concurrency * options.burst_factor,
            data=data,
            customers=customers,
            orders_counter=orders_counter,
            browse=browse,
            wrk_connections=options.connections * options.burst_factor,
        )
        answered.update(orders)
        results["burst"]["factor"] = options.burst_factor
        print_shop(f"burst x{options.burst_factor}", results["burst"])
    return results, answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured phase")
    parser.add_argument("--burst-duration", type=float, default=30, help="0 skips the burst")
    parser.add_argument("--burst-factor", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--concurrency", type=int, default=8, help="shoppers")
    parser.add_argument("--connections", type=int, default=16, help="catalogue connections")
    parser.add_argument(
        "--catalogue-products",
        type=int,
        default=0,
        help="also load this many generated products (bench/catalogue_data.py), e.g. 50000",
    )
    options = parser.parse_args()
    if message := wrk_missing():
        raise SystemExit(message)

    load_before = os.getloadavg()
    started_at = datetime.now(UTC)
    shop_seconds = 2 + 2 * options.duration + options.burst_duration
    # One customer per order, at up to 100 orders/s: well above what 2 cores manage.
    customers = int(100 * shop_seconds) + 100
    print(f"preparing {DATABASE_URL} and {REDIS_URL} ({customers} customers)...", flush=True)
    data = prepare(customers=customers, catalogue_products=options.catalogue_products)
    list_paths, detail_paths = catalogue_paths()
    # The expected 409s and 429s log a warning each; the figures count every answer anyway.
    with (
        tempfile.NamedTemporaryFile("w", prefix="yls-load-", suffix=".log", delete=False) as log,
        tempfile.TemporaryDirectory(prefix="yls-load-metrics-") as metrics_dir,
    ):
        print(f"server, worker and beat output: {log.name}")
        worker_metrics_port = free_port()
        worker = SERVICES.start_celery_worker(
            concurrency=1,
            log=log,
            metrics_dir=f"{metrics_dir}/worker",
            metrics_port=worker_metrics_port,
        )
        beat = SERVICES.start_celery_beat(log=log)
        server = SERVICES.start_gunicorn(
            workers=options.workers, log=log, metrics_dir=f"{metrics_dir}/web"
        )
        # What Prometheus scrapes: the web server's /metrics (its token) and the worker's port.
        scrape = functools.partial(
            _metrics.scrape_all,
            [
                (f"{server.base_url}/metrics", METRICS_TOKEN),
                (f"http://127.0.0.1:{worker_metrics_port}/metrics", None),
            ],
        )
        try:
            print(
                f"gunicorn: {options.workers} sync workers (CPUs: {os.cpu_count()}), "
                "CONN_MAX_AGE=600; Celery worker and beat; load average before: "
                f"{' '.join(f'{v:.2f}' for v in load_before)}"
            )
            cpu = ServerCpu(
                root_pids={
                    server.process.pid: "gunicorn",
                    worker.pid: "celery",
                    beat.pid: "celery beat",
                }
            )
            first_scrape = scrape_when_up(scrape)
            scraped_at = time.monotonic()
            results, answered = asyncio.run(
                run_phases(options, data, server.base_url, list_paths, detail_paths, cpu, scrape)
            )
            print(f"\nchecking (waiting up to {PACKING_WAIT_SECONDS} s for packing tasks)...")
            results["invariants"] = check_invariants(
                initial_stock=data["initial_stock"], answered_orders=answered
            )
            results["metrics"] = scrape_after_run(
                scrape, first_scrape=first_scrape, scraped_at=scraped_at, results=results
            )
        finally:
            SERVICES.stop(server)
            SERVICES.stop(worker)
            SERVICES.stop(beat)

    print_metrics(results["metrics"])
    print("\ninvariants:")
    for name, outcome in results["invariants"].items():
        mark = "ok  " if outcome["ok"] else "FAIL"
        print(f"  {mark} {name} ({outcome['checked']} checked)")
        for violation in outcome["violations"]:
            print(f"         {violation}")
    server_errors = sum(
        results[phase]["serverErrors"]
        for phase in ("checkout", "shop", "burst")
        if phase in results
    )
    print(
        f"  {'ok  ' if not server_errors else 'FAIL'} graceful answers only: no 5xx but 503, "
        f"every 429/503 with Retry-After ({server_errors} not graceful)"
    )
    results["targets"] = target_figures(results)
    print("\ntargets (reported, not asserted):")
    for name, target in results["targets"].items():
        value = target["value"]
        shown = f"{value:.1f}" if value is not None else "-"
        print(
            f"  {'met ' if target['met'] else 'MISS'} {name}: {shown} (target {target['target']})"
        )
    results["run"] = {
        "startedAt": started_at.isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadAverageBefore": load_before,
            "loadAverageAfter": os.getloadavg(),
        },
        "options": vars(options),
        "database": DATABASE_URL,
        "redis": REDIS_URL,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(
        f"\nwritten: {RESULTS.relative_to(ROOT)}; load average after: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    broken = [name for name, outcome in results["invariants"].items() if not outcome["ok"]]
    broken += [name for name, check in results["metrics"]["checks"].items() if not check["ok"]]
    if broken or server_errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
