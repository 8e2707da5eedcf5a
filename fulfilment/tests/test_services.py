from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalogue.models import Product
from fulfilment import selectors, services
from fulfilment.consumers import PACKING_TASK_CONSUMER
from fulfilment.enums import PackingTaskStatus, ShipmentStatus
from fulfilment.errors import (
    CourierError,
    InvalidParcels,
    OrderNotPackable,
    PackingTaskNotFound,
    PackingTasksNotBatchable,
    ScannedSkuNotInTask,
    ScannedTooMany,
    ShipmentBookingInProgress,
    ShipmentNotFound,
)
from fulfilment.gateways import TrackingResult
from fulfilment.models import PackingTask, Shipment, ShipmentEvent
from fulfilment.tasks import (
    packing_tasks_heal_task,
    shipment_book_task,
    shipments_retry_bookings_task,
)
from fulfilment.tests.factories import (
    OrderLineFactory,
    paid_order_with_lines,
    publish_order_paid,
)
from mockproviders.courier import MockCourierGateway
from mockproviders.models import MockCourierBooking
from orders.enums import OrderStatus
from orders.models import Order
from yourlocalshop.errors import IllegalTransition
from yourlocalshop.outbox import outbox_deliver, registered_consumers

pytestmark = pytest.mark.django_db


def _picking_task(staff_user, **order_fields):
    order = paid_order_with_lines(**order_fields)
    packing_task = services.packing_task_create_for_order(order_id=order.pk)
    services.packing_task_start(packing_task_id=packing_task.pk, user=staff_user)
    return packing_task


def test_order_paid_event_creates_the_packing_task_with_the_order_lines(
    django_capture_on_commit_callbacks,
):
    order = paid_order_with_lines()

    with django_capture_on_commit_callbacks(execute=True):
        event = publish_order_paid(order)

    packing_task = PackingTask.objects.get(order=order)
    assert packing_task.status == PackingTaskStatus.PENDING
    assert packing_task.source_event_id == str(event.id)
    assert [(line.sku, line.quantity) for line in packing_task.lines.all()] == [
        ("SKU-A", 1),
        ("SKU-B", 2),
    ]


def test_order_paid_redelivered_event_still_creates_one_packing_task(
    django_capture_on_commit_callbacks,
):
    order = paid_order_with_lines()
    with django_capture_on_commit_callbacks(execute=True):
        event = publish_order_paid(order)

    outbox_deliver(event_id=str(event.id))
    services.packing_task_create_for_order(order_id=order.pk, source_event_id=str(event.id))

    assert PackingTask.objects.filter(order=order).count() == 1


def test_packing_task_unique_constraint_refuses_a_second_task_for_an_order():
    order = paid_order_with_lines()
    services.packing_task_create_for_order(order_id=order.pk)

    with pytest.raises(IntegrityError), transaction.atomic():
        PackingTask.objects.create(order=order)


def test_packing_task_create_for_order_skips_an_order_cancelled_before_the_event():
    order = paid_order_with_lines(status=OrderStatus.CANCELLED)

    assert services.packing_task_create_for_order(order_id=order.pk) is None
    assert not PackingTask.objects.filter(order=order).exists()


def test_packing_tasks_heal_missing_creates_the_task_of_a_lost_event():
    lost = paid_order_with_lines()
    handled = paid_order_with_lines(skus_and_quantities=[("SKU-C", 1)])
    services.packing_task_create_for_order(order_id=handled.pk)
    paid_order_with_lines(skus_and_quantities=[("SKU-D", 1)], status=OrderStatus.PENDING_PAYMENT)

    assert services.packing_tasks_heal_missing() == 1
    assert services.packing_tasks_heal_missing() == 0
    assert PackingTask.objects.filter(order=lost).count() == 1
    assert PackingTask.objects.count() == 2


def test_packing_task_start_moves_the_order_to_packing(staff_user):
    packing_task = _picking_task(staff_user)

    packing_task.refresh_from_db()
    packing_task.order.refresh_from_db()
    assert packing_task.status == PackingTaskStatus.PICKING
    assert packing_task.assignee == staff_user
    assert packing_task.started_at is not None
    assert packing_task.order.status == OrderStatus.PACKING


