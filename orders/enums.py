"""Order, invoice, payment and idempotency statuses, with the order's allowed moves."""

from django.db import models


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    PACKING = "packing", "Packing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


# Money may be refunded (in part or in full) from these statuses: the order was paid and is not
# refunded in full yet.
REFUNDABLE_ORDER_STATUSES = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.PACKING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.PARTIALLY_REFUNDED,
    }
)
# Goods may be returned from these statuses: the customer has them (a partial refund of a shipped
# or delivered order leaves the rest returnable).
RETURNABLE_ORDER_STATUSES = frozenset(
    {OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_REFUNDED}
)

_REFUNDED = frozenset({OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED})

ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    # `refunded` from pending_payment is the compensation path: the charge was captured but the
    # order could not be completed, so the money goes back before the order was ever paid.
    OrderStatus.PENDING_PAYMENT: frozenset(
        {OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CANCELLED, OrderStatus.REFUNDED}
    ),
    OrderStatus.PAID: frozenset({OrderStatus.PACKING, OrderStatus.CANCELLED}) | _REFUNDED,
    OrderStatus.PACKING: frozenset({OrderStatus.SHIPPED}) | _REFUNDED,
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}) | _REFUNDED,
    OrderStatus.DELIVERED: _REFUNDED,
    OrderStatus.PARTIALLY_REFUNDED: _REFUNDED,
    # A payment that failed only because the gateway was unavailable is retried by the same
    # Idempotency-Key with the same provider key, so a charge that did go through is found again.
    # `refunded`: the sweeper failed an abandoned checkout whose charge then arrived late.
    OrderStatus.FAILED: frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}


class PaymentCheck(models.TextChoices):
    """The sweeper's check with the provider of an order that failed for `payment_unavailable`: did
    the charge land after all? While it is `checking`, a retry of the checkout's key waits; after
    `checked` (no charge: the order stays failed; a charge: it was refunded) it is not asked again.
    """

    NOT_CHECKED = "", "Not checked"
    CHECKING = "checking", "Checking with the provider"
    CHECKED = "checked", "Checked with the provider"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


INVOICE_SERIES = {InvoiceKind.INVOICE: "INV", InvoiceKind.CREDIT_NOTE: "CN"}


class PaymentStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    REFUNDED = "refunded", "Refunded"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class RecoveryPoint(models.TextChoices):
    STARTED = "started", "Started"
    ORDER_CREATED = "order_created", "Order created"
    # No longer written (the charge is found again under the order's provider key); kept for the
    # records earlier releases wrote.
    CHARGED = "charged", "Charged"
    FINISHED = "finished", "Finished"
