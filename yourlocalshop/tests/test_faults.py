"""The fault suite: real services made to fail (issue 15), each test ending on the four invariants.

A redis-server of the test's own, on a free loopback port, is stopped (SIGSTOP: it stops
answering, its data stays) and resumed. The tests commit for real (`transaction=True`), so
after-commit work (outbox delivery, packing tasks, cache invalidation) runs as in production.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.local import Local
from django.utils import timezone

from orders.enums import OrderStatus
from orders.models import Order
from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.factories import stocked_product
from yourlocalshop.models import CacheWritesDropped
from yourlocalshop.tests.faults import (
    ShopProcess,
    assert_invariants,
    own_postgres,
    own_redis,
    wait_for,
)

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis(tmp_path, settings):
    from yourlocalshop.api import throttling

    throttling._local_counts.clear()
    with own_redis(tmp_path) as server:
        settings.CACHES = server.caches()
        settings.CACHE_RETRY_SECONDS = 0.2
        yield server


def price_shown(client, sku: str) -> str:
    response = client.get(f"/api/products/{sku}")
    assert response.status_code == 200, response.content
    return response.json()["price"]


def test_redis_outage_serves_the_catalogue_and_leaves_no_stale_price(api_client, redis):
    product = stocked_product(price=Decimal("10.00"))
    assert price_shown(api_client, product.sku) == "10.00"  # now cached in Redis

    redis.crash()
    product.price = Decimal("12.00")
    product.save()  # its invalidation cannot reach Redis
    during = price_shown(api_client, product.sku)
    listed = api_client.get("/api/products")
    redis.restart()  # from its snapshot: 10.00 is cached under the tokens it still holds
    time.sleep(0.3)  # past CACHE_RETRY_SECONDS: the next call tries Redis again
    after = price_shown(api_client, product.sku)

    assert during == "12.00"
    assert listed.status_code == 200
    assert after == "12.00"
    assert price_shown(api_client, product.sku) == "12.00"
    assert_invariants()


def a_new_process() -> None:
    """What a process started now knows about the cache: nothing (every process that saw the
    outage is gone)."""
    from django.core.cache import caches

    from yourlocalshop import cache as shop_cache

    shop_cache._reachability.clear()
    caches._connections = Local(caches.thread_critical)


def test_redis_outage_outlived_by_no_process_leaves_no_stale_price(api_client, redis):
    product = stocked_product(price=Decimal("10.00"))
    assert price_shown(api_client, product.sku) == "10.00"

    redis.crash()
    product.price = Decimal("12.00")
    product.save()  # its invalidation cannot reach Redis
    assert price_shown(api_client, product.sku) == "12.00"
    a_new_process()  # the processes that dropped writes died before Redis came back
    redis.restart()  # 10.00 is still cached under the tokens it holds

    assert price_shown(api_client, product.sku) == "12.00"
    assert not CacheWritesDropped.objects.exists()  # dealt with
    assert_invariants()


def test_redis_hung_during_an_edit_leaves_no_stale_price(api_client, redis):
    product = stocked_product(price=Decimal("10.00"))
    assert price_shown(api_client, product.sku) == "10.00"

    redis.pause()
    product.price = Decimal("12.00")
    product.save()
    during = price_shown(api_client, product.sku)
    redis.resume()
    time.sleep(0.3)

    assert during == "12.00"
    assert price_shown(api_client, product.sku) == "12.00"
    assert_invariants()


def test_redis_outage_during_checkout_sells_and_recovers(customer_client, redis):
    product = stocked_product(on_hand=5)
    add_to_cart(customer_client, product)

    redis.pause()
    during = checkout(customer_client, key=new_key())
    redis.resume()
    time.sleep(0.3)
    add_to_cart(customer_client, product)
    after = checkout(customer_client, key=new_key())

    assert during.status_code == 201, during.content
    assert after.status_code == 201, after.content
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 2
    assert_invariants()


def test_redis_outage_keeps_login_attempts_limited(api_client, redis, throttle_rates):
    throttle_rates(login="3/min")
    attempt = {"email": "nobody@example.com", "password": "wrong-password-1"}

    redis.pause()
    answers = [api_client.post("/api/auth/login", attempt, format="json") for _ in range(4)]
    redis.resume()

    assert [answer.status_code for answer in answers].count(429) == 1
    assert answers[-1].status_code == 429
    assert answers[-1]["Retry-After"]
    assert_invariants()


def test_redis_outage_health_answers_within_its_deadline(
    api_client, health_monitor, redis, settings
):
    settings.HEALTH_DEADLINE_SECONDS = 0.08
    redis.pause()
    started = time.monotonic()
    hurried = health_monitor.get("/api/health")
    elapsed = time.monotonic() - started
    settings.HEALTH_DEADLINE_SECONDS = 5  # what follows asserts states, not speed
    health = health_monitor.get("/api/health")
    ready = api_client.get("/api/health/ready")
    redis.resume()

    assert elapsed < 1  # deadline 0.08 s; generous for a loaded CI machine
    assert hurried.json()["cache"] == "unavailable"
    assert health.status_code == 200
    assert health.json()["cache"] == "unavailable"
    assert health.json()["status"] == "degraded"
    assert ready.status_code == 200
    assert_invariants()


@pytest.fixture
def shop_on_own_postgres(settings, tmp_path):
    """The test's shop, its beat and its worker on a PostgreSQL cluster and a Redis of the test's
    own: the cluster starts with a copy of the test database (migrated, empty), and the test
    process's database connection is pointed at it until the end of the test."""
    from django.db import connections

    from yourlocalshop.api import throttling

    throttling._local_counts.clear()
    default = connections["default"]
    test_database = dict(default.settings_dict)
    with own_postgres() as postgres, own_redis(tmp_path) as redis_server:
        postgres.copy_database(test_database)
        settings.CACHES = redis_server.caches()
        default.close()
        default.settings_dict.update(HOST="127.0.0.1", PORT=str(postgres.port), NAME="postgres")
        try:
            yield postgres, redis_server
        finally:
            default.close()
            default.settings_dict.update(
                HOST=test_database["HOST"], PORT=test_database["PORT"], NAME=test_database["NAME"]
            )