def test_packing_task_start_twice_changes_nothing(staff_user):
    packing_task = _picking_task(staff_user)
    started_at = PackingTask.objects.get(pk=packing_task.pk).started_at

    services.packing_task_start(packing_task_id=packing_task.pk, user=staff_user)

    assert PackingTask.objects.get(pk=packing_task.pk).started_at == started_at


def test_packing_task_start_of_unknown_task_is_not_found(staff_user):
    with pytest.raises(PackingTaskNotFound):
        services.packing_task_start(packing_task_id=999_999, user=staff_user)


def test_packing_task_mark_packed_books_the_courier_and_ships_the_order(
    staff_user, django_capture_on_commit_callbacks
):
    packing_task = _picking_task(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        shipment = services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1200, 800], user=staff_user
        )

    shipment.refresh_from_db()
    packing_task.refresh_from_db()
    order = packing_task.order
    order.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.tracking_number == (
        MockCourierBooking.objects.get(idempotency_key=f"shipment-{shipment.pk}").tracking_number
    )
    assert shipment.booking_started_at is None
    assert shipment.label_url.endswith(f"{shipment.tracking_number}.pdf")
    assert shipment.parcel_weights_grams == [1200, 800]
    assert packing_task.status == PackingTaskStatus.SHIPPED
    assert order.status == OrderStatus.SHIPPED
    assert [event.status for event in shipment.events.all()] == [ShipmentStatus.BOOKED]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [order.email]
    assert shipment.tracking_number in mail.outbox[0].body
    assert order.number in mail.outbox[0].subject


def test_packing_task_mark_packed_twice_returns_the_same_shipment_and_books_once(
    staff_user, django_capture_on_commit_callbacks
):
    packing_task = _picking_task(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        )

    with django_capture_on_commit_callbacks(execute=True):
        second = services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[5000], user=staff_user
        )

    assert second.pk == first.pk
    assert second.tracking_number == first.tracking_number
    assert Shipment.objects.get().booking_attempts == 1
    assert Shipment.objects.get().parcel_weights_grams == [1000]
    assert len(mail.outbox) == 1


def test_packing_task_mark_packed_from_pending_starts_and_packs_in_one_step(
    staff_user, django_capture_on_commit_callbacks
):
    order = paid_order_with_lines()
    packing_task = services.packing_task_create_for_order(order_id=order.pk)

    with django_capture_on_commit_callbacks(execute=True):
        shipment = services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        )

    packing_task.refresh_from_db()
    order.refresh_from_db()
    assert shipment.tracking_number
    assert packing_task.status == PackingTaskStatus.SHIPPED
    assert packing_task.assignee == staff_user
    assert packing_task.started_at is not None
    assert packing_task.started_at <= packing_task.packed_at
    assert order.status == OrderStatus.SHIPPED


class RecordingCourier(MockCourierGateway):
    """The mock courier, remembering the parcels each booking asked it to collect."""

    parcels_booked: list[list[int]] = []

    def book(self, shipment, *, idempotency_key):
        RecordingCourier.parcels_booked.append(list(shipment.parcel_weights_grams))
        return super().book(shipment, idempotency_key=idempotency_key)


def test_packing_task_mark_packed_books_the_courier_with_each_parcel(settings, staff_user):
    settings.COURIER_GATEWAY = "fulfilment.tests.test_services.RecordingCourier"
    RecordingCourier.parcels_booked = []
    packing_task = _picking_task(staff_user)

    services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[2500, 700], user=staff_user
    )

    assert RecordingCourier.parcels_booked == [[2500, 700]]


def test_packing_task_mark_packed_without_parcels_weighs_the_products(settings, staff_user):
    settings.COURIER_GATEWAY = "fulfilment.tests.test_services.RecordingCourier"
    RecordingCourier.parcels_booked = []
    packing_task = _picking_task(staff_user, skus_and_quantities=[("MUG", 2), ("TEA", 1)])
    Product.objects.filter(sku="MUG").update(weight_grams=350)
    Product.objects.filter(sku="TEA").update(weight_grams=120)

    shipment = services.packing_task_mark_packed(packing_task_id=packing_task.pk, user=staff_user)

    assert shipment.parcel_weights_grams == [820]
    assert RecordingCourier.parcels_booked == [[820]]


