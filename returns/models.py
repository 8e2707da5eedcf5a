import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from returns.enums import ReturnLineCondition, ReturnReason, ReturnStatus


class ReturnRequest(models.Model):
    """A return merchandise authorisation (RMA): goods of one order on their way back."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rma_number = models.CharField("RMA number", max_length=32, unique=True, editable=False)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(
        max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    note = models.TextField(blank=True, help_text="The customer's note.")
    rejection_reason = models.TextField(blank=True)
    # When the order reached the customer (delivered, else shipped): the return window's start.
    # Kept here because the order's own status time moves on once a return is refunded.
    window_starts_at = models.DateTimeField()

    # Fixed on receipt: the total refunded, i.e. the lines' paid price plus `shipping_refund`
    # when this return completes the return of the whole order.
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    shipping_refund = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    refund = models.ForeignKey(
        "orders.Refund", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credit_note = models.ForeignKey(
        "orders.Invoice", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refund_failure = models.TextField(
        blank=True, help_text="Why the last refund attempt failed; empty once refunded."
    )
    refund_attempts = models.PositiveIntegerField(default=0)
    refund_attempted_at = models.DateTimeField(null=True, blank=True)

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The member of staff who approved or rejected the return.",
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "return"
        ordering = ["-created_at"]
        permissions = [("process_returnrequest", "Can approve, reject, receive and refund returns")]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | Q(refund_amount__gte=0),
                name="returns_request_refund_amount_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(shipping_refund__gte=0), name="returns_request_shipping_refund_gte_0"
            ),
            models.CheckConstraint(
                condition=~Q(status=ReturnStatus.REJECTED) | ~Q(rejection_reason=""),
                name="returns_request_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[ReturnStatus.RECEIVED, ReturnStatus.REFUNDED])
                | Q(refund_amount__isnull=False),
                name="returns_request_received_has_refund_amount",
            ),
            # Nothing is paid back (or credited) for a return of items that cost nothing.
            models.CheckConstraint(
                condition=~Q(status=ReturnStatus.REFUNDED)
                | Q(refund_amount=0)
                | (Q(refund__isnull=False) & Q(credit_note__isnull=False)),
                name="returns_request_refunded_has_refund_and_credit_note",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="returns_status_created_idx"),
        ]

    def __str__(self) -> str:
        return self.rma_number


class ReturnLine(models.Model):
    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="return_lines"
    )
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=32, choices=ReturnReason.choices)
    condition = models.CharField(
        max_length=16,
        choices=ReturnLineCondition.choices,
        blank=True,
        help_text="Set by staff when the goods arrive.",
    )
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="returns_line_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(refund_amount__isnull=True) | Q(refund_amount__gte=0),
                name="returns_line_refund_amount_gte_0",
            ),
            # One line per order line: a return of two units of a SKU is one line of quantity 2.
            models.UniqueConstraint(
                fields=["return_request", "order_line"], name="returns_line_unique_order_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class ReturnNumberSequence(models.Model):
    """The last RMA number issued per year; its row is locked while the next one is taken."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"
