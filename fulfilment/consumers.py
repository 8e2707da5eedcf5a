"""Outbox consumers: how fulfilment reacts to other apps' events.

The outbox runs each handler inside a Celery task, in one transaction with the insert of its
`ProcessedEvent` row, so a redelivered event is skipped; the service is idempotent on its own too.
"""

from fulfilment import services
from yourlocalshop.models import OutboxEvent

PACKING_TASK_CONSUMER = "fulfilment.packing_task_from_order_paid"


def packing_task_from_order_paid(event: OutboxEvent) -> None:
    services.packing_task_create_for_order(
        order_id=event.payload["orderId"], source_event_id=str(event.id)
    )
