"""Platform tables shared by every app: the transactional outbox and its consumers' dedupe log."""

import uuid

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """A domain event written in the same transaction as the state change it announces.

    Delivery happens after commit (a Celery task queued by `on_commit`, and a periodic sweep for
    rows left behind), so an event exists if and only if its transaction committed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=64)
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(delivered_at__isnull=True),
                name="outbox_undelivered_idx",
            ),
            models.Index(fields=["event_type", "aggregate_id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.aggregate_id}"


class ProcessedEvent(models.Model):
    """One row per (consumer, event): a redelivered event finds its row and does nothing."""

    consumer = models.CharField(max_length=200)
    event_id = models.UUIDField()
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consumer", "event_id"], name="processed_event_once_per_consumer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer} {self.event_id}"


class CacheWritesDropped(models.Model):
    """A cache server that some process dropped writes for while it could not reach it (an
    invalidation among them, perhaps), kept until a process that reaches the server again has
    had the owners of cached data orphan what they cached (yourlocalshop.cache). In the database,
    so the processes that saw the outage may all be gone by the time the server answers."""

    # SHA-256 of the cache's LOCATION (which may hold a password).
    server = models.CharField(max_length=64, primary_key=True)
    dropped_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"writes dropped at {self.dropped_at:%Y-%m-%d %H:%M:%S}"
