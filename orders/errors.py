"""Checkout, payment, idempotency and invoice errors, each with a stable problem-details code."""

from yourlocalshop.errors import DomainError, NotFound


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    status = 400
    title = "An Idempotency-Key header (1 to 255 printable characters) is required."


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = "This Idempotency-Key was already used with a different request."


class IdempotencyRequestInProgress(DomainError):
    """Raised with `retry_after`: the seconds left on the running execution's lease."""

    code = "idempotency_request_in_progress"
    status = 409
    title = "A request with this Idempotency-Key is still being processed; retry shortly."


class CheckoutInProgress(DomainError):
    """Another checkout of the same cart (under a different Idempotency-Key) is still running."""

    code = "checkout_in_progress"
    status = 409
    title = "This cart is already being checked out."
    retry_after = 5


class ProductUnavailable(DomainError):
    code = "product_unavailable"
    status = 409
    title = "A product in the cart is no longer sold."


class PriceChanged(DomainError):
    code = "price_changed"
    status = 409
    title = "The total changed since you last saw it."


class PaymentDeclined(DomainError):
    code = "payment_declined"
    status = 402
    title = "The payment was declined."


class PaymentUnavailable(DomainError):
    code = "payment_unavailable"
    status = 503
    title = "The payment provider is unavailable; nothing was charged. Please retry."
    retry_after = 10


class CheckoutFailed(DomainError):
    """The charge was captured but the order could not be completed, so it was refunded."""

    code = "checkout_failed_refunded"
    status = 409
    title = "The order could not be completed; the payment was refunded."


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "No such order."


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    title = "No such invoice."


class RefundNotAllowed(DomainError):
    code = "refund_not_allowed"
    status = 409
    title = "This refund is not possible."


class CreditNoteInvalid(DomainError):
    code = "credit_note_invalid"
    status = 422
    title = "The credit note does not match its invoice."
