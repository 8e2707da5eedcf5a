"""The mock courier: `COURIER_GATEWAY=mockproviders.courier.MockCourierGateway`."""

import secrets
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings

from fulfilment.enums import ShipmentStatus
from fulfilment.errors import CourierError
from fulfilment.gateways import BookingResult, TrackingResult
from mockproviders.models import MockCourierBooking
from yourlocalshop.db import create_unless_duplicate

if TYPE_CHECKING:
    from fulfilment.models import Shipment


class MockCourierGateway:
    """A courier simulated in the shop's database (`MockCourierBooking`) that answers at once.

    Idempotent on the key like a real courier: a key booked before returns that booking's
    tracking number. Its writes commit on their own, as a remote courier's would, whatever the
    caller's transaction. `simulated_outages` makes the next bookings fail like a courier
    answering 503, so tests and demos can watch a booking fail, become visible to staff and
    succeed on a retry.
    """

    simulated_outages: ClassVar[int] = 0

    @property
    def carrier(self) -> str:
        return settings.COURIER_NAME

    def book(self, shipment: "Shipment", *, idempotency_key: str) -> BookingResult:
        if MockCourierGateway.simulated_outages > 0:
            MockCourierGateway.simulated_outages -= 1
            raise CourierError("The courier is unavailable (503); the booking will be retried.")
        booking = self._booking_created(
            idempotency_key=idempotency_key
        ) or MockCourierBooking.objects.get(idempotency_key=idempotency_key)
        return BookingResult(tracking_number=booking.tracking_number, label_url=booking.label_url)

    def _booking_created(self, *, idempotency_key: str) -> MockCourierBooking | None:
        """A new collection, or None when the key was booked before. One insert, committed on its
        own (inside a caller's transaction, a savepoint lets a refusal be caught)."""
        tracking_number = "MP" + secrets.token_hex(6).upper()
        return create_unless_duplicate(
            MockCourierBooking.objects,
            idempotency_key=idempotency_key,
            tracking_number=tracking_number,
            label_url=f"https://courier.example/labels/{tracking_number}.pdf",
        )

    def track(self, tracking_number: str) -> TrackingResult:
        # The mock courier never moves parcels by itself; its webhook calls do.
        return TrackingResult(tracking_number=tracking_number, status=ShipmentStatus.BOOKED)