def shop_process_environment(postgres, redis_server) -> dict[str, str]:
    return {
        "DATABASE_URL": postgres.url(),
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": redis_server.url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_CONNECT_TIMEOUT": "1",
        "LOG_FORMAT": "plain",
        # Due every second, so the test need not wait minutes to see the sweep run.
        "OUTBOX_SWEEP_INTERVAL_SECONDS": "1",
        "BEAT_DATABASE_RETRY_SECONDS": "1",
    }


@pytest.mark.postgres
@pytest.mark.postgres_cluster
def test_beat_survives_a_postgres_restart_and_periodic_tasks_run_again(
    shop_on_own_postgres, api_client, monkeypatch
):
    from django_celery_beat.models import PeriodicTask

    from accounts.tests.factories import UserFactory
    from fulfilment.models import PackingTask
    from yourlocalshop import outbox
    from yourlocalshop.models import OutboxEvent

    postgres, redis_server = shop_on_own_postgres
    environment = shop_process_environment(postgres, redis_server)
    worker = ShopProcess(
        *("-m", "celery", "-A", "yourlocalshop", "worker", "--pool=solo", "--loglevel=INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        environment=environment,
        ready=" ready.",
    )
    beat = ShopProcess(
        *("-m", "yourlocalshop.tests.beat_process", "--loglevel=INFO", "--max-interval=1"),
        environment=environment,
        ready="Sending due task outbox-sweep",
    )
    try:
        worker.wait_until_ready()
        beat.wait_until_ready()

        postgres.stop()
        stopped_at = len(beat.lines)
        time.sleep(4)  # beat ticks every second, reading its schedule from a database not there
        assert beat.alive(), beat.log()
        assert beat.printed_since(stopped_at, "Beat cannot reach the database"), beat.log()
        postgres.start()
        restarted_at, restarted_line = timezone.now(), len(beat.lines)

        # An order paid while the broker refused its event: only the outbox sweep, which beat
        # sends, can bring it its packing task (and its confirmation email).
        def broker_down(event_id):
            raise ConnectionError("the broker is down")

        monkeypatch.setattr(outbox.outbox_deliver_task, "delay", broker_down)
        customer = UserFactory()
        api_client.force_authenticate(customer)
        add_to_cart(api_client, stocked_product(on_hand=3))
        placed = checkout(api_client, key=new_key())
        assert placed.status_code == 201, placed.content
        order = Order.objects.get(number=placed.json()["orderNumber"])
        OutboxEvent.objects.filter(aggregate_id=str(order.pk)).update(
            created_at=order.created_at - timedelta(minutes=1)
        )

        healed = wait_for(lambda: PackingTask.objects.filter(order=order).exists(), timeout=30)
        assert healed, f"beat:\n{beat.log()}\nworker:\n{worker.log()}"
        assert beat.alive(), beat.log()
        assert beat.printed_since(restarted_line, "Sending due task outbox-sweep"), beat.log()
        sweep = PeriodicTask.objects.get(name="outbox-sweep")
        assert sweep.last_run_at > restarted_at  # what the health detail's lateTasks reads
        assert not OutboxEvent.objects.filter(delivered_at=None).exists()
    finally:
        beat.stop()
        worker.stop()
    assert_invariants()
