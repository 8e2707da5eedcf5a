"""The courier behind a small interface; chosen by COURIER_GATEWAY (the project's gateway
convention: `yourlocalshop.gateways`; the deterministic mock is `mockproviders.courier`).

Webhooks from the courier are signed with a shared secret, as Stripe signs its own: the header
`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (more than one v1 while a secret is
rotated). The timestamp is signed, so a captured delivery replayed later than
COURIER_WEBHOOK_TOLERANCE_SECONDS is refused. The check lives here because it is part of the
courier's protocol, not of our business rules.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.conf import settings

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
