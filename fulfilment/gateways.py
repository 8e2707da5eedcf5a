"""The courier behind a small interface, with a deterministic mock; chosen by COURIER_GATEWAY.

Webhooks from the courier are signed with a shared secret (HMAC-SHA256 over the raw body); the
check lives here too because it is part of the courier's protocol, not of our business rules.
"""

import hashlib
import hmac
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

from fulfilment.enums import ShipmentStatus
from fulfilment.errors import CourierError
from fulfilment.models import MockCourierBooking
from yourlocalshop.db import create_unless_duplicate

if TYPE_CHECKING:
    from fulfilment.models import Shipment

SIGNATURE_HEADER = "X-Courier-Signature"
SIGNATURE_PREFIX = "sha256="


@dataclass(frozen=True)
class BookingResult:
    tracking_number: str
    label_url: str


@dataclass(frozen=True)
class TrackingResult:
    tracking_number: str
    status: str


class CourierGateway(ABC):
    @property
    @abstractmethod
    def carrier(self) -> str:
        """The carrier's name shown to staff and customers."""

    @abstractmethod
    def book(self, shipment: "Shipment", *, idempotency_key: str) -> BookingResult:
        """Book a collection for the shipment's parcels; raise CourierError when it fails.

        Must be idempotent on `idempotency_key` (sent to the courier as its idempotency key): a
        booking retried after a timeout or a crash returns the first booking's tracking number
        instead of booking a second collection.
        """

    @abstractmethod
    def track(self, tracking_number: str) -> TrackingResult:
        """Where the parcel is now; raise CourierError when the courier cannot say."""


class MockCourierGateway(CourierGateway):
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


@cache
def _gateway_class(dotted_path: str) -> type[CourierGateway]:
    return import_string(dotted_path)


def get_courier_gateway() -> CourierGateway:
    return _gateway_class(settings.COURIER_GATEWAY)()


def webhook_signature(body: bytes, *, secret: str | None = None) -> str:
    """The header value the courier sends for `body`: `sha256=<hex HMAC-SHA256>`."""
    key = (secret if secret is not None else settings.COURIER_WEBHOOK_SECRET).encode()
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def webhook_signature_is_valid(body: bytes, header_value: str | None) -> bool:
    """Constant-time check of the signature header; a missing header or empty secret fails."""
    if not header_value or not settings.COURIER_WEBHOOK_SECRET:
        return False
    return hmac.compare_digest(webhook_signature(body).encode(), header_value.strip().encode())
