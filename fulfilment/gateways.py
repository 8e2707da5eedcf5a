"""The courier behind a small interface, with a deterministic mock; chosen by COURIER_GATEWAY
(the project's gateway convention: `yourlocalshop.gateways`).

Webhooks from the courier are signed with a shared secret, as Stripe signs its own: the header
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (more than one v1 while a secret is
rotated). The timestamp is signed, so a captured delivery replayed later than
COURIER_WEBHOOK_TOLERANCE_SECONDS is refused. The check lives here because it is part of the
courier's protocol, not of our business rules.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from django.conf import settings

from fulfilment.enums import ShipmentStatus
from fulfilment.errors import CourierError
from fulfilment.models import MockCourierBooking
from yourlocalshop.db import create_unless_duplicate
from yourlocalshop.gateways import configured_gateway

if TYPE_CHECKING:
    from fulfilment.models import Shipment

SIGNATURE_HEADER = "X-Courier-Signature"
SIGNATURE_SCHEME = "v1"


@dataclass(frozen=True)
class BookingResult:
    tracking_number: str
    label_url: str


@dataclass(frozen=True)
class TrackingResult:
    tracking_number: str
    status: str


class CourierGateway(Protocol):
    @property
    def carrier(self) -> str:
        """The carrier's name shown to staff and customers."""

    def book(self, shipment: "Shipment", *, idempotency_key: str) -> BookingResult:
        """Book a collection for the shipment's parcels; raise CourierError when it fails.

        Must be idempotent on `idempotency_key` (sent to the courier as its idempotency key): a
        booking retried after a timeout or a crash returns the first booking's tracking number
        instead of booking a second collection.
        """

    def track(self, tracking_number: str) -> TrackingResult:
        """Where the parcel is now; raise CourierError when the courier cannot say."""


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


def courier_gateway() -> CourierGateway:
    return configured_gateway("COURIER_GATEWAY")


def _hmac(body: bytes, *, timestamp: int, secret: str) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def webhook_signature(
    body: bytes, *, secret: str | None = None, timestamp: int | None = None
) -> str:
    """The header value the courier sends for `body` at `timestamp` (now by default)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    key = secret if secret is not None else settings.COURIER_WEBHOOK_SECRET
    return f"t={timestamp},{SIGNATURE_SCHEME}={_hmac(body, timestamp=timestamp, secret=key)}"


def webhook_signature_problem(body: bytes, header_value: str | None) -> str | None:
    """Why the signature header does not authenticate `body` now, or None when it does.

    Constant-time comparison; a missing or malformed header, an empty secret and a timestamp
    outside COURIER_WEBHOOK_TOLERANCE_SECONDS all fail.
    """
    if not header_value or not settings.COURIER_WEBHOOK_SECRET:
        return "The signature header is missing."
    timestamps, signatures = [], []
    for part in header_value.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamps.append(value)
        elif name == SIGNATURE_SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        return "The signature header has no timestamp."
    timestamp = int(timestamps[0])
    if abs(time.time() - timestamp) > settings.COURIER_WEBHOOK_TOLERANCE_SECONDS:
        return "The event was signed too long ago (or in the future); it is not accepted."
    expected = _hmac(body, timestamp=timestamp, secret=settings.COURIER_WEBHOOK_SECRET).encode()
    if not any(hmac.compare_digest(expected, signature.encode()) for signature in signatures):
        return "The signature does not match."
    return None
