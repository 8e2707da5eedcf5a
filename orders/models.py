import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from orders.enums import (
    IdempotencyState,
    InvoiceKind,
    OrderStatus,
    PaymentCheck,
    PaymentStatus,
    RecoveryPoint,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
# No 0/O/1/I: order numbers are read out over the phone.
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def new_order_number() -> str:
    """Random, not sequential: together with the email it is what a guest proves ownership with."""
    return "YLS-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(10))


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=20, unique=True, default=new_order_number)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField()
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY, default=0)
    total = models.DecimalField(**MONEY)
    refunded_amount = models.DecimalField(**MONEY, default=0)
    shipping_address = models.JSONField()
    cart_id = models.UUIDField(null=True, blank=True, db_index=True)
    reservation_id = models.UUIDField(null=True, blank=True)
    # Sent to the payment provider with every charge attempt, so a retry never charges twice.
    payment_idempotency_key = models.CharField(max_length=64, unique=True)
    failure_code = models.CharField(max_length=50, blank=True, default="")
    payment_check = models.CharField(
        max_length=10, choices=PaymentCheck.choices, blank=True, default=PaymentCheck.NOT_CHECKED
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("total")),
                name="order_refund_within_total",
            ),
            # One checkout per cart at a time, whatever the Idempotency-Key: both would share
            # the cart's one reservation (the checkout answers `checkout_in_progress`).
            models.UniqueConstraint(
                fields=["cart_id"],
                condition=Q(status=OrderStatus.PENDING_PAYMENT),
                name="order_one_pending_per_cart",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_recent_idx"),
            models.Index(fields=["status", "created_at"], name="order_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def tax_added(self) -> bool:
        """Whether VAT was charged on top of the shelf amounts (prices without VAT) rather than
        included in them: the quote's total then exceeds subtotal plus shipping."""
        return self.total > self.subtotal + self.shipping


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalogue.Product", on_delete=models.PROTECT, related_name="order_lines"
    )
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    line_total = models.DecimalField(**MONEY)
    tax = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.UniqueConstraint(fields=["order", "product"], name="order_line_product_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class Payment(models.Model):
    """The shop's record of a captured charge (the provider's own record lives at the provider)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider_charge_id = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.SUCCEEDED
    )
    refunded_amount = models.DecimalField(**MONEY, default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")),
                name="payment_refund_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return self.provider_charge_id


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    provider_refund_id = models.CharField(max_length=64, unique=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.provider_refund_id


class DocumentCounter(models.Model):
    """Last number issued per (series, year), locked while a number is taken: no gaps."""

    series = models.CharField(max_length=8)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="document_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_number}"


class Invoice(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=20, choices=InvoiceKind.choices)
    number = models.CharField(max_length=32, unique=True)
    series = models.CharField(max_length=8)
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    credited_invoice = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    # Idempotency of credit notes (e.g. the return's id); blank for invoices.
    reference = models.CharField(max_length=255, blank=True, default="")
    issued_at = models.DateTimeField(default=timezone.now)
    seller_name = models.CharField(max_length=200)
    seller_address = models.CharField(max_length=500)
    seller_vat_id = models.CharField(max_length=50, blank=True, default="")
    buyer_name = models.CharField(max_length=200)
    buyer_email = models.EmailField()
    buyer_address = models.JSONField()
    currency = models.CharField(max_length=3)
    vat_rate = models.DecimalField(max_digits=5, decimal_places=4)
    prices_include_tax = models.BooleanField()
    net_total = models.DecimalField(**MONEY)
    tax_total = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["series", "year", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "sequence"], name="invoice_sequence_unique"
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(kind=InvoiceKind.INVOICE),
                name="invoice_one_per_order",
            ),
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(kind=InvoiceKind.CREDIT_NOTE),
                name="credit_note_reference_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind=InvoiceKind.INVOICE, credited_invoice__isnull=True)
                | Q(kind=InvoiceKind.CREDIT_NOTE, credited_invoice__isnull=False),
                name="credit_note_references_invoice",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    sku = models.CharField(max_length=64)
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)
    net_amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"

    @property
    def is_delivery(self) -> bool:
        """The delivery line is the one line sold without an order line (its SKU only prints)."""
        return self.order_line_id is None


class IdempotencyKey(models.Model):
    """One request's claim on an Idempotency-Key, per caller (a user, or a guest's cart)."""

    caller = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    request_method = models.CharField(max_length=10)
    request_path = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(
        max_length=20, choices=IdempotencyState.choices, default=IdempotencyState.IN_PROGRESS
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    recovery_point = models.CharField(
        max_length=20, choices=RecoveryPoint.choices, default=RecoveryPoint.STARTED
    )
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="idempotency_keys"
    )
    # No longer written: the charge's id is on the order's Payment. Kept one release for the
    # release before, which writes it while the next one migrates (docs/upgrading.md).
    provider_charge_id = models.CharField(max_length=64, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotency_key_per_caller")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.caller} {self.key}"


class PaymentReconciliation(models.Model):
    """One run of the payment reconciliation with the provider and what it found: kept in the
    database, so the owner's overview and the health detail still know the last run after a
    cache flush or a Redis outage. Runs older than RECONCILIATION_KEPT_DAYS are deleted."""

    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    since = models.DateTimeField()
    charges_checked = models.PositiveIntegerField(default=0)
    payments_checked = models.PositiveIntegerField(default=0)
    # Each difference (orders.services.reconciliation.Mismatch as a dict), repaired or not.
    mismatches = models.JSONField(default=list, blank=True)
    unresolved = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-checked_at"]
        get_latest_by = "checked_at"

    def __str__(self) -> str:
        return f"Payment reconciliation of {self.checked_at:%Y-%m-%d %H:%M}"
