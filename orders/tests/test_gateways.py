import itertools
import time
from decimal import Decimal

import pytest

from mockproviders.payment import MockPaymentGateway
from orders.gateways import (
    GatewayCharge,
    GatewayDeclined,
    GatewayInvalidResponse,
    GatewayTimeout,
    GatewayTransientError,
    validated_charge,
    with_retries,
)

pytestmark = pytest.mark.django_db


def test_mock_charge_is_idempotent_on_key():
    gateway = MockPaymentGateway()
    first = gateway.charge(
        amount=Decimal("5.00"), currency="EUR", token="tok_success", idempotency_key="k"
    )
    again = gateway.charge(
        amount=Decimal("5.00"), currency="EUR", token="tok_success", idempotency_key="k"
    )

    assert first == again
    assert gateway.find_charge(idempotency_key="k") == first
    assert gateway.find_charge(idempotency_key="other") is None


def test_with_retries_never_retries_a_decline():
    calls = []

    def decline(timeout):
        calls.append(1)
        raise GatewayDeclined("card_declined")

    with pytest.raises(GatewayDeclined):
        with_retries(decline, max_retries=2, base_seconds=0)

    assert len(calls) == 1


def test_with_retries_gives_up_after_max_retries():
    calls = []

    def down(timeout):
        calls.append(1)
        raise GatewayTransientError()

    with pytest.raises(GatewayTransientError):
        with_retries(down, max_retries=2, base_seconds=0)

    assert len(calls) == 3


def test_mock_transient_1_succeeds_on_second_attempt():
    gateway = MockPaymentGateway()

    def charge():
        return gateway.charge(
            amount=Decimal("1.00"), currency="EUR", token="tok_transient_1", idempotency_key="t1"
        )

    with pytest.raises(GatewayTransientError):
        charge()
    assert charge().amount == Decimal("1.00")


@pytest.mark.parametrize(
    "answer",
    [
        GatewayCharge("ch_1", Decimal("4.99"), "EUR"),
        GatewayCharge("ch_1", Decimal("5.00"), "USD"),
        GatewayCharge("", Decimal("5.00"), "EUR"),
        GatewayCharge("ch_1", 5.0, "EUR"),
    ],
)
def test_validated_charge_refuses_untrusted_answers(answer):
    with pytest.raises(GatewayInvalidResponse):
        validated_charge(answer, amount=Decimal("5.00"), currency="EUR")


def test_order_place_slow_gateway_still_succeeds(customer_client, product):
    from orders.tests.conftest import add_to_cart, checkout, new_key

    add_to_cart(customer_client, product)

    assert checkout(customer_client, key=new_key(), token="tok_slow").status_code == 201


def test_with_retries_gives_each_attempt_the_time_left_and_stops_at_the_deadline():
    timeouts = []

    def hangs(timeout):
        timeouts.append(timeout)
        time.sleep(timeout)
        raise GatewayTimeout()

    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        with_retries(hangs, max_retries=5, base_seconds=0, timeout_seconds=0.3)

    assert time.monotonic() - started < 0.6
    assert timeouts[0] == pytest.approx(0.3, abs=0.05)
    assert all(later < earlier for earlier, later in itertools.pairwise(timeouts))


def test_mock_slow_charge_past_the_timeout_is_captured_unheard_and_replayed_at_once(settings):
    settings.MOCK_PAYMENT_SLOW_MS = 2000
    gateway = MockPaymentGateway()

    def charge(timeout):
        return gateway.charge(
            amount=Decimal("3.00"),
            currency="EUR",
            token="tok_slow",
            idempotency_key="slow-1",
            timeout=timeout,
        )

    started = time.monotonic()
    with pytest.raises(GatewayTimeout):
        charge(0.2)
    assert time.monotonic() - started < 1
    assert gateway.find_charge(idempotency_key="slow-1") is not None  # captured all the same

    started = time.monotonic()
    assert charge(0.2) == gateway.find_charge(idempotency_key="slow-1")
    assert time.monotonic() - started < 0.2
