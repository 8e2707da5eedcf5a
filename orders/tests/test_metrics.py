"""The checkout's metrics move with the checkouts that decide them (yourlocalshop.metrics)."""

import pytest

from inventory.services import stock_set_on_hand
from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.race import around_step
from yourlocalshop.testing import metric, scrape_metrics

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_paid_checkout_counts_paid_times_the_charge_and_moves_the_request_metrics(
    client, customer_client, product, settings
):
    before = scrape_metrics(client, settings)
    add_to_cart(customer_client, product)

    assert checkout(customer_client, key=new_key()).status_code == 201

    after = scrape_metrics(client, settings)
    paid = "shop_checkout_outcomes_total"
    assert metric(after, paid, outcome="paid") == metric(before, paid, outcome="paid") + 1
    assert metric(after, paid, outcome="declined") == metric(before, paid, outcome="declined")
    charges = "shop_payment_gateway_duration_seconds_count"
    assert (
        metric(after, charges, operation="charge")
        == metric(before, charges, operation="charge") + 1
    )
    transitions = "shop_state_transitions_total"
    for model, status in [
        ("orders.order", "paid"),
        ("inventory.inventoryreservation", "committed"),
    ]:
        assert (
            metric(after, transitions, model=model, to=status)
            == metric(before, transitions, model=model, to=status) + 1
        )
    requests = "shop_http_requests_total"
    labels = {"method": "POST", "endpoint": "api/orders", "status": "201"}
    assert metric(after, requests, **labels) == metric(before, requests, **labels) + 1
    assert (
        metric(
            after, "shop_http_request_duration_seconds_count", method="POST", endpoint="api/orders"
        )
        == metric(
            before, "shop_http_request_duration_seconds_count", method="POST", endpoint="api/orders"
        )
        + 1
    )


def test_a_declined_card_counts_declined_and_a_gateway_error(
    client, customer_client, product, settings
):
    before = scrape_metrics(client, settings)
    add_to_cart(customer_client, product)

    assert checkout(customer_client, key=new_key(), token="tok_decline").status_code == 402

    after = scrape_metrics(client, settings)
    outcomes = "shop_checkout_outcomes_total"
    errors = "shop_payment_gateway_errors_total"
    assert (
        metric(after, outcomes, outcome="declined")
        == metric(before, outcomes, outcome="declined") + 1
    )
    assert metric(after, outcomes, outcome="paid") == metric(before, outcomes, outcome="paid")
    assert (
        metric(after, errors, operation="charge", kind="declined")
        == metric(before, errors, operation="charge", kind="declined") + 1
    )


def test_a_checkout_of_more_than_the_stock_counts_refused(
    client, customer_client, product, settings
):
    before = scrape_metrics(client, settings)
    add_to_cart(customer_client, product, quantity=10)
    stock_set_on_hand(product=product, on_hand=1, note="count")

    assert checkout(customer_client, key=new_key()).status_code == 409

    after = scrape_metrics(client, settings)
    outcomes = "shop_checkout_outcomes_total"
    assert (
        metric(after, outcomes, outcome="refused")
        == metric(before, outcomes, outcome="refused") + 1
    )


def test_a_payment_provider_down_counts_failed_and_each_transient_error(
    client, customer_client, product, settings
):
    before = scrape_metrics(client, settings)
    add_to_cart(customer_client, product)

    assert checkout(customer_client, key=new_key(), token="tok_down").status_code == 503

    after = scrape_metrics(client, settings)
    outcomes = "shop_checkout_outcomes_total"
    errors = "shop_payment_gateway_errors_total"
    assert (
        metric(after, outcomes, outcome="failed") == metric(before, outcomes, outcome="failed") + 1
    )
    attempts = settings.PAYMENT_MAX_RETRIES + 1
    assert (
        metric(after, errors, operation="charge", kind="transient")
        == metric(before, errors, operation="charge", kind="transient") + attempts
    )


def test_an_order_that_cannot_complete_after_the_charge_counts_refunded(
    client, customer_client, product, settings
):
    before = scrape_metrics(client, settings)
    add_to_cart(customer_client, product)

    with around_step("orders.services.checkout.invoice_issue", before=lambda: 1 / 0):
        assert checkout(customer_client, key=new_key()).status_code == 409

    after = scrape_metrics(client, settings)
    outcomes = "shop_checkout_outcomes_total"
    calls = "shop_payment_gateway_duration_seconds_count"
    for outcome, moved in [("refunded", 1), ("paid", 0), ("failed", 0)]:
        assert (
            metric(after, outcomes, outcome=outcome)
            == metric(before, outcomes, outcome=outcome) + moved
        ), outcome
    assert metric(after, calls, operation="refund") == metric(before, calls, operation="refund") + 1
