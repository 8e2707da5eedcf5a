"""A burst of guest checkouts on the embedded shape, started exactly as `make run` starts it.

    .venv/bin/python bench/embedded_burst.py            # 3 rounds of 60 shoppers, 10 units each
    .venv/bin/python bench/embedded_burst.py --make-target runserver   # the development server

Runs `make run` (or another make target) on a free loopback port with a throw-away SQLite file
and no DATABASE_URL/REDIS_URL: the same migrate, seed and serve steps, gunicorn with its threads,
the locmem cache and the eager Celery tasks. Each round a product with 10 units is seeded through
`manage.py seed_products`, then N guests released together each add one unit to a cart of their
own (a cookie jar each) and check out. Every guest comes from its own address (X-Forwarded-For
behind `TRUSTED_PROXY_COUNT=1`, as behind a shop's reverse proxy), so the per-address guest
reservation cap and the checkout rate limit see N shoppers, not one.

Prints what each round's requests were answered and fails (exit 1) unless every request got an
HTTP answer, none was a 5xx, exactly as many orders as units were placed, and the stock left and
the stock ledger agree. `bench/test_embedded_burst.py` runs it in the suite.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = Path(sys.executable)
UNITS = 10
ADDRESS = {
    "name": "Burst Shopper",
    "line1": "1 Burst Street",
    "city": "Hometown",
    "postcode": "HT1 4BS",
    "country": "GB",
}
# The settings the server needs beside `make run`'s own; none changes how it serves.
SERVER_SETTINGS = {
    "TRUSTED_PROXY_COUNT": "1",
    "MOCK_PAYMENT_SLOW_MS": "0",
}
FOREIGN_SETTINGS = {
    "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER",
    "DJANGO_SETTINGS_MODULE", "RESET_DB", "DEBUG",
}  # fmt: skip
# What reads the shop's own figures after a round: the orders of a SKU, its stock, the ledger.
STOCK_REPORT = """
import json
from inventory.selectors import stock_items_with_availability, stock_ledger_mismatches
from orders.models import OrderLine
sku = {sku!r}
item = stock_items_with_availability().get(product__sku=sku)
print(json.dumps({{
    "orders": OrderLine.objects.filter(sku=sku).values("order_id").distinct().count(),
    "on_hand": item.on_hand,
    "ledger_mismatches": [row.product.sku for row in stock_ledger_mismatches()],
}}))
"""


@dataclass
class Round:
    sku: str
    answers: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    report: dict = field(default_factory=dict)

    def problems(self, *, shoppers: int) -> list[str]:
        found = []
        transport = sum(n for label, n in self.answers.items() if label.startswith("no answer"))
        if transport:
            found.append(f"{transport} request(s) got no HTTP answer")
        server_errors = sum(n for label, n in self.answers.items() if label[:1] == "5")
        if server_errors:
            found.append(f"{server_errors} server error(s)")
        if self.report.get("orders") != UNITS:
            found.append(f"{self.report.get('orders')} orders for {UNITS} units")
        if self.answers.get("checkout 201", 0) != UNITS:
            found.append(f"{self.answers.get('checkout 201', 0)} checkouts answered 201")
        if self.report.get("on_hand") != 0:
            found.append(f"on hand after the round: {self.report.get('on_hand')}")
        if self.report.get("ledger_mismatches"):
            found.append(f"stock and ledger disagree: {self.report['ledger_mismatches']}")
        answered = sum(self.answers.values())
        if answered < shoppers:
            found.append(f"{shoppers - answered} shopper(s) never finished")
        return found


def _label(step: str, response: httpx.Response) -> str:
    label = f"{step} {response.status_code}"
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        label += " " + str(response.json().get("code", ""))
    return label


class EmbeddedShop:
    """`make <target>` on a free port with a throw-away SQLite file, stopped with its group."""

    def __init__(self, *, make_target: str, port: int, workdir: Path, log):
        self.base_url = f"http://127.0.0.1:{port}"
        # The suite's or a developer's services must not turn this into the production shape.
        self.env = {key: value for key, value in os.environ.items() if key not in FOREIGN_SETTINGS}
        self.env.update(
            DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
            PYTHONUNBUFFERED="1",
            **SERVER_SETTINGS,
        )
        self.command = ["make", "--no-print-directory", make_target, f"PORT={port}"]
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, *, timeout: float = 300) -> float:
        """Start and wait for /api/health; returns the seconds it took."""
        started = time.monotonic()
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise SystemExit(f"{' '.join(self.command)} exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base_url}/api/health/ready", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        self.stop()
        raise SystemExit(f"{' '.join(self.command)} did not answer within {timeout:.0f} s")

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [str(PYTHON), "manage.py", *args], cwd=ROOT, env=self.env, check=True,
            capture_output=True, text=True,
        ).stdout  # fmt: skip

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _seed_burst_product(shop: EmbeddedShop, *, sku: str, workdir: Path) -> None:
    seed = workdir / f"{sku}.json"
    seed.write_text(
        json.dumps(
            {
                "categories": [{"slug": "burst", "name": "Burst"}],
                "products": [
                    {"sku": sku, "name": f"Burst {sku}", "category": "burst",
                     "price": "9.99", "description": "Ten units only.", "stock": UNITS},
                ],
            }
        )
    )  # fmt: skip
    # --update: the catalogue already has make run's sample products; a new SKU gets its stock.
    shop.manage("seed_products", "--update", "--file", str(seed))


def _shopper(base_url: str, *, sku: str, address: str, start: threading.Barrier, record) -> None:
    headers = {"X-Forwarded-For": address}
    with httpx.Client(base_url=base_url, timeout=120, headers=headers) as client:
        start.wait()
        step = "add"
        try:
            added = client.post("/api/cart/items", json={"sku": sku, "quantity": 1})
            record(_label(step, added))
            if added.status_code != 201:
                return
            step = "checkout"
            order = client.post(
                "/api/orders",
                json={
                    "email": f"burst-{uuid.uuid4().hex[:8]}@example.com",
                    "shippingAddress": ADDRESS,
                    "paymentToken": "tok_success",
                },
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            record(_label(step, order))
        except httpx.TransportError as error:
            record(f"no answer to {step}: {type(error).__name__}")


def run_round(shop: EmbeddedShop, *, number: int, shoppers: int, workdir: Path) -> Round:
    result = Round(sku=f"BURST-{number}")
    _seed_burst_product(shop, sku=result.sku, workdir=workdir)
    start = threading.Barrier(shoppers)
    lock = threading.Lock()

    def record(label: str) -> None:
        with lock:
            result.answers[label] += 1

    threads = [
        threading.Thread(
            target=_shopper,
            args=(shop.base_url,),
            kwargs={
                "sku": result.sku,
                "address": f"198.51.{number}.{index + 1}",
                "start": start,
                "record": record,
            },
        )
        for index in range(shoppers)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    output = shop.manage("shell", "--no-imports", "-c", STOCK_REPORT.format(sku=result.sku))
    result.report = json.loads(output.strip().splitlines()[-1])
    return result


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_burst(*, make_target: str = "run", rounds: int = 3, shoppers: int = 60) -> list[Round]:
    with tempfile.TemporaryDirectory(prefix="yls-burst-") as directory:
        workdir = Path(directory)
        with open(workdir / "server.log", "w+") as log:
            shop = EmbeddedShop(make_target=make_target, port=free_port(), workdir=workdir, log=log)
            try:
                up = shop.start()
                print(f"make {make_target}: answering after {up:.1f} s", flush=True)
                results = [
                    run_round(shop, number=number, shoppers=shoppers, workdir=workdir)
                    for number in range(1, rounds + 1)
                ]
            except BaseException:
                log.seek(0)
                print(log.read()[-5000:], file=sys.stderr)
                raise
            finally:
                shop.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--make-target", default="run", help="run (default) or runserver")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shoppers", type=int, default=60)
    options = parser.parse_args()
    failed = False
    rounds = run_burst(
        make_target=options.make_target, rounds=options.rounds, shoppers=options.shoppers
    )
    for number, result in enumerate(rounds, start=1):
        print(f"round {number} ({result.sku}, {options.shoppers} guests, {result.seconds:.1f} s):")
        for label, count in sorted(result.answers.items()):
            print(f"  {label}: {count}")
        print(f"  orders {result.report['orders']}, on hand {result.report['on_hand']}")
        for problem in result.problems(shoppers=options.shoppers):
            failed = True
            print(f"  FAIL: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