def test_packing_task_mark_packed_without_parcels_refuses_products_of_unknown_weight(staff_user):
    packing_task = _picking_task(staff_user, skus_and_quantities=[("MUG", 2), ("TEA", 1)])
    Product.objects.filter(sku="MUG").update(weight_grams=350)

    with pytest.raises(InvalidParcels, match="no weight"):
        services.packing_task_mark_packed(packing_task_id=packing_task.pk, user=staff_user)
    assert not Shipment.objects.exists()


def test_packing_task_scan_ticks_units_off_and_starts_a_pending_task(staff_user):
    order = paid_order_with_lines(skus_and_quantities=[("MUG", 2), ("TEA", 1)])
    packing_task = services.packing_task_create_for_order(order_id=order.pk)

    services.packing_task_scan(packing_task_id=packing_task.pk, sku=" MUG\n", user=staff_user)
    line = services.packing_task_scan(packing_task_id=packing_task.pk, sku="MUG", user=staff_user)

    packing_task.refresh_from_db()
    assert (line.sku, line.picked_quantity) == ("MUG", 2)
    assert packing_task.status == PackingTaskStatus.PICKING
    assert packing_task.started_at is not None
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PACKING


def test_packing_task_scan_refuses_a_wrong_sku_and_one_too_many(staff_user):
    packing_task = _picking_task(staff_user, skus_and_quantities=[("MUG", 1)])
    services.packing_task_scan(packing_task_id=packing_task.pk, sku="MUG", user=staff_user)

    with pytest.raises(ScannedSkuNotInTask, match="TEA is not in order"):
        services.packing_task_scan(packing_task_id=packing_task.pk, sku="TEA", user=staff_user)
    with pytest.raises(ScannedTooMany, match="needs 1 x MUG"):
        services.packing_task_scan(packing_task_id=packing_task.pk, sku="MUG", user=staff_user)
    assert packing_task.lines.get().picked_quantity == 1


def test_packing_task_scan_of_a_packed_task_is_refused(staff_user):
    packing_task = _picking_task(staff_user, skus_and_quantities=[("MUG", 1)])
    services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[500], user=staff_user
    )

    with pytest.raises(IllegalTransition):
        services.packing_task_scan(packing_task_id=packing_task.pk, sku="MUG", user=staff_user)


def test_packing_before_every_unit_is_scanned_records_the_override(staff_user):
    packing_task = _picking_task(staff_user, skus_and_quantities=[("MUG", 2)])
    services.packing_task_scan(packing_task_id=packing_task.pk, sku="MUG", user=staff_user)

    services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[500], user=staff_user
    )

    packing_task.refresh_from_db()
    assert packing_task.pick_override_by == staff_user
    assert packing_task.pick_override_at == packing_task.packed_at


def test_packing_every_scanned_unit_records_no_override(staff_user):
    packing_task = _picking_task(staff_user, skus_and_quantities=[("MUG", 1)])
    services.packing_task_scan(packing_task_id=packing_task.pk, sku="MUG", user=staff_user)

    services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[500], user=staff_user
    )

    packing_task.refresh_from_db()
    assert packing_task.pick_override_by is None
    assert packing_task.pick_override_at is None


def test_courier_outage_is_retried_by_the_booking_task(
    staff_user, courier_outage, django_capture_on_commit_callbacks
):
    packing_task = _picking_task(staff_user)
    courier_outage(1)

    with django_capture_on_commit_callbacks(execute=True):
        services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        )

    shipment = Shipment.objects.get()
    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.booking_attempts == 2
    assert shipment.booking_error == ""
    assert PackingTask.objects.get().status == PackingTaskStatus.SHIPPED


def test_courier_failure_is_visible_and_the_sweep_books_it_later(
    staff_user, courier_outage, django_capture_on_commit_callbacks
):
    packing_task = _picking_task(staff_user)
    courier_outage(100)

    with django_capture_on_commit_callbacks(execute=True):
        shipment = services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        )

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKING_FAILED
    assert "unavailable" in shipment.booking_error
    assert shipment.tracking_number is None
    # The request's own attempt and the booking task's.
    assert shipment.booking_attempts == 2
    assert PackingTask.objects.get().status == PackingTaskStatus.PACKED
    assert Order.objects.get().status == OrderStatus.PACKING
    assert mail.outbox == []

    courier_outage(0)
    with django_capture_on_commit_callbacks(execute=True):
        assert shipments_retry_bookings_task.delay().get() == 1

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.booking_error == ""
    assert PackingTask.objects.get().status == PackingTaskStatus.SHIPPED
    assert len(mail.outbox) == 1


