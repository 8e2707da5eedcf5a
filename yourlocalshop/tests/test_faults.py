"""The fault suite: real services made to fail (issue 15), each test ending on the four invariants.

A redis-server of the test's own, on a free loopback port, is stopped (SIGSTOP: it stops
answering, its data stays) and resumed. The tests commit for real (`transaction=True`), so
after-commit work (outbox delivery, packing tasks, cache invalidation) runs as in production.
"""

import time
from decimal import Decimal

import pytest

from orders.enums import OrderStatus
from orders.models import Order
from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.factories import stocked_product
from yourlocalshop.tests.faults import assert_invariants, own_redis

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


def test_redis_outage_health_answers_within_its_deadline(api_client, redis, settings):
    settings.HEALTH_DEADLINE_SECONDS = 0.08
    redis.pause()
    started = time.monotonic()
    hurried = api_client.get("/api/health")
    elapsed = time.monotonic() - started
    settings.HEALTH_DEADLINE_SECONDS = 5  # what follows asserts states, not speed
    health = api_client.get("/api/health")
    ready = api_client.get("/api/health/ready")
    redis.resume()

    assert elapsed < 1  # deadline 0.08 s; generous for a loaded CI machine
    assert hurried.json()["cache"] == "unavailable"
    assert health.status_code == 200
    assert health.json()["cache"] == "unavailable"
    assert health.json()["status"] == "degraded"
    assert ready.status_code == 200
    assert_invariants()
