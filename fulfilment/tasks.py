"""Celery tasks of fulfilment: each takes ids, re-fetches and calls one idempotent service."""

import logging

from celery import shared_task

from fulfilment import services
from fulfilment.errors import ShipmentBookingInProgress

logger = logging.getLogger(__name__)

# Booking retries back off 30 s, 60 s, 120 s, 240 s, 480 s; all below the broker's visibility
# timeout, so a waiting retry is never redelivered early. After that the beat sweep retries.
BOOKING_MAX_RETRIES = 5
BOOKING_RETRY_BASE_SECONDS = 30


@shared_task(
    name="fulfilment.heal_packing_tasks", acks_late=True, soft_time_limit=100, time_limit=120
)
def packing_tasks_heal_task() -> int:
    return services.packing_tasks_heal_missing()


@shared_task(
    bind=True,
    name="fulfilment.book_shipment",
    acks_late=True,
    max_retries=BOOKING_MAX_RETRIES,
    soft_time_limit=50,
    time_limit=60,
)
def shipment_book_task(self, shipment_id: str) -> str:
    try:
        shipment = services.shipment_book(shipment_id=shipment_id)
    except ShipmentBookingInProgress:
        # The attempt in flight records the outcome; if it died, the sweep resumes it once stale.
        return ShipmentBookingInProgress.code
    still_unbooked = shipment.status in services.BOOKABLE_STATUSES
    # An eager retry would run inline, inside the staff member's request: the sweep retries instead.
    if still_unbooked and not self.request.is_eager and self.request.retries < self.max_retries:
        raise self.retry(countdown=BOOKING_RETRY_BASE_SECONDS * 2**self.request.retries)
    return shipment.status


@shared_task(name="fulfilment.retry_bookings", acks_late=True, soft_time_limit=100, time_limit=120)
def shipments_retry_bookings_task() -> int:
    shipment_ids = services.shipments_needing_booking_retry()
    for shipment_id in shipment_ids:
        # Each sweep starts a fresh retry budget: the sweep itself is the slow outer backoff.
        shipment_book_task.delay(str(shipment_id))
    return len(shipment_ids)


@shared_task(
    name="fulfilment.notify_customer_shipped",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=5,
    soft_time_limit=50,
    time_limit=60,
)
def shipment_notify_customer_task(shipment_id: str) -> bool:
    return services.shipment_notify_customer(shipment_id=shipment_id)
