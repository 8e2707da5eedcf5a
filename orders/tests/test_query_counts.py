"""How many SQL statements one order costs (BEGIN/COMMIT and savepoints included): a budget, so
an N+1 or a re-read of the cart creeping back into the checkout path fails here, not only in
the benchmark. The first invoice of a year creates its counter row, so one order is placed
before measuring. Inside the test's transaction, statements that run in autocommit in production
(the idempotency key's and the mock charge's inserts) take savepoints: the test counts 44 for this
checkout where production spends 41, as `bench/checkout.py` reports."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.factories import stocked_product

pytestmark = pytest.mark.django_db

ADD_TO_CART_BUDGET = 11  # to a customer's existing cart
CHECKOUT_BUDGET = 44  # one line, one invoice; +3 per further line (hold, sale, ledger row)


def _place(client, products) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as adding:
        for product in products:
            add_to_cart(client, product)
    with CaptureQueriesContext(connection) as paying:
        response = checkout(client, key=new_key())
    assert response.status_code == 201, response.content
    return len(adding.captured_queries), len(paying.captured_queries)


def test_order_place_stays_within_its_query_budget(customer_client):
    products = [stocked_product(on_hand=100) for _ in range(3)]
    _place(customer_client, products[:1])  # the year's invoice counter now exists

    add_one, pay_one = _place(customer_client, products[:1])
    add_three, pay_three = _place(customer_client, products)

    # The first add after a checkout also creates the customer's new cart (an insert, in
    # production without a savepoint); each add to an existing cart stays within its budget.
    assert add_one <= ADD_TO_CART_BUDGET + 2
    assert add_three <= 3 * ADD_TO_CART_BUDGET
    assert pay_one <= CHECKOUT_BUDGET
    # Per further line only that line's own writes (hold, sale, ledger row): no per-line reads,
    # and the customer's earlier orders add nothing.
    assert pay_three - pay_one <= 3 * 2
