"""Row locks under real concurrency (PostgreSQL only: SQLite serialises every writer anyway)."""

import time

import pytest

from fulfilment import services
from fulfilment.enums import ShipmentStatus
from fulfilment.errors import ShipmentBookingInProgress
from fulfilment.gateways import MockCourierGateway
from fulfilment.models import PackingTask, Shipment
from fulfilment.tests.factories import paid_order_with_lines
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


def test_packing_task_create_for_order_concurrently_creates_one_task():
    order = paid_order_with_lines()

    results = run_concurrently(
        lambda _: services.packing_task_create_for_order(order_id=order.pk), range(4)
    )

    assert all(isinstance(result, PackingTask) for result in results), results
    assert PackingTask.objects.filter(order=order).count() == 1
    assert {result.pk for result in results} == {PackingTask.objects.get(order=order).pk}
