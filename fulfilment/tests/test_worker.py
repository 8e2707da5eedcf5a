"""`order_paid` consumers (the packing task, the order confirmation email) through a real Celery
worker and Redis, including a worker killed mid-consumer.

PostgreSQL only: the worker is another process and must see the test database.
"""

import os
import signal
import subprocess
import sys
import threading

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection

from fulfilment.consumers import PACKING_TASK_CONSUMER
from fulfilment.models import PackingTask
from fulfilment.tests.factories import paid_order_with_lines, publish_order_paid
from orders.consumers import CONFIRMATION_EMAIL_CONSUMER
from yourlocalshop.celery import app as celery_app
from yourlocalshop.models import OutboxEvent, ProcessedEvent
from yourlocalshop.outbox import outbox_deliver_task
from yourlocalshop.tests.faults import wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

BROKER_KEYS = ("celery", "unacked", "unacked_index", "unacked_mutex")


class Worker:
    def __init__(self, *, visibility_timeout: int | None = None) -> None:
        database = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                f"{database['NAME']}"
            ),
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }
        if visibility_timeout is not None:
            env["TEST_WORKER_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
        self.output: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fulfilment.tests.worker_process"],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        if not self.ready.wait(timeout=20):
            self.stop()
            raise AssertionError("The Celery worker did not start:\n" + self.log())

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if " ready." in line:
                self.ready.set()

    def log(self) -> str:
        return "".join(self.output[-60:])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def broker():
    """A real broker for this test only, emptied of anything the rest of the suite queued."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(*BROKER_KEYS)
    celery_app.conf.task_always_eager = False
    yield client
    client.delete(*BROKER_KEYS)


@pytest.fixture
def workers(broker):
    started: list[Worker] = []

    def start(**options) -> Worker:
        worker = Worker(**options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _delivered(event) -> bool:
    return OutboxEvent.objects.filter(pk=event.pk, delivered_at__isnull=False).exists()


def test_order_paid_through_a_real_worker_creates_the_packing_task_within_10_seconds(workers):
    worker = workers()
    order = paid_order_with_lines()

    event = publish_order_paid(order)

    created = wait_for(lambda: PackingTask.objects.filter(order=order).exists(), timeout=10)
    assert created, worker.log()
    packing_task = PackingTask.objects.get(order=order)
    assert (packing_task.created_at - event.created_at).total_seconds() < 10
    assert [(line.sku, line.quantity) for line in packing_task.lines.all()] == [
        ("SKU-A", 1),
        ("SKU-B", 2),
    ]


def _waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_worker_killed_inside_the_packing_task_consumer_redelivers_and_creates_one_task(workers):
    order = paid_order_with_lines()
    database = connection.settings_dict
    # Another session holds the order row, so the consumer stops inside its transaction, after it
    # claimed the event and before it created the task: the moment the worker dies.
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        dbname=database["NAME"],
    ) as blocker:
        blocker.execute("SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE", [order.pk])
        first_worker = workers()
        event = publish_order_paid(order)
        assert wait_for(lambda: _waiting_for_a_lock() > 0, timeout=10), first_worker.log()

        first_worker.kill()
        blocker.rollback()

    assert wait_for(lambda: _waiting_for_a_lock() == 0, timeout=10)
    assert not PackingTask.objects.filter(order=order).exists()
    assert not ProcessedEvent.objects.filter(consumer=PACKING_TASK_CONSUMER).exists()

    second_worker = workers(visibility_timeout=2)

    created = wait_for(lambda: PackingTask.objects.filter(order=order).exists(), timeout=15)
    assert created, second_worker.log()
    assert wait_for(lambda: _delivered(event), timeout=10), second_worker.log()
    assert PackingTask.objects.filter(order=order).count() == 1
    assert (
        ProcessedEvent.objects.filter(consumer=PACKING_TASK_CONSUMER, event_id=event.pk).count()
        == 1
    )


def _other_sessions() -> set[int]:
    """Other clients' connections to the test database (autovacuum workers list it too)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_a_worker_keeps_its_database_connection_from_task_to_task(workers):
    """Celery's Django fixup would close it after every task (a new PostgreSQL backend per
    delivery); settings.CELERY_DB_REUSE_MAX and the task signals keep it, as a request would."""
    # Connections other tests' threads left open to the test database are not the worker's.
    sessions_before_the_worker = _other_sessions()
    worker = workers()
    orders = [
        paid_order_with_lines(skus_and_quantities=[(f"SKU-{index}", 1)]) for index in range(3)
    ]

    first = publish_order_paid(orders[0])
    assert wait_for(lambda: _delivered(first), timeout=10), worker.log()
    worker_sessions = _other_sessions() - sessions_before_the_worker
    rest = [publish_order_paid(order) for order in orders[1:]]
    assert wait_for(lambda: all(_delivered(event) for event in rest), timeout=10), worker.log()

    assert len(worker_sessions) == 1
    assert _other_sessions() - sessions_before_the_worker == worker_sessions


def _confirmations_sent(mailbox, order) -> int:
    return sum(
        message.read_text().count(f"Subject: YourLocalShop: order {order.number} confirmed")
        for message in mailbox.iterdir()
    )


def test_worker_killed_before_the_confirmation_email_went_out_sends_it_once(
    workers, tmp_path, monkeypatch
):
    """The order confirmation is another `order_paid` consumer (orders): a worker dying inside it
    leaves nothing recorded, so the redelivery sends the one email."""
    # The workers write their emails as files there (django-environ: filemail:// + the path).
    monkeypatch.setenv("EMAIL_URL", f"filemail:///{tmp_path}")
    order = paid_order_with_lines()
    event = publish_order_paid(order)  # queued; no worker runs yet
    database = connection.settings_dict
    # Another session holds the email consumer's claim on the event, so the worker stops inside
    # the consumer, before sending: the moment it dies.
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        dbname=database["NAME"],
    ) as blocker:
        blocker.execute(
            "INSERT INTO yourlocalshop_processedevent (consumer, event_id, processed_at) "
            "VALUES (%s, %s, now())",
            [CONFIRMATION_EMAIL_CONSUMER, event.pk],
        )
        first_worker = workers()
        assert wait_for(lambda: _waiting_for_a_lock() > 0, timeout=10), first_worker.log()

        first_worker.kill()
        blocker.rollback()

    assert _confirmations_sent(tmp_path, order) == 0
    second_worker = workers(visibility_timeout=2)

    assert wait_for(lambda: _delivered(event), timeout=15), second_worker.log()
    assert _confirmations_sent(tmp_path, order) == 1
    # A replay through the broker (as the sweep would queue it) runs the consumers again.
    OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)
    outbox_deliver_task.delay(str(event.pk))
    assert wait_for(lambda: _delivered(event), timeout=10), second_worker.log()
    assert _confirmations_sent(tmp_path, order) == 1
