from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from orders.models import IdempotencyKey, Order
from orders.tasks import purge_idempotency_keys_task
from yourlocalshop import outbox
from yourlocalshop.models import OutboxEvent, ProcessedEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_in_process")]


@pytest.fixture
def received(monkeypatch):
    monkeypatch.setattr(outbox, "_handlers", {})
    events = []
    outbox.register_handler("thing_happened", events.append, consumer="test")
    return events


def test_outbox_publish_delivers_once_after_commit(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = outbox.outbox_publish(
            event_type="thing_happened", payload={"a": 1}, aggregate_id="42"
        )
        assert received == []

    assert [e.pk for e in received] == [event.pk]
    assert OutboxEvent.objects.get().delivered_at is not None
    assert outbox.outbox_deliver(event_id=str(event.pk)) is True
    ProcessedEvent.objects.filter(event_id=event.pk).delete()  # even a lost "delivered" mark...
    OutboxEvent.objects.update(delivered_at=None)
    outbox.outbox_deliver(event_id=str(event.pk))  # ...only reruns what was not recorded
    assert len(received) == 2


def test_outbox_redelivery_does_not_rerun_a_processed_handler(received):
    event = outbox.outbox_publish(event_type="thing_happened", payload={}, aggregate_id="1")
    outbox.outbox_deliver(event_id=str(event.pk))
    OutboxEvent.objects.update(delivered_at=None)

    outbox.outbox_deliver(event_id=str(event.pk))

    assert len(received) == 1


def test_outbox_rolled_back_transaction_publishes_nothing(received):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.outbox_publish(event_type="thing_happened", payload={}, aggregate_id="1")
        raise RuntimeError

    assert not OutboxEvent.objects.exists()


def test_outbox_failing_handler_leaves_event_for_the_sweep(monkeypatch):
    monkeypatch.setattr(outbox, "_handlers", {})
    attempts = []

    def flaky(event):
        attempts.append(event.pk)
        if len(attempts) == 1:
            raise RuntimeError("consumer down")

    outbox.register_handler("thing_happened", flaky, consumer="flaky")
    event = outbox.outbox_publish(event_type="thing_happened", payload={}, aggregate_id="1")

    assert outbox.outbox_deliver(event_id=str(event.pk)) is False
    event.refresh_from_db()
    assert event.delivered_at is None and "consumer down" in event.last_error
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    assert outbox.outbox_sweep() == 1

    event.refresh_from_db()
    assert event.delivered_at is not None
    assert len(attempts) == 2


def test_order_paid_event_written_with_the_paid_order(customer_client, product):
    from orders.tests.conftest import add_to_cart, checkout, new_key

    add_to_cart(customer_client, product)
    order_id = checkout(customer_client, key=new_key()).json()["orderId"]

    event = OutboxEvent.objects.get(event_type="order_paid")
    assert event.aggregate_id == order_id
    assert event.payload["orderId"] == order_id


def _key(name: str, *, age_hours: float = 0, order=None, **fields) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        caller="user:1",
        key=name,
        request_method="POST",
        request_path="/api/orders",
        fingerprint="f",
        created_at=timezone.now() - timedelta(hours=age_hours),
        order=order,
        **fields,
    )


def _order(status: str) -> Order:
    return Order.objects.create(
        email="a@example.com",
        status=status,
        currency="EUR",
        subtotal=0,
        tax=0,
        total=0,
        shipping_address={},
        payment_idempotency_key=f"order-{status}",
    )


def test_purge_idempotency_keys_deletes_expired_keys_of_settled_checkouts():
    dead_lease = timezone.now() - timedelta(hours=25)
    _key("old", age_hours=25, state="completed")
    _key("live-lease", age_hours=25, locked_at=timezone.now())
    _key("fresh", state="completed")
    # Crashed executions never replayed: gone once their order is settled (or never existed),
    # kept while the sweeper has yet to settle a pending payment.
    _key("crashed-settled", age_hours=25, locked_at=dead_lease, order=_order("failed"))
    _key("crashed-before-order", age_hours=25, locked_at=dead_lease)
    _key("crashed-pending", age_hours=25, locked_at=dead_lease, order=_order("pending_payment"))

    assert purge_idempotency_keys_task.apply().get() == 3

    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {
        "live-lease",
        "fresh",
        "crashed-pending",
    }
