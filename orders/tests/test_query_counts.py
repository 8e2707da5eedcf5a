"""How many SQL statements an order costs: a budget, so an N+1, a re-read of the cart or a lock
taken twice creeping back into the add-to-cart or checkout path fails here, not only in the
benchmark. Counted on PostgreSQL outside a test transaction, so the statements are the ones
production runs: BEGIN, COMMIT and savepoints included, none added by the test. The first invoice
of a year creates its counter row, so one order is placed before measuring.

The budgets count the shop's statements only: those of the mock payment provider (the
`mockproviders` app's tables, its charge row for each checkout) stand for the HTTP call a real
provider is, made outside any transaction of the shop's. bench/README.md lists both counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.factories import stocked_product

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

GUEST_ADD_TO_EXISTING_CART = 5
GUEST_FIRST_ADD = 5  # creates the cart
CUSTOMER_ADD_TO_EXISTING_CART = 6
CUSTOMER_FIRST_ADD = 7  # after a checkout: creates the customer's next cart
CHECKOUT_ONE_LINE = 24  # a customer's; one line, one invoice; the provider's call not counted
GUEST_CHECKOUT_ONE_LINE = CHECKOUT_ONE_LINE + 2  # the per-address reservation cap
PER_FURTHER_LINE = 1  # the line's hold; its sale, ledger row and order lines are bulk writes


def _statements(call) -> int:
    """The shop's statements of `call`: all but the mock payment provider's."""
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 201, response.content
    return sum(1 for query in captured if '"mockproviders_' not in query["sql"])


def _pay(client) -> int:
    return _statements(lambda: checkout(client, key=new_key(), email="guest@example.com"))


def _add(client, product) -> int:
    return _statements(lambda: add_to_cart(client, product))


@pytest.fixture
def products(db):
    products = [stocked_product(on_hand=100) for _ in range(10)]
    client = APIClient()
    add_to_cart(client, products[0])
    assert checkout(client, key=new_key(), email="first@example.com").status_code == 201
    return products


def test_add_to_cart_stays_within_its_statement_budget(products, customer_client):
    guest = APIClient()

    assert _add(guest, products[0]) <= GUEST_FIRST_ADD
    assert _add(guest, products[1]) <= GUEST_ADD_TO_EXISTING_CART
    assert _add(guest, products[1]) <= GUEST_ADD_TO_EXISTING_CART  # the same line again
    assert _add(customer_client, products[0]) <= CUSTOMER_FIRST_ADD
    assert _add(customer_client, products[1]) <= CUSTOMER_ADD_TO_EXISTING_CART


@pytest.mark.parametrize("lines", [1, 3, 10])
def test_checkout_stays_within_its_statement_budget_per_line(products, customer_client, lines):
    for product in products[:lines]:
        add_to_cart(customer_client, product)

    assert _pay(customer_client) <= CHECKOUT_ONE_LINE + PER_FURTHER_LINE * (lines - 1)


def test_guest_checkout_stays_within_its_statement_budget(products):
    guest = APIClient()
    add_to_cart(guest, products[0])

    assert _pay(guest) <= GUEST_CHECKOUT_ONE_LINE


def test_a_customers_earlier_orders_add_no_statements(products, customer_client):
    counts = []
    for _order in range(3):
        add_to_cart(customer_client, products[0])
        counts.append(_pay(customer_client))

    assert counts[2] == counts[0]
