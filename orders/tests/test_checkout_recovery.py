"""Failures between and inside the checkout phases, injected deterministically."""

import importlib
import time
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from inventory.enums import MovementReason
from inventory.models import InventoryReservation, StockItem
from inventory.services import stock_set_on_hand
from mockproviders.models import MockCharge, MockRefund
from orders.enums import OrderStatus, PaymentCheck
from orders.models import IdempotencyKey, Invoice, Order, Payment, Refund
from orders.services import checkout_settle_abandoned, checkouts_abandoned
from orders.services.checkout import CheckoutRequest, order_place
from orders.tasks import settle_abandoned_checkout_task
from orders.tests.conftest import add_to_cart, captured_behind_a_timeout, checkout, new_key
from orders.tests.factories import ADDRESS
from orders.tests.race import SimulatedCrash, around_step

pytestmark = pytest.mark.django_db
CHECKOUT = "orders.services.checkout"


def stock(product) -> tuple[int, int]:
    item = StockItem.objects.get(product=product)
    return item.on_hand, item.reserved


def age_execution(seconds: int = 3600) -> None:
    past = timezone.now() - timedelta(seconds=seconds)
    IdempotencyKey.objects.update(locked_at=past)
    Order.objects.update(updated_at=past)


def sweep() -> int:
    """What the beat sweep does, with each settle task run here rather than on a worker."""
    order_ids = checkouts_abandoned()
    for order_id in order_ids:
        settle_abandoned_checkout_task.apply(args=[str(order_id)]).get()
    return len(order_ids)


def crash(*_args):
    raise SimulatedCrash()


def test_order_place_phase_3_failure_refunds_and_restores_stock(customer_client, product):
    add_to_cart(customer_client, product, quantity=2)
    key = new_key()

    with around_step(f"{CHECKOUT}.invoice_issue", before=lambda: 1 / 0):
        response = checkout(customer_client, key=key)

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "checkout_failed_refunded"
    order = Order.objects.get()
    assert order.status == OrderStatus.REFUNDED
    assert MockRefund.objects.get().amount == order.total
    assert Refund.objects.get(order=order).amount == order.total
    assert stock(product) == (10, 0)
    assert not Invoice.objects.exists()
    replay = checkout(customer_client, key=key)
    assert replay.content == response.content
    assert MockCharge.objects.count() == 1


