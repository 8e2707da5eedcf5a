"""Fault injection for the fault suite: a redis-server of the test's own on a free loopback port,
which a test can pause (SIGSTOP: connections hang until their timeout, as with a hung host) or
crash and restart from the snapshot it saved before (what it held comes back, stale); a PostgreSQL
cluster of the test's own that it can stop and start again; and the four invariants every fault
test ends by asserting."""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
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


def postgres_bin_dir() -> str | None:
    """Where PostgreSQL's server programs are (POSTGRES_BIN_DIR, else initdb on the PATH, else
    Debian's newest /usr/lib/postgresql/<version>/bin); None when they are not installed."""
    candidates = [os.environ.get("POSTGRES_BIN_DIR", "")]
    on_path = shutil.which("initdb")
    candidates.append(os.path.dirname(on_path) if on_path else "")
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda path: int(path.split("/")[-2]) if path.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    for directory in candidates:
        if directory and all(
            os.access(os.path.join(directory, program), os.X_OK)
            for program in ("initdb", "pg_ctl", "pg_dump", "pg_restore")
        ):
            return directory
    return None


def postgres_cluster_owner() -> str | None:
    """The account the test's cluster runs as: PostgreSQL refuses to run as root, so as root the
    packages' `postgres` account; else the current user (None)."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam("postgres")  # KeyError when there is none
    return "postgres"


def postgres_cluster_unavailable() -> str | None:
    """Why this machine cannot run a cluster of a test's own, or None when it can."""
    if postgres_bin_dir() is None:
        return (
            "needs PostgreSQL's server programs (initdb, pg_ctl, pg_dump, pg_restore): "
            "apt-get install postgresql, or set POSTGRES_BIN_DIR"
        )
    try:
        postgres_cluster_owner()
    except KeyError:
        return "runs as root and there is no postgres account for the test's cluster"
    return None


@dataclass
class OwnPostgres:
    """A throw-away PostgreSQL cluster (trust authentication, loopback only, fsync off)."""

    bin_dir: str
    directory: Path
    port: int
    owner: str | None

    def _run(self, *command: str) -> None:
        subprocess.run(
            [os.path.join(self.bin_dir, command[0]), *command[1:]],
            user=self.owner,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    @property
    def data(self) -> str:
        return str(self.directory / "data")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
            "-c shared_buffers=16MB -c max_connections=40"
        )
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "30",
            "-D",
            self.data,
            "-o",
            options,
            "-l",
            str(self.directory / "server.log"),
        )

    def stop(self) -> None:
        """Fast shutdown: every session is ended, as in a restart of the database server."""
        self._run("pg_ctl", "stop", "-w", "-t", "30", "-m", "fast", "-D", self.data)

    def copy_database(self, source: dict) -> None:
        """Schema and rows of the Django database `source` (a settings_dict) into this cluster's
        `postgres` database."""
        environment = {**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""}
        dump = subprocess.run(
            [
                os.path.join(self.bin_dir, "pg_dump"),
                *("--format=custom", "--no-owner", "--no-privileges"),
                *("-h", source["HOST"] or "127.0.0.1", "-p", str(source["PORT"] or 5432)),
                *("-U", source["USER"], source["NAME"]),
            ],
            env=environment,
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        subprocess.run(
            [
                os.path.join(self.bin_dir, "pg_restore"),
                *("--no-owner", "--no-privileges", "--exit-on-error", "-d", self.url()),
            ],
            input=dump,
            check=True,
            capture_output=True,
            timeout=60,
        )


@contextlib.contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError(postgres_cluster_unavailable())
    owner = postgres_cluster_owner()
    directory = Path(tempfile.mkdtemp(prefix="yls-fault-postgres-"))
    if owner is not None:
        shutil.chown(directory, user=owner)
    server = OwnPostgres(bin_dir=bin_dir, directory=directory, port=free_port(), owner=owner)
    try:
        server._run(
            "initdb",
            "-D",
            server.data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            server._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", server.data)
        shutil.rmtree(directory, ignore_errors=True)


class ShopProcess:
    """A process of the shop (`python -m celery -A yourlocalshop beat`, a worker) with its own
    environment, whose output is kept for assertions and failure messages."""

    def __init__(self, *arguments: str, environment: dict[str, str], ready: str) -> None:
        from django.conf import settings

        self.lines: list[str] = []
        self.ready = threading.Event()
        self._ready_text = ready
        self.process = subprocess.Popen(
            [sys.executable, *arguments],
            env={**os.environ, **environment},
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            if self._ready_text in line:
                self.ready.set()

    def wait_until_ready(self, *, timeout: float = 30) -> None:
        if not self.ready.wait(timeout=timeout):
            raise AssertionError(f"never printed {self._ready_text!r}:\n{self.log()}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def printed_since(self, line_number: int, text: str) -> bool:
        return any(text in line for line in self.lines[line_number:])

    def log(self) -> str:
        return "".join(self.lines[-80:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_for(condition, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


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
