"""Real concurrency on PostgreSQL: threads, each with its own connection, started together."""

from collections import Counter

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from carts.tests.factories import CartFactory, CartItemFactory
from inventory.models import StockItem
from mockproviders.models import MockCharge
from orders.models import Invoice, Order
from orders.services import invoice_issue
from orders.tests.conftest import checkout, new_key
from orders.tests.factories import ADDRESS, stocked_product
from yourlocalshop.testing import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_order_place_100_customers_race_for_10_units():
    product = stocked_product(on_hand=10)
    customers = [UserFactory() for _ in range(100)]
    for customer in customers:
        CartItemFactory(cart=CartFactory(owner=customer), product=product, quantity=1)

    def place(customer):
        response = checkout(client_for(customer), key=new_key())
        return response.status_code, response.json().get("code")

    outcomes = Counter(run_concurrently(place, customers, workers=16, reraise=True))

    assert outcomes == {(201, None): 10, (409, "insufficient_stock"): 90}
    assert Order.objects.filter(status="paid").count() == 10
    stock = StockItem.objects.get(product=product)
    assert (stock.on_hand, stock.reserved) == (0, 0)
    assert MockCharge.objects.filter(status="succeeded").count() == 10
    numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert numbers == list(range(1, 11))


def test_order_place_50_concurrent_requests_with_one_key_make_one_order(throttle_rates):
    # 50 requests from one customer exceed the checkout rate limit (tested on its own): lift it
    # here, so every answer comes from the idempotency layer this test is about.
    throttle_rates(checkout="1000/min")
    product = stocked_product(on_hand=10)
    customer = UserFactory()
    CartItemFactory(cart=CartFactory(owner=customer), product=product, quantity=2)
    key = new_key()

    def place(_):
        response = checkout(client_for(customer), key=key)
        return response.status_code, response.content, response.get("Idempotent-Replayed")

    answers = run_concurrently(place, range(50), workers=16, reraise=True)

    assert Order.objects.count() == 1
    assert MockCharge.objects.count() == 1
    created = [content for status, content, replayed in answers if status == 201]
    assert created and len(set(created)) == 1
    assert sum(1 for status, _, replayed in answers if status == 201 and not replayed) == 1
    others = Counter(status for status, _, _ in answers if status != 201)
    assert set(others) <= {409}
    assert StockItem.objects.get(product=product).on_hand == 8


def test_invoice_numbers_are_gap_free_under_concurrency_with_rollbacks():
    product = stocked_product(on_hand=100)
    orders = []
    for index in range(30):
        order = Order.objects.create(
            email=f"buyer{index}@example.com",
            currency="EUR",
            subtotal="12.00",
            tax="2.00",
            total="12.00",
            shipping_address=ADDRESS,
            payment_idempotency_key=f"gap-test-{index}",
        )
        order.lines.create(
            product=product,
            sku=product.sku,
            name=product.name,
            quantity=1,
            unit_price="12.00",
            line_total="12.00",
            tax="2.00",
        )
        orders.append(order)

    class RolledBack(Exception):
        pass

    def issue(indexed_order):
        index, order = indexed_order
        try:
            with transaction.atomic():
                invoice_issue(order=order)
                if index % 3 == 0:
                    raise RolledBack()  # the number taken must come back
        except RolledBack:
            return "rolled back"
        return "issued"

    results = run_concurrently(issue, list(enumerate(orders)), workers=12, reraise=True)

    issued = results.count("issued")
    assert issued == 20
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, issued + 1))
