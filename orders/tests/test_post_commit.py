"""Nothing that runs after the paid order commits can undo it.

These tests commit for real (`transaction=True`), so `on_commit` hooks run as in production, and
each ends on the fault suite's four invariants.
"""

import pytest
from django.core.cache import caches
from django.db import transaction

from mockproviders.models import MockCharge, MockRefund
from orders.enums import OrderStatus
from orders.models import Order, Refund
from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.race import SimulatedCrash, around_step
from orders.tests.test_checkout_recovery import CHECKOUT, age_execution, crash, stock, sweep
from yourlocalshop.tests.faults import assert_invariants

pytestmark = pytest.mark.django_db(transaction=True)


class HookFailed(Exception):
    pass


def failing_hook_after_commit():
    """An after-commit hook that raises, registered inside the completing transaction (Redis
    failing under a cache drop did this in production)."""

    def hook():
        raise HookFailed("the cache is down")

    transaction.on_commit(hook)


def test_order_place_error_after_the_paid_commit_neither_refunds_nor_fails(
    customer_client, product
):
    add_to_cart(customer_client, product)
    key = new_key()

    with around_step(f"{CHECKOUT}.invoice_issue", before=failing_hook_after_commit):
        response = checkout(customer_client, key=key)

    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert not MockRefund.objects.exists()
    assert not Refund.objects.exists()
    assert stock(product) == (9, 0)
    assert checkout(customer_client, key=key).content == response.content
    assert_invariants()


def test_order_place_cache_down_after_the_paid_commit_is_paid(
    customer_client, product, monkeypatch
):
    add_to_cart(customer_client, product)

    def redis_down(*_args, **_kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(type(caches["default"]), "delete_many", redis_down)

    response = checkout(customer_client, key=new_key())

    assert response.status_code == 201, response.content
    assert Order.objects.get().status == OrderStatus.PAID
    assert not MockRefund.objects.exists()
    monkeypatch.undo()  # Redis is back
    assert_invariants()


def test_sweeper_error_after_the_paid_commit_does_not_refund(customer_client, product):
    add_to_cart(customer_client, product)
    with (
        around_step(f"{CHECKOUT}._phase_2_charge", after=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=new_key())
    age_execution()

    with around_step(f"{CHECKOUT}.invoice_issue", before=failing_hook_after_commit):
        assert sweep() == 1

    assert Order.objects.get().status == OrderStatus.PAID
    assert MockCharge.objects.count() == 1
    assert not MockRefund.objects.exists()
    assert stock(product) == (9, 0)
    assert_invariants()


def test_order_place_failure_before_the_commit_is_still_refunded(customer_client, product):
    add_to_cart(customer_client, product)

    with around_step(f"{CHECKOUT}.invoice_issue", before=lambda: 1 / 0):
        response = checkout(customer_client, key=new_key())

    assert response.status_code == 409
    assert response.json()["code"] == "checkout_failed_refunded"
    assert Order.objects.get().status == OrderStatus.REFUNDED
    assert MockRefund.objects.count() == 1
    assert stock(product) == (10, 0)
    assert_invariants()
