import uuid

from django.conf import settings
from django.db import models

from fulfilment.enums import PackingTaskStatus, ShipmentStatus


class FulfilmentBatch(models.Model):
    """Pending packing tasks a member of staff picks in one walk through the stock room."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fulfilment_batches"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "fulfilment batches"

    def __str__(self) -> str:
        return f"Batch {self.pk}"


class PackingTask(models.Model):
    """The work of picking and packing one paid order; exactly one per order."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=16, choices=PackingTaskStatus.choices, default=PackingTaskStatus.PENDING
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="packing_tasks",
    )
    batch = models.ForeignKey(
        FulfilmentBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="packing_tasks",
    )
    # The outbox event that created the task (empty when the sweep healed a lost event).
    source_event_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    # Who packed the task before every line was scanned off (the packing station's override, or
    # an API client that does not scan), and when; empty when every unit was scanned.
    pick_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    pick_override_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], name="fulfilment_packingtask_one_per_order"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="fulfil_task_status_created"),
        ]

    def __str__(self) -> str:
        return f"Packing task {self.pk}"


class PackingTaskLine(models.Model):
    """A copy of an order line as it is to be picked: the order may change, the pick list not."""

    packing_task = models.ForeignKey(PackingTask, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    # Units scanned off the shelf so far (the packing station's scan input).
    picked_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sku", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="fulfilment_taskline_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(picked_quantity__lte=models.F("quantity")),
                name="fulfilment_taskline_picked_lte_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class Shipment(models.Model):
    """What the courier takes away for one packing task, from booking to delivery."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    packing_task = models.OneToOneField(
        PackingTask, on_delete=models.PROTECT, related_name="shipment"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    carrier = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.BOOKING_PENDING
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Unknown until the courier accepted the booking.
    tracking_number = models.CharField(max_length=64, unique=True, null=True, blank=True)
    label_url = models.URLField(max_length=500, blank=True)
    parcel_weights_grams = models.JSONField(default=list)
    booking_attempts = models.PositiveIntegerField(default=0)
    booking_error = models.TextField(blank=True)
    last_booking_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the booking attempt in flight started (no lock is held across the courier call); null
    # when none is. One older than COURIER_BOOKING_LOCK_SECONDS died and may be resumed.
    booking_started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    booked_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Set once the "your order is on its way" email went out, so a retried task sends it once.
    customer_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status"], name="fulfil_shipment_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(booking_started_at__isnull=True)
                | models.Q(
                    status__in=[ShipmentStatus.BOOKING_PENDING, ShipmentStatus.BOOKING_FAILED]
                ),
                name="fulfilment_shipment_booking_only_while_unbooked",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number or f"Shipment {self.pk}"


class ShipmentEvent(models.Model):
    """One step in a shipment's life, from our booking or from the courier's webhook."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    # The courier's own event id; unique so a replayed webhook is recognised.
    courier_event_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=ShipmentStatus.choices)
    description = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.shipment} {self.status}"