class OutsideTransactionCourierGateway(MockCourierGateway):
    """Records whether a transaction was open on the booking's connection while it was called."""

    in_atomic_block: list[bool] = []

    def book(self, shipment, *, idempotency_key):
        OutsideTransactionCourierGateway.in_atomic_block.append(connection.in_atomic_block)
        return super().book(shipment, idempotency_key=idempotency_key)


@pytest.mark.django_db(transaction=True)
def test_shipment_book_calls_the_courier_outside_any_transaction(settings, staff_user):
    settings.COURIER_GATEWAY = "fulfilment.tests.test_services.OutsideTransactionCourierGateway"
    OutsideTransactionCourierGateway.in_atomic_block = []
    packing_task = _picking_task(staff_user)

    shipment = services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
    )

    assert OutsideTransactionCourierGateway.in_atomic_block == [False]
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.booking_started_at is None


class CrashingCourierGateway(MockCourierGateway):
    """The process dies during the courier call: after the courier booked, or before it answered."""

    crash_after_booking = True

    def book(self, shipment, *, idempotency_key):
        if CrashingCourierGateway.crash_after_booking:
            super().book(shipment, idempotency_key=idempotency_key)
        raise RuntimeError("The worker died.")


def _crash_during_booking(settings, staff_user, *, after_booking: bool) -> Shipment:
    settings.COURIER_GATEWAY = "fulfilment.tests.test_services.CrashingCourierGateway"
    CrashingCourierGateway.crash_after_booking = after_booking
    packing_task = _picking_task(staff_user)
    with pytest.raises(RuntimeError):
        services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        )
    settings.COURIER_GATEWAY = "mockproviders.courier.MockCourierGateway"
    return Shipment.objects.get(packing_task=packing_task)


def _let_booking_attempt_go_stale(settings, shipment: Shipment) -> None:
    Shipment.objects.filter(pk=shipment.pk).update(
        booking_started_at=timezone.now()
        - timedelta(seconds=settings.COURIER_BOOKING_LOCK_SECONDS + 1)
    )


def test_shipment_book_after_a_crash_past_the_courier_records_the_same_booking_once(
    settings, staff_user, django_capture_on_commit_callbacks
):
    shipment = _crash_during_booking(settings, staff_user, after_booking=True)
    courier_booking = MockCourierBooking.objects.get()
    assert shipment.status == ShipmentStatus.BOOKING_PENDING
    assert shipment.tracking_number is None
    assert shipment.booking_started_at is not None
    _let_booking_attempt_go_stale(settings, shipment)

    with django_capture_on_commit_callbacks(execute=True):
        shipment = services.shipment_book(shipment_id=shipment.pk)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.tracking_number == courier_booking.tracking_number
    assert shipment.booking_attempts == 2
    assert shipment.booking_started_at is None
    assert MockCourierBooking.objects.count() == 1
    assert PackingTask.objects.get().status == PackingTaskStatus.SHIPPED
    assert Order.objects.get().status == OrderStatus.SHIPPED
    assert len(mail.outbox) == 1


def test_shipment_book_refuses_an_attempt_in_flight_and_resumes_a_stale_one(
    settings, staff_user, django_capture_on_commit_callbacks
):
    shipment = _crash_during_booking(settings, staff_user, after_booking=False)

    with pytest.raises(ShipmentBookingInProgress):
        services.shipment_book(shipment_id=shipment.pk)
    # The retry task leaves the attempt in flight alone, quietly.
    assert shipment_book_task.delay(str(shipment.pk)).get() == "shipment_booking_in_progress"
    assert Shipment.objects.get().booking_attempts == 1

    _let_booking_attempt_go_stale(settings, shipment)
    with django_capture_on_commit_callbacks(execute=True):
        assert shipment_book_task.delay(str(shipment.pk)).get() == ShipmentStatus.BOOKED

    shipment.refresh_from_db()
    assert shipment.tracking_number == MockCourierBooking.objects.get().tracking_number
    assert shipment.booking_attempts == 2


