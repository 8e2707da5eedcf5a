"""Fault injection for the fault suite: a redis-server of the test's own on a free loopback port,
which a test can pause (SIGSTOP: connections hang until their timeout, as with a hung host) or
crash and restart from the snapshot it saved before (what it held comes back, stale), and the four
invariants every fault test ends by asserting."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _command(port: int, command: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(command + b"\r\n")
        return conn.recv(64)


def _start(binary: str, port: int, directory: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(directory), "--dbfilename", "snapshot.rdb"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not _answers(port):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("the test's redis-server did not start")
        time.sleep(0.05)
    return process


@dataclass
class OwnRedis:
    process: subprocess.Popen
    port: int
    binary: str
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def caches(self, *, timeout: float = 0.1) -> dict:
        return {
            "default": {
                "BACKEND": "yourlocalshop.cache.RedisCache",
                "LOCATION": self.url,
                "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
            }
        }

    def pause(self) -> None:
        """Redis stops answering (connections hang until their timeout); its data stays."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def crash(self) -> None:
        """Snapshot what Redis holds now, then kill it: every connection is refused."""
        assert _command(self.port, b"SAVE").startswith(b"+OK")
        self.process.kill()
        self.process.wait(timeout=10)

    def restart(self) -> None:
        """Start again on the same port from the snapshot taken before the crash."""
        self.process = _start(self.binary, self.port, self.directory)


@contextlib.contextmanager
def own_redis(directory: Path) -> Iterator[OwnRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    server = OwnRedis(
        process=_start(binary, port, directory), port=port, binary=binary, directory=directory
    )
    try:
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.process.pid, signal.SIGCONT)
        server.process.terminate()
        server.process.wait(timeout=10)


def deliver_outbox() -> None:
    """What the outbox sweep and a worker do once the broker is back, here in the test process."""
    from yourlocalshop.models import OutboxEvent
    from yourlocalshop.outbox import outbox_deliver

    for event_id in OutboxEvent.objects.filter(delivered_at=None).values_list("id", flat=True):
        outbox_deliver(event_id=str(event_id))


def assert_invariants() -> None:
    """After every fault (and the outbox delivered): payments reconcile with the gateway, stock
    with its ledger, one packing task per paid order, one charge per idempotency key."""
    from django.db.models import Count

    from fulfilment.models import PackingTask
    from inventory.selectors import stock_ledger_mismatches
    from mockproviders.enums import MockChargeStatus
    from mockproviders.models import MockCharge
    from orders.enums import OrderStatus
    from orders.models import IdempotencyKey, Order, Payment

    deliver_outbox()
    assert not stock_ledger_mismatches().exists(), "stock differs from its ledger"

    paid = Order.objects.exclude(paid_at=None)
    tasks = dict(
        PackingTask.objects.values_list("order_id")
        .annotate(count=Count("id"))
        .values_list("order_id", "count")
    )
    for order in paid.filter(status__in=[OrderStatus.PAID]):
        assert tasks.get(order.pk) == 1, f"order {order.number} has {tasks.get(order.pk)} tasks"
    assert all(count == 1 for count in tasks.values())

    charged = MockCharge.objects.filter(status=MockChargeStatus.SUCCEEDED)
    per_key = charged.values("idempotency_key").annotate(count=Count("id"))
    assert all(row["count"] == 1 for row in per_key)
    orders_per_key = IdempotencyKey.objects.exclude(order=None).values("caller", "key")
    assert orders_per_key.count() == orders_per_key.distinct().count()
    for charge in charged:
        refunded = sum((refund.amount for refund in charge.refunds.all()), 0)
        payment = Payment.objects.filter(provider_charge_id=charge.pk).first()
        if payment is None:
            assert refunded == charge.amount, f"charge {charge.pk} has no payment and no refund"
            continue
        assert payment.amount == charge.amount
        assert payment.refunded_amount == refunded, f"refunds of {charge.pk} differ"