def test_order_place_crash_after_charge_is_resumed_by_same_key(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()

    with (
        around_step(f"{CHECKOUT}._phase_2_charge", after=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=key)

    assert MockCharge.objects.get().status == "succeeded"
    assert Order.objects.get().status == OrderStatus.PENDING_PAYMENT
    in_progress = checkout(customer_client, key=key)
    assert in_progress.status_code == 409
    assert in_progress.json()["code"] == "idempotency_request_in_progress"
    # The lease was renewed by the charge, just now: retry when it runs out.
    assert 29 <= int(in_progress.headers["Retry-After"]) <= 30

    age_execution(seconds=31)  # the lease ran out: the crashed execution may be resumed
    resumed = checkout(customer_client, key=key)

    assert resumed.status_code == 201
    assert Order.objects.get().status == OrderStatus.PAID
    assert MockCharge.objects.count() == 1
    assert Invoice.objects.count() == 1
    assert stock(product) == (9, 0)


def test_order_place_crash_before_the_paid_answer_is_stored_answers_the_order_on_retry(
    customer_client, product
):
    """The paid order commits before the front end's answer is stored: a crash in between leaves
    the key locked until its lease ends, then the same key answers with that order."""
    add_to_cart(customer_client, product)
    key = new_key()

    with (
        around_step("orders.services.execution.idempotency_complete", before=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=key)

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert checkout(customer_client, key=key).json()["code"] == "idempotency_request_in_progress"
    age_execution(seconds=31)
    resumed = checkout(customer_client, key=key)

    assert resumed.status_code == 201, resumed.content
    assert resumed.json()["orderId"] == str(order.pk)
    assert resumed.json()["invoiceNumber"] == Invoice.objects.get().number
    assert resumed.headers["Location"] == f"/api/orders/{order.pk}"
    assert MockCharge.objects.count() == 1
    assert stock(product) == (9, 0)
    replay = checkout(customer_client, key=key)
    assert replay.content == resumed.content
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_refusal_before_the_first_commit_stores_its_answer_for_the_key(customer_client, product):
    """A new key's claim commits with the order; a refusal rolls it back, so the answer is
    stored on its own, and the key answers with it even once the stock is back."""
    add_to_cart(customer_client, product, quantity=5)
    stock_set_on_hand(product=product, on_hand=2, kind=MovementReason.ADJUSTMENT)
    key = new_key()

    refused = checkout(customer_client, key=key)
    stock_set_on_hand(product=product, on_hand=10, kind=MovementReason.ADJUSTMENT)
    replay = checkout(customer_client, key=key)

    assert refused.status_code == 409, refused.content
    assert replay.content == refused.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert not Order.objects.exists()
    assert IdempotencyKey.objects.get().order_id is None


def test_a_refused_execution_whose_key_was_claimed_meanwhile_answers_with_that_claims_answer(
    customer_client, product
):
    """Between the rollback of a refused claim and the store of its answer, a request with the
    same key can claim the key and pay: the key's answer is then that request's, for both."""
    add_to_cart(customer_client, product, quantity=5)
    stock_set_on_hand(product=product, on_hand=2, kind=MovementReason.ADJUSTMENT)
    key = new_key()
    twin = []

    def restock_and_pay_with_the_same_key():
        stock_set_on_hand(product=product, on_hand=10, kind=MovementReason.ADJUSTMENT)
        twin.append(checkout(customer_client, key=key))

    with around_step(
        "orders.services.execution.idempotency_complete", before=restock_and_pay_with_the_same_key
    ):
        first = checkout(customer_client, key=key)

    assert twin[0].status_code == 201, twin[0].content
    assert first.content == twin[0].content
    assert checkout(customer_client, key=key).content == twin[0].content
    assert Order.objects.get().status == OrderStatus.PAID
    assert MockCharge.objects.count() == 1


def test_order_place_crash_before_charge_is_resumed_with_one_charge(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()
    with (
        around_step(f"{CHECKOUT}._phase_2_charge", before=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=key)
    assert not MockCharge.objects.exists()

    age_execution(seconds=31)
    resumed = checkout(customer_client, key=key)

    assert resumed.status_code == 201
    assert Order.objects.count() == MockCharge.objects.count() == 1


def test_sweeper_completes_abandoned_checkout_that_was_charged(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()
    with (
        around_step(f"{CHECKOUT}._phase_2_charge", after=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=key)
    age_execution()

    assert sweep() == 1

    order = Order.objects.get()
    assert order.status == OrderStatus.PAID
    assert Invoice.objects.filter(order=order).exists()
    assert stock(product) == (9, 0)
    retry = checkout(customer_client, key=key)
    assert retry.status_code == 201
    assert retry.json()["orderId"] == str(order.pk)
    assert MockCharge.objects.count() == 1


def test_sweeper_fails_abandoned_checkout_that_was_never_charged(customer_client, product):
    add_to_cart(customer_client, product)
    with (
        around_step(f"{CHECKOUT}._phase_2_charge", before=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=new_key())
    age_execution()

    sweep()

    assert Order.objects.get().status == OrderStatus.FAILED
    assert stock(product) == (10, 0)
    assert sweep() == 0


def test_order_place_charge_landing_after_sweeper_failed_the_order_is_refunded(
    customer_client, product
):
    add_to_cart(customer_client, product)

    def sweeper_runs_first():
        checkout_settle_abandoned(order_id=Order.objects.get().pk)

    with around_step(f"{CHECKOUT}._phase_2_charge", before=sweeper_runs_first):
        response = checkout(customer_client, key=new_key())

    assert response.status_code == 409
    assert response.json()["code"] == "checkout_failed_refunded"
    assert Order.objects.get().status == OrderStatus.REFUNDED
    assert MockRefund.objects.count() == 1
    assert stock(product) == (10, 0)


def test_order_place_same_key_while_running_is_409_not_stored(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()
    answers = []

    with around_step(
        f"{CHECKOUT}._phase_2_charge",
        before=lambda: answers.append(checkout(customer_client, key=key)),
    ):
        first = checkout(customer_client, key=key)

    assert first.status_code == 201
    assert answers[0].status_code == 409
    assert answers[0].json()["code"] == "idempotency_request_in_progress"
    assert checkout(customer_client, key=key).content == first.content


def test_order_place_other_key_for_same_cart_while_running_is_refused(customer_client, product):
    add_to_cart(customer_client, product)
    answers = []

    with around_step(
        f"{CHECKOUT}._phase_2_charge",
        before=lambda: answers.append(checkout(customer_client, key=new_key())),
    ):
        first = checkout(customer_client, key=new_key())

    assert first.status_code == 201
    assert answers[0].status_code == 409
    assert answers[0].json()["code"] == "checkout_in_progress"
    assert answers[0].headers["Retry-After"] == "5"
    assert Order.objects.count() == MockCharge.objects.count() == 1


def test_order_place_expired_reservation_is_retaken_when_stock_allows(customer_client, product):
    add_to_cart(customer_client, product)
    customer_client.post("/api/checkout")
    InventoryReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = checkout(customer_client, key=new_key())

    assert response.status_code == 201
    assert stock(product) == (9, 0)


def test_order_place_expired_reservation_is_refused_when_stock_is_gone(customer_client, product):
    add_to_cart(customer_client, product, quantity=2)
    customer_client.post("/api/checkout")
    InventoryReservation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    stock_set_on_hand(product=product, on_hand=1, kind=MovementReason.ADJUSTMENT)

    response = checkout(customer_client, key=new_key())

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert not MockCharge.objects.exists()


def test_order_place_reservation_lost_during_payment_is_compensated(customer_client, product):
    from inventory.services import reservation_release

    add_to_cart(customer_client, product)

    def stock_sold_elsewhere(charge):
        order = Order.objects.get()
        reservation_release(reservation_id=order.reservation_id)
        stock_set_on_hand(product=product, on_hand=0, kind=MovementReason.ADJUSTMENT)

    with around_step(f"{CHECKOUT}._phase_2_charge", after=stock_sold_elsewhere):
        response = checkout(customer_client, key=new_key())

    assert response.status_code == 409
    assert response.json()["code"] == "checkout_failed_refunded"
    assert response.json()["cause"] == "insufficient_stock"
    assert MockRefund.objects.count() == 1
    assert Order.objects.get().status == OrderStatus.REFUNDED


def test_order_place_crash_after_compensation_answers_refunded_on_retry(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()

    with (
        around_step(f"{CHECKOUT}.invoice_issue", before=lambda: 1 / 0),
        around_step(f"{CHECKOUT}._compensate", after=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=key)
    age_execution(seconds=31)

    retry = checkout(customer_client, key=key)

    assert retry.status_code == 409
    assert retry.json()["code"] == "checkout_failed_refunded"
    assert MockCharge.objects.count() == MockRefund.objects.count() == 1
    assert stock(product) == (10, 0)


def test_sweeper_refunds_a_charge_hidden_behind_an_unavailable_gateway(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()
    assert checkout(customer_client, key=key, token="tok_down").status_code == 503
    order = Order.objects.get()
    captured_behind_a_timeout(order)
    age_execution()

    assert sweep() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert MockRefund.objects.get().charge_id == "ch_hidden"
    assert stock(product) == (10, 0)
    retry = checkout(customer_client, key=key, token="tok_down")
    assert retry.status_code == 409
    assert retry.json()["code"] == "checkout_failed_refunded"
    assert sweep() == 0


def test_sweeper_checks_an_unavailable_payment_once_and_retry_still_works(
    customer_client, product, monkeypatch
):
    add_to_cart(customer_client, product)
    key = new_key()
    checkout(customer_client, key=key, token="tok_down")
    age_execution()

    assert sweep() == 1
    assert sweep() == 0

    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED
    assert (order.failure_code, order.payment_check) == (
        "payment_unavailable",
        PaymentCheck.CHECKED,
    )
    monkeypatch.setattr("mockproviders.payment.ALWAYS_DOWN", set())
    assert checkout(customer_client, key=key, token="tok_down").status_code == 201
    order.refresh_from_db()
    assert (order.status, order.payment_check) == (OrderStatus.PAID, PaymentCheck.NOT_CHECKED)


def test_payment_check_takes_over_the_sub_states_once_kept_in_failure_code(
    customer_client, product
):
    migration = importlib.import_module("orders.migrations.0003_payment_check_of_its_own")
    add_to_cart(customer_client, product)
    checkout(customer_client, key=new_key(), token="tok_down")
    order = Order.objects.get()

    for old_code, check in [
        ("payment_unavailable_settling", PaymentCheck.CHECKING),
        ("payment_unavailable_checked", PaymentCheck.CHECKED),
    ]:
        Order.objects.filter(pk=order.pk).update(failure_code=old_code, payment_check="")
        migration.payment_check_from_failure_code(django_apps, None)
        order.refresh_from_db()
        assert (order.failure_code, order.payment_check) == ("payment_unavailable", check)


@pytest.fixture
def hanging_provider(settings):
    """tok_slow's provider answers a new charge after 2 s, past a 0.3 s payment deadline."""
    settings.MOCK_PAYMENT_SLOW_MS = 2000
    settings.PAYMENT_TIMEOUT_SECONDS = 0.3


def test_a_hanging_provider_answers_503_by_the_deadline_and_the_same_key_completes_once(
    customer_client, product, hanging_provider
):
    add_to_cart(customer_client, product, quantity=2)
    key = new_key()

    started = time.monotonic()
    unheard = checkout(customer_client, key=key, token="tok_slow")

    assert time.monotonic() - started < 1.5
    assert unheard.status_code == 503, unheard.content
    assert unheard.json()["code"] == "payment_unavailable"
    order = Order.objects.get()
    assert (order.status, order.failure_code) == (OrderStatus.FAILED, "payment_unavailable")
    assert stock(product) == (10, 0)
    assert MockCharge.objects.count() == 1  # the provider captured it without answering

    paid = checkout(customer_client, key=key, token="tok_slow")

    assert paid.status_code == 201, paid.content
    assert paid.json()["orderId"] == str(order.pk)
    assert MockCharge.objects.count() == 1
    assert Payment.objects.get().provider_charge_id == MockCharge.objects.get().id
    assert not MockRefund.objects.exists()
    assert stock(product) == (8, 0)


def test_a_charge_captured_after_the_deadline_is_refunded_by_the_sweeper(
    customer_client, product, hanging_provider
):
    add_to_cart(customer_client, product)
    assert checkout(customer_client, key=new_key(), token="tok_slow").status_code == 503
    age_execution()

    assert sweep() == 1

    order = Order.objects.get()
    assert order.status == OrderStatus.REFUNDED
    assert MockRefund.objects.get().amount == MockCharge.objects.get().amount == order.total
    assert stock(product) == (10, 0)


def test_an_execution_whose_key_was_given_an_order_meanwhile_pays_that_order(
    customer_client, customer, product
):
    # An execution links its key to the order it creates by a conditional update, not a locking
    # read: one that claimed the key before another execution of it made an order (a lease ran
    # out while it stalled) must find that order and pay it, never make a second one.
    add_to_cart(customer_client, product)
    with (
        around_step(f"{CHECKOUT}._phase_2_charge", before=crash),
        pytest.raises(SimulatedCrash),
    ):
        checkout(customer_client, key=new_key())
    made = Order.objects.get()
    stale = IdempotencyKey.objects.get()
    stale.order_id = None  # as the stalled execution claimed it

    paid = order_place(
        record=stale,
        request=CheckoutRequest(
            guest_cart_id=None,
            user_id=customer.pk,
            email=customer.email,
            shipping_address=ADDRESS,
            payment_token="tok_success",
        ),
    )

    assert paid.pk == made.pk
    assert Order.objects.get().status == OrderStatus.PAID
    assert MockCharge.objects.count() == Payment.objects.count() == 1
    assert stock(product) == (9, 0)
