"""Transactional outbox: events written with the state change, delivered at least once after commit.

`outbox_publish` must be called inside the caller's `transaction.atomic()`; the row commits or rolls
back with the change it describes. `on_commit` queues `outbox_deliver_task`; `outbox_sweep_task`
(periodic) re-queues anything left undelivered (a lost task, a crashed worker, a failing handler).

Consumers call `register_handler(event_type, handler)` from their `AppConfig.ready()`. Each
handler runs in its own transaction together with the insert of `ProcessedEvent(consumer,
event_id)`, which is unique: a redelivered or concurrently delivered event runs each handler
at most once.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone

from yourlocalshop.models import OutboxEvent, ProcessedEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, dict[str, Handler]] = {}

# Rows younger than this are left to their own on_commit task before the sweep queues them again.
SWEEP_GRACE_SECONDS = 30
SWEEP_BATCH_SIZE = 200


def register_handler(event_type: str, handler: Handler, *, consumer: str | None = None) -> None:
    """Subscribe `handler(event)` to `event_type`; registering a consumer again replaces it."""
    consumer_name = consumer or f"{handler.__module__}.{handler.__qualname__}"
    _handlers.setdefault(event_type, {})[consumer_name] = handler


def registered_consumers(event_type: str) -> dict[str, Handler]:
    return dict(_handlers.get(event_type, {}))


def outbox_publish(*, event_type: str, payload: dict[str, Any], aggregate_id: str) -> OutboxEvent:
    """Write an event in the caller's transaction; queue its delivery once that transaction commits.

    Not atomic on its own on purpose: it must share the caller's transaction.
    """
    event = OutboxEvent.objects.create(
        event_type=event_type, payload=payload, aggregate_id=str(aggregate_id)
    )
    event_id = str(event.id)
    transaction.on_commit(lambda: _queue_delivery(event_id), robust=True)
    return event


def _queue_delivery(event_id: str) -> None:
    try:
        outbox_deliver_task.delay(event_id)
    except Exception:
        # The broker being down must not fail the request that already committed: the sweep
        # delivers the row later.
        logger.exception("Could not queue outbox delivery", extra={"event_id": event_id})


def outbox_deliver(*, event_id: str) -> bool:
    """Run every registered handler of the event once; mark it delivered when all succeeded.

    Idempotent and safe to run concurrently: each (consumer, event) is claimed by a unique row
    inserted in the handler's own transaction. Returns whether the event is now delivered.
    """
    event = OutboxEvent.objects.filter(pk=event_id).first()
    if event is None:
        return False
    if event.delivered_at is not None:
        return True
    failures: list[str] = []
    for consumer, handler in registered_consumers(event.event_type).items():
        try:
            _run_handler_once(event=event, consumer=consumer, handler=handler)
        except Exception as exc:
            logger.exception(
                "Outbox handler failed",
                extra={"event_id": event_id, "consumer": consumer},
            )
            failures.append(f"{consumer}: {exc!r}")
    if failures:
        OutboxEvent.objects.filter(pk=event.pk).update(
            attempts=event.attempts + 1, last_error="\n".join(failures)[:4000]
        )
        return False
    OutboxEvent.objects.filter(pk=event.pk, delivered_at__isnull=True).update(
        delivered_at=timezone.now(), attempts=event.attempts + 1, last_error=""
    )
    return True


def _run_handler_once(*, event: OutboxEvent, consumer: str, handler: Handler) -> None:
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProcessedEvent.objects.create(consumer=consumer, event_id=event.id)
        except IntegrityError:
            return  # this consumer already processed the event
        handler(event)


def outbox_backlog() -> dict:
    """Events not delivered yet: how many, and when the oldest was written (a growing number or
    an old event means the worker or beat is not running)."""
    pending = OutboxEvent.objects.filter(delivered_at__isnull=True)
    return {
        "count": pending.count(),
        "oldest_created_at": pending.order_by("created_at")
        .values_list("created_at", flat=True)
        .first(),
    }


def outbox_sweep(*, older_than_seconds: int = SWEEP_GRACE_SECONDS) -> int:
    """Queue delivery of undelivered rows older than the grace period. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    event_ids = list(
        OutboxEvent.objects.filter(delivered_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("id", flat=True)[:SWEEP_BATCH_SIZE]
    )
    for event_id in event_ids:
        _queue_delivery(str(event_id))
    return len(event_ids)


@shared_task(name="outbox.deliver", acks_late=True, soft_time_limit=50, time_limit=60)
def outbox_deliver_task(event_id: str) -> bool:
    return outbox_deliver(event_id=event_id)


@shared_task(name="outbox.sweep", acks_late=True, soft_time_limit=100, time_limit=120)
def outbox_sweep_task() -> int:
    return outbox_sweep()
