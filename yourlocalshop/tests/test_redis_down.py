"""Redis down: the shop degrades, it does not fail (the cache is only ever a speed-up).

Here Redis is a port nobody listens on, so every cache call is refused at once; the fault suite
(`test_faults.py`) stops and resumes a real redis-server.
"""

import socket
import time

import pytest

from orders.enums import OrderStatus
from orders.models import Order
from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.factories import stocked_product

pytestmark = pytest.mark.django_db


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    from yourlocalshop.api import throttling

    throttling._local_counts.clear()  # per process: left from another test
    settings.CACHES = {
        "default": {
            "BACKEND": "yourlocalshop.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.1, "socket_timeout": 0.1},
        }
    }


def test_catalogue_is_served_from_the_database(api_client, redis_down):
    product = stocked_product(name="Garden trowel")

    listed = api_client.get("/api/products")
    detail = api_client.get(f"/api/products/{product.sku}")
    page = api_client.get(f"/products/{product.sku}/")

    assert listed.status_code == 200
    assert [item["sku"] for item in listed.json()["results"]] == [product.sku]
    assert detail.status_code == 200
    assert detail.json()["price"] == str(product.price)
    assert page.status_code == 200


def test_cart_and_checkout_work(customer_client, redis_down):
    product = stocked_product(on_hand=3)
    add_to_cart(customer_client, product)

    response = checkout(customer_client, key=new_key())

    assert response.status_code == 201, response.content
    assert Order.objects.get().status == OrderStatus.PAID


def test_login_attempts_stay_limited_per_process(api_client, redis_down, throttle_rates):
    throttle_rates(login="2/min")
    attempt = {"email": "nobody@example.com", "password": "wrong-password-1"}

    answers = [api_client.post("/api/auth/login", attempt, format="json") for _ in range(3)]

    assert [answer.status_code for answer in answers[:2]] != [429, 429]
    assert answers[2].status_code == 429
    assert int(answers[2]["Retry-After"]) >= 1


def test_checkout_rate_limit_holds(customer_client, redis_down, throttle_rates):
    throttle_rates(checkout="1/min")

    first = customer_client.post("/api/checkout")
    second = customer_client.post("/api/checkout")

    assert first.status_code != 429
    assert second.status_code == 429


def test_health_says_degraded_and_answers_at_once(
    api_client, health_monitor, redis_down, monkeypatch, settings
):
    import yourlocalshop.api.health as health

    def hangs(*args, **kwargs):
        time.sleep(3)
        return "ok"

    monkeypatch.setitem(health.CHECKS, "cache", (hangs, "unavailable"))
    settings.HEALTH_DEADLINE_SECONDS = 0.08
    started = time.monotonic()

    hurried = health_monitor.get("/api/health")

    assert time.monotonic() - started < 1  # the deadline is 0.08 s; generous against a busy CI
    assert hurried.json()["cache"] == "unavailable"
    settings.HEALTH_DEADLINE_SECONDS = 5
    monkeypatch.setitem(health.CHECKS, "cache", (health._cache_state, "unavailable"))
    response = health_monitor.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["cache"] == "unavailable"
    assert api_client.get("/api/health/ready").status_code == 200
