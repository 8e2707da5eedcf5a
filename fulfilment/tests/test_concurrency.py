"""Row locks under real concurrency (PostgreSQL only: SQLite serialises every writer anyway)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from fulfilment import services
from fulfilment.enums import ShipmentStatus
from fulfilment.errors import ShipmentBookingInProgress
from fulfilment.models import PackingTask, Shipment
from fulfilment.tasks import shipment_book_task
from fulfilment.tests.factories import paid_order_with_lines
from mockproviders.courier import MockCourierGateway
from mockproviders.models import MockCourierBooking
from orders.models import Order
from yourlocalshop.testing import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class SlowCourierGateway(MockCourierGateway):
    """Answers after a pause, so a second booking would overlap the first if nothing stopped it."""

    bookings: list[str] = []

    def book(self, shipment, *, idempotency_key):
        SlowCourierGateway.bookings.append(str(shipment.pk))
        time.sleep(0.3)
        return super().book(shipment, idempotency_key=idempotency_key)


def test_packing_task_mark_packed_concurrently_books_the_courier_once(settings, staff_user):
    settings.COURIER_GATEWAY = "fulfilment.tests.test_concurrency.SlowCourierGateway"
    SlowCourierGateway.bookings = []
    order = paid_order_with_lines()
    packing_task = services.packing_task_create_for_order(order_id=order.pk)
    services.packing_task_start(packing_task_id=packing_task.pk, user=staff_user)

    results = run_concurrently(
        lambda _: services.packing_task_mark_packed(
            packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
        ),
        range(4),
    )

    # A call arriving while the courier is being booked is refused (409), never made to wait.
    shipments = [result for result in results if isinstance(result, Shipment)]
    refused = [result for result in results if isinstance(result, ShipmentBookingInProgress)]
    assert shipments and len(shipments) + len(refused) == len(results), results
    booked = Shipment.objects.get()
    assert {shipment.pk for shipment in shipments} == {booked.pk}
    assert {shipment.tracking_number for shipment in shipments} == {booked.tracking_number}
    assert booked.status == ShipmentStatus.BOOKED
    assert len(SlowCourierGateway.bookings) == 1
    assert Shipment.objects.get().booking_attempts == 1


class HeldCourierGateway(MockCourierGateway):
    """Holds the courier call open until the test releases it, so the test acts meanwhile."""

    called = threading.Event()
    release = threading.Event()
    bookings: list[str] = []

    def book(self, shipment, *, idempotency_key):
        HeldCourierGateway.bookings.append(idempotency_key)
        HeldCourierGateway.called.set()
        assert HeldCourierGateway.release.wait(timeout=30), "the test never released the courier"
        return super().book(shipment, idempotency_key=idempotency_key)


@pytest.fixture
def held_booking(settings, staff_user):
    """A packing task being marked packed on another thread, stopped inside the courier call."""
    settings.COURIER_GATEWAY = "fulfilment.tests.test_concurrency.HeldCourierGateway"
    HeldCourierGateway.called = threading.Event()
    HeldCourierGateway.release = threading.Event()
    HeldCourierGateway.bookings = []
    order = paid_order_with_lines()
    packing_task = services.packing_task_create_for_order(order_id=order.pk)
    services.packing_task_start(packing_task_id=packing_task.pk, user=staff_user)
    with ThreadPoolExecutor(max_workers=1) as executor:

        def mark_packed():
            try:
                return services.packing_task_mark_packed(
                    packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
                )
            finally:
                connection.close()

        booking = executor.submit(mark_packed)
        assert HeldCourierGateway.called.wait(timeout=30)
        try:
            yield Shipment.objects.get(packing_task=packing_task), booking
        finally:
            HeldCourierGateway.release.set()


def test_shipment_book_holds_no_lock_during_the_courier_call(held_booking):
    shipment, booking = held_booking

    # A webhook, a staff action or a task locking the shipment, its task or its order gets
    # the rows at once while the courier is still answering.
    with transaction.atomic():
        locked = (
            Shipment.objects.select_for_update(nowait=True, of=("self",))
            .select_related("packing_task", "order")
            .get(pk=shipment.pk)
        )
        PackingTask.objects.select_for_update(nowait=True).get(pk=locked.packing_task.pk)
        Order.objects.select_for_update(nowait=True).get(pk=locked.order.pk)
    assert services.shipment_notify_customer(shipment_id=shipment.pk) is False
    assert not booking.done()

    HeldCourierGateway.release.set()
    assert booking.result(timeout=30).status == ShipmentStatus.BOOKED


def test_shipment_book_while_a_booking_is_in_flight_does_not_call_the_courier_again(
    held_booking,
):
    shipment, booking = held_booking

    with pytest.raises(ShipmentBookingInProgress):
        services.shipment_book(shipment_id=shipment.pk)
    assert shipment_book_task.delay(str(shipment.pk)).get() == "shipment_booking_in_progress"

    HeldCourierGateway.release.set()
    booked = booking.result(timeout=30)
    assert booked.status == ShipmentStatus.BOOKED
    assert services.shipment_book(shipment_id=shipment.pk).tracking_number == (
        booked.tracking_number
    )
    assert HeldCourierGateway.bookings == [f"shipment-{shipment.pk}"]
    assert MockCourierBooking.objects.count() == 1
    assert Shipment.objects.get().booking_attempts == 1


def test_packing_task_create_for_order_concurrently_creates_one_task():
    order = paid_order_with_lines()

    results = run_concurrently(
        lambda _: services.packing_task_create_for_order(order_id=order.pk), range(4)
    )

    assert all(isinstance(result, PackingTask) for result in results), results
    assert PackingTask.objects.filter(order=order).count() == 1
    assert {result.pk for result in results} == {PackingTask.objects.get(order=order).pk}