class OutlivedCourierGateway(MockCourierGateway):
    """The first call hangs past the booking lock, a resumed attempt books meanwhile, then the
    first call times out."""

    calls = 0

    def book(self, shipment, *, idempotency_key):
        OutlivedCourierGateway.calls += 1
        if OutlivedCourierGateway.calls > 1:
            return super().book(shipment, idempotency_key=idempotency_key)
        _let_booking_attempt_go_stale(django_settings, shipment)
        services.shipment_book(shipment_id=shipment.pk)
        raise CourierError("The courier timed out.")


def test_shipment_book_failure_of_an_outlived_attempt_leaves_the_resumed_booking(
    settings, staff_user, django_capture_on_commit_callbacks
):
    settings.COURIER_GATEWAY = "fulfilment.tests.test_services.OutlivedCourierGateway"
    OutlivedCourierGateway.calls = 0
    packing_task = _picking_task(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        shipment = services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        )

    assert OutlivedCourierGateway.calls == 2
    assert shipment.status == ShipmentStatus.BOOKED
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.booking_error == ""
    assert shipment.tracking_number == MockCourierBooking.objects.get().tracking_number


def test_mock_courier_books_once_per_idempotency_key():
    shipment = Shipment()  # the mock books by key alone
    gateway = MockCourierGateway()

    first = gateway.book(shipment, idempotency_key="shipment-1")
    again = gateway.book(shipment, idempotency_key="shipment-1")
    other = gateway.book(shipment, idempotency_key="shipment-2")

    assert again == first
    assert other.tracking_number != first.tracking_number
    assert MockCourierBooking.objects.count() == 2


def test_fulfilment_batch_pick_list_sums_skus_sorted_by_sku(staff_user):
    first = paid_order_with_lines(skus_and_quantities=[("SKU-B", 2), ("SKU-A", 1)])
    second = paid_order_with_lines(skus_and_quantities=[("SKU-C", 3)])
    # The same product in two orders is one line of the pick list.
    third = paid_order_with_lines(skus_and_quantities=[])
    OrderLineFactory(order=third, product=Product.objects.get(sku="SKU-B"), quantity=4)
    tasks = [
        services.packing_task_create_for_order(order_id=order.pk)
        for order in (first, second, third)
    ]

    batch = services.fulfilment_batch_create(
        packing_task_ids=[task.pk for task in tasks], user=staff_user
    )

    pick_list = selectors.fulfilment_batch_pick_list(batch=batch)
    assert [(line.sku, line.quantity) for line in pick_list] == [
        ("SKU-A", 1),
        ("SKU-B", 6),
        ("SKU-C", 3),
    ]
    assert pick_list[1].order_numbers == (first.number, third.number)
    assert PackingTask.objects.filter(batch=batch).count() == 3


def test_fulfilment_batch_create_refuses_tasks_already_started_or_batched(staff_user):
    started = _picking_task(staff_user)
    pending = services.packing_task_create_for_order(
        order_id=paid_order_with_lines(skus_and_quantities=[("SKU-C", 1)]).pk
    )
    services.fulfilment_batch_create(packing_task_ids=[pending.pk], user=staff_user)

    with pytest.raises(PackingTasksNotBatchable) as refused:
        services.fulfilment_batch_create(packing_task_ids=[started.pk, pending.pk], user=staff_user)
    assert refused.value.extra["packingTaskIds"] == [started.pk, pending.pk]

    with pytest.raises(PackingTaskNotFound):
        services.fulfilment_batch_create(packing_task_ids=[999_999], user=staff_user)


def _booked_shipment(staff_user, django_capture_on_commit_callbacks):
    packing_task = _picking_task(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        return services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        )


def test_shipment_apply_courier_event_delivers_the_shipment_and_the_order(
    staff_user, django_capture_on_commit_callbacks
):
    shipment = _booked_shipment(staff_user, django_capture_on_commit_callbacks)

    services.shipment_apply_courier_event(
        courier_event_id="evt-1",
        tracking_number=shipment.tracking_number,
        status=ShipmentStatus.IN_TRANSIT,
        occurred_at=timezone.now(),
    )
    _, applied = services.shipment_apply_courier_event(
        courier_event_id="evt-2",
        tracking_number=shipment.tracking_number,
        status=ShipmentStatus.DELIVERED,
        occurred_at=timezone.now(),
    )

    shipment.refresh_from_db()
    assert applied is True
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.delivered_at is not None
    assert Order.objects.get().status == OrderStatus.DELIVERED


