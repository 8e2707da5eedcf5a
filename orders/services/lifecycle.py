"""What happens to a paid order afterwards: fulfilment's status moves and refunds."""

from decimal import Decimal

from django.db import transaction

from carts.pricing import money
from orders.enums import ORDER_TRANSITIONS, REFUNDABLE_ORDER_STATUSES, OrderStatus, PaymentStatus
from orders.errors import PaymentUnavailable, RefundNotAllowed
from orders.gateways import (
    GatewayDeclined,
    GatewayError,
    GatewayRefund,
    payment_gateway,
    validated_refund,
    with_retries,
)
from orders.models import Order, Payment, Refund
from yourlocalshop.state_machine import transition


def _order_move(*, order: Order, to: str) -> Order:
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status != to:
            transition(locked, to=to, allowed=ORDER_TRANSITIONS)
            locked.save(update_fields=["status", "status_changed_at", "updated_at"])
    order.status, order.status_changed_at = locked.status, locked.status_changed_at
    return locked


def order_mark_packing(*, order: Order) -> Order:
    """paid → packing. Atomic, locks the order; idempotent (already packing is a no-op);
    `IllegalTransition` from any other status."""
    return _order_move(order=order, to=OrderStatus.PACKING)


def order_mark_shipped(*, order: Order) -> Order:
    """packing → shipped. Atomic, locks the order; idempotent."""
    return _order_move(order=order, to=OrderStatus.SHIPPED)


def order_mark_delivered(*, order: Order) -> Order:
    """shipped → delivered. Atomic, locks the order; idempotent."""
    return _order_move(order=order, to=OrderStatus.DELIVERED)


def order_refund(*, order: Order, amount: Decimal, idempotency_key: str, reason: str) -> Refund:
    """Refund `amount` of a paid order through the payment gateway.

    Idempotent on `idempotency_key` (the same key returns the same `Refund`, the provider is called
    with it too). Never holds a lock across the gateway call: the amount is checked under the order
    lock before and again when recording, and the provider refuses more than was charged. The
    order becomes `refunded` when fully refunded, else `partially_refunded`.
    """
    amount = money(Decimal(amount))
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    payment = _refundable_payment(order=order, amount=amount)
    answer = _provider_refund(payment=payment, amount=amount, idempotency_key=idempotency_key)
    refund, locked = _refund_record(
        order=order,
        payment=payment,
        answer=answer,
        amount=amount,
        idempotency_key=idempotency_key,
        reason=reason,
    )
    order.status, order.refunded_amount = locked.status, locked.refunded_amount
    return refund


def _provider_refund(*, payment: Payment, amount: Decimal, idempotency_key: str) -> GatewayRefund:
    """The provider's refund (retried on transient errors, with the key), validated; a decline
    is `RefundNotAllowed`, any other gateway error `PaymentUnavailable`."""
    try:
        answer = with_retries(
            lambda timeout: payment_gateway().refund(
                charge_id=payment.provider_charge_id,
                amount=amount,
                idempotency_key=f"refund-{idempotency_key}",
                timeout=timeout,
            )
        )
        return validated_refund(answer, charge_id=payment.provider_charge_id, amount=amount)
    except GatewayDeclined as declined:
        raise RefundNotAllowed(f"The provider refused the refund ({declined.reason}).") from None
    except GatewayError as error:
        raise PaymentUnavailable(
            "The payment provider is unavailable; retry the refund."
        ) from error


@transaction.atomic
def _refund_record(
    *,
    order: Order,
    payment: Payment,
    answer: GatewayRefund,
    amount: Decimal,
    idempotency_key: str,
    reason: str,
) -> tuple[Refund, Order]:
    """Record the provider's refund once (idempotent on the key) and move the payment and the
    order on, under the order's lock. Returns the refund and the locked order."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    refund, created = Refund.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "order": locked,
            "payment": payment,
            "provider_refund_id": answer.refund_id,
            "amount": amount,
            "reason": reason[:255],
        },
    )
    if created:
        # Summed in Decimal under the lock, never as SQL arithmetic: SQLite adds decimals in
        # floating point (3.33 + 63.27 = 66.60000000000001, over the payment's amount).
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.refunded_amount += amount
        payment.status = (
            PaymentStatus.REFUNDED
            if payment.refunded_amount == payment.amount
            else PaymentStatus.PARTIALLY_REFUNDED
        )
        payment.save(update_fields=["refunded_amount", "status"])
        locked.refunded_amount += amount
        fully = locked.refunded_amount >= locked.total
        transition(
            locked,
            to=OrderStatus.REFUNDED if fully else OrderStatus.PARTIALLY_REFUNDED,
            allowed=ORDER_TRANSITIONS,
        )
        locked.save(update_fields=["status", "status_changed_at", "refunded_amount", "updated_at"])
    return refund, locked


def _refundable_payment(*, order: Order, amount: Decimal) -> Payment:
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status not in REFUNDABLE_ORDER_STATUSES:
            raise RefundNotAllowed(f"An order that is {locked.status} cannot be refunded.")
        if amount <= 0 or locked.refunded_amount + amount > locked.total:
            raise RefundNotAllowed(
                f"At most {locked.total - locked.refunded_amount} can still be refunded.",
                refundable=str(locked.total - locked.refunded_amount),
            )
        payment = locked.payments.order_by("created_at").first()
        if payment is None:
            raise RefundNotAllowed("This order has no captured payment.")
        return payment
