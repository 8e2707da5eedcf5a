"""Outbox consumers of the orders app (each event reaches each consumer once)."""

from orders.services import order_confirmation_send
from yourlocalshop.models import OutboxEvent

CONFIRMATION_EMAIL_CONSUMER = "orders.confirmation_email"


def confirmation_email_on_order_paid(event: OutboxEvent) -> None:
    order_confirmation_send(order_id=event.payload["orderId"])