def test_shipment_apply_courier_event_replay_changes_nothing(
    staff_user, django_capture_on_commit_callbacks
):
    shipment = _booked_shipment(staff_user, django_capture_on_commit_callbacks)
    event = {
        "courier_event_id": "evt-1",
        "tracking_number": shipment.tracking_number,
        "status": ShipmentStatus.IN_TRANSIT,
        "occurred_at": timezone.now(),
    }
    services.shipment_apply_courier_event(**event)

    _, applied = services.shipment_apply_courier_event(**event)

    assert applied is False
    assert ShipmentEvent.objects.filter(courier_event_id="evt-1").count() == 1


def test_shipment_apply_courier_event_out_of_order_never_moves_backwards(
    staff_user, django_capture_on_commit_callbacks
):
    shipment = _booked_shipment(staff_user, django_capture_on_commit_callbacks)
    services.shipment_apply_courier_event(
        courier_event_id="evt-2",
        tracking_number=shipment.tracking_number,
        status=ShipmentStatus.DELIVERED,
        occurred_at=timezone.now(),
    )

    services.shipment_apply_courier_event(
        courier_event_id="evt-1",
        tracking_number=shipment.tracking_number,
        status=ShipmentStatus.IN_TRANSIT,
        occurred_at=timezone.now(),
    )

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.events.count() == 3


def test_shipment_apply_courier_event_for_unknown_tracking_number_is_not_found():
    with pytest.raises(ShipmentNotFound):
        services.shipment_apply_courier_event(
            courier_event_id="evt-1",
            tracking_number="NOPE",
            status=ShipmentStatus.IN_TRANSIT,
            occurred_at=timezone.now(),
        )


def test_fulfilment_registers_its_outbox_consumer_and_periodic_sweeps(settings):
    assert PACKING_TASK_CONSUMER in registered_consumers("order_paid")
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"fulfilment.heal_packing_tasks", "fulfilment.retry_bookings"} <= scheduled


def test_heal_task_creates_the_packing_task_of_an_order_whose_event_was_lost():
    order = paid_order_with_lines()
    publish_order_paid(order)  # committed by the test's transaction only: never delivered

    assert packing_tasks_heal_task.delay().get() == 1
    assert PackingTask.objects.filter(order=order).count() == 1


class DeliveringCourierGateway(MockCourierGateway):
    """A courier whose tracking service already reports every parcel delivered."""

    def track(self, tracking_number):
        return TrackingResult(tracking_number=tracking_number, status=ShipmentStatus.DELIVERED)


def test_shipment_refresh_tracking_applies_a_missed_delivery_once(
    settings, staff_user, django_capture_on_commit_callbacks
):
    shipment = _booked_shipment(staff_user, django_capture_on_commit_callbacks)
    settings.COURIER_GATEWAY = "fulfilment.tests.test_services.DeliveringCourierGateway"

    services.shipment_refresh_tracking(shipment_id=shipment.pk)
    services.shipment_refresh_tracking(shipment_id=shipment.pk)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert [event.status for event in shipment.events.all()] == ["booked", "delivered"]
    assert Order.objects.get().status == OrderStatus.DELIVERED


def test_shipment_refresh_tracking_with_the_mock_courier_changes_nothing(
    staff_user, django_capture_on_commit_callbacks
):
    shipment = _booked_shipment(staff_user, django_capture_on_commit_callbacks)

    services.shipment_refresh_tracking(shipment_id=shipment.pk)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED


def test_packing_a_task_whose_order_was_refunded_is_refused(staff_user):
    order = paid_order_with_lines()
    packing_task = services.packing_task_create_for_order(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)

    with pytest.raises(OrderNotPackable):
        services.packing_task_start(packing_task_id=packing_task.pk, user=staff_user)
    assert PackingTask.objects.get().status == PackingTaskStatus.PENDING


def test_shipment_notify_customer_sends_the_email_once(
    staff_user, django_capture_on_commit_callbacks
):
    shipment = _booked_shipment(staff_user, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1

    assert services.shipment_notify_customer(shipment_id=shipment.pk) is False
    assert len(mail.outbox) == 1
