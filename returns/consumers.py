"""Outbox consumers of the returns app (each event reaches each consumer once)."""

from returns.services import return_notify_customer
from yourlocalshop.models import OutboxEvent

CUSTOMER_EMAIL_CONSUMER = "returns.customer_email"


def customer_email_on_return_status(event: OutboxEvent) -> None:
    return_notify_customer(return_id=event.payload["returnId"], status=event.payload["status"])
