"""Checkout: a cart becomes a paid order exactly once, whatever is retried or crashes.

`order_place` runs three phases and never holds a transaction or row lock across the payment call:

1. reserve (transaction): claim a new Idempotency-Key and the cart, price it now, reserve its
   stock for the payment window, create the order `pending_payment` with price snapshots and the
   provider idempotency key.
2. charge (no transaction): the payment gateway, retried on transient errors with the same key.
3. complete (transaction): commit the stock, record the payment, mark the order paid and the cart
   checked out, publish `order_paid`, issue the invoice.

Every phase is resumable from the idempotency record's recovery point, and the gateway is
idempotent on the order's provider key, so a retry, a crash or the sweeper never charges twice.
A charge whose order did not commit as paid is refunded (`_compensate`); what runs after the
paid commit can never undo it. The outcome is the paid order or a domain error; what a front end
answers with is its own (`orders.services.execution`).
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone

from carts.errors import CartEmpty, CartNotFound
from carts.pricing import CheckoutQuote, checkout_quote, money
from carts.selectors import delivery_rates
from carts.services import (
    cart_mark_checked_out,
    cart_open_locked_for_checkout,
    cart_reserve_locked,
)
from inventory.models import InventoryReservation
from inventory.services import reservation_commit, reservation_release
from orders.enums import (
    ORDER_TRANSITIONS,
    OrderStatus,
    PaymentCheck,
    PaymentStatus,
    RecoveryPoint,
)
from orders.errors import (
    CheckoutFailed,
    CheckoutInProgress,
    PaymentDeclined,
    PaymentUnavailable,
    PriceChanged,
    ProductUnavailable,
)
from orders.gateways import (
    GatewayCharge,
    GatewayDeclined,
    GatewayError,
    GatewayTransientError,
    find_charge_within_deadline,
    payment_gateway,
    validated_charge,
    validated_refund,
    with_retries,
)
from orders.idempotency import (
    idempotency_claim_rolled_back,
    idempotency_link_order,
    idempotency_progress,
)
from orders.metrics import checkout_outcome_counted
from orders.models import IdempotencyKey, Order, OrderLine, Payment, Refund
from orders.services.invoices import invoice_issue
from yourlocalshop.db import prefetched
from yourlocalshop.outbox import outbox_publish
from yourlocalshop.state_machine import illegal_transition, transition, transition_rows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckoutRequest:
    guest_cart_id: uuid.UUID | None  # the cookie's, paid for when the user has no open cart
    user_id: int | None
    email: str
    shipping_address: dict
    payment_token: str
    expected_total: Decimal | None = None


@checkout_outcome_counted
def order_place(*, record: IdempotencyKey, request: CheckoutRequest) -> Order:
    """Place (or resume placing) the order of `record`'s execution; returns it paid.

    Guarantees: at most one order and one charge per idempotency record; stock leaves `on_hand`
    only for a paid order; a decline or an unavailable gateway fails the order and releases its
    stock with the cart left as it was; a captured charge whose order cannot complete is refunded.
    Raises the domain error to answer with (`CartEmpty`, `InsufficientStock`, `PriceChanged`,
    `PaymentDeclined`, `PaymentUnavailable`, `CheckoutFailed`, ...).
    """
    try:
        order, reserved = _phase_1_reserve(record=record, request=request)
    except _OrderRefused as refused:
        # The database keeps one checkout per cart paying at a time, whatever the
        # Idempotency-Key (both would share the cart's one reservation).
        pending = Order.objects.filter(cart_id=refused.cart_id, status=OrderStatus.PENDING_PAYMENT)
        if pending.exists():
            raise CheckoutInProgress() from None
        raise refused.__cause__ from None
    if order.status == OrderStatus.REFUNDED and not order.paid_at:
        raise CheckoutFailed(  # compensated by an earlier execution that died before answering
            "The order could not be completed and the payment was refunded.",
            orderId=str(order.pk),
            cause=order.failure_code,
        )
    if order.status != OrderStatus.PENDING_PAYMENT:
        return order  # completed earlier (by a previous execution or the sweeper)
    # No recovery point is written between the charge and phase 3: a retry or the sweeper finds
    # the charge again under the order's provider key (the Payment row of phase 3 keeps its id).
    charge = _phase_2_charge(order=order, payment_token=request.payment_token)
    return _complete_or_compensate(order=order, charge=charge, reserved=reserved)


# --- Phase 1 ------------------------------------------------------------------------------------


def _phase_1_reserve(
    *, record: IdempotencyKey, request: CheckoutRequest
) -> tuple[Order, InventoryReservation | None]:
    """The order to charge, and the reservation made for it by this call (None when the order
    was made earlier: phase 3 then reads its reservation's lines back)."""
    new_key = record._state.adding
    try:
        return _phase_1_transaction(record=record, request=request)
    except BaseException:
        if new_key:
            idempotency_claim_rolled_back(record)
        raise


@transaction.atomic
def _phase_1_transaction(
    *, record: IdempotencyKey, request: CheckoutRequest
) -> tuple[Order, InventoryReservation | None]:
    # The common case, a new key or a record without an order, is one statement (the key's
    # insert, or a conditional update) that links it to the order this transaction creates and
    # locks it, as the locking read below does; only a record that has an order (resumed, or
    # given one meanwhile by another execution) is read.
    new_order_id = uuid.uuid4()
    linked = record.order_id is None and idempotency_link_order(
        record=record, order_id=new_order_id
    )
    existing = None
    if not linked:
        record = IdempotencyKey.objects.select_for_update().get(pk=record.pk)
        existing = (
            Order.objects.select_for_update().filter(pk=record.order_id).first()
            if record.order_id
            else None
        )
    if existing is not None and existing.status == OrderStatus.PENDING_PAYMENT:
        return existing, None  # crashed after phase 1: resume, same order and provider key
    if existing is not None and existing.status != OrderStatus.FAILED:
        return existing, None  # already paid (or further)
    if existing is not None and existing.payment_check == PaymentCheck.CHECKING:
        raise PaymentUnavailable(
            "This payment is being reconciled with the provider; retry shortly."
        )

    # The cart and its items are read once, under the cart's row lock, and both pricing and the
    # reservation work from that one read.
    cart = cart_open_locked_for_checkout(
        user_id=request.user_id, guest_cart_id=request.guest_cart_id
    )
    if cart is None:
        raise CartEmpty() if existing is None else CartNotFound()
    quote = _quote_for_checkout(cart=cart, country=request.shipping_address.get("country"))
    if request.expected_total is not None and money(request.expected_total) != quote.total:
        raise PriceChanged(
            f"The total is now {quote.total} {quote.currency}.",
            expectedTotal=str(money(request.expected_total)),
            total=str(quote.total),
        )
    reservation = cart_reserve_locked(cart=cart, ttl_seconds=settings.RESERVATION_TTL_SECONDS)

    if existing is None:
        order = Order(
            id=new_order_id,
            user_id=request.user_id,
            email=request.email,
            shipping_address=request.shipping_address,
            cart_id=cart.pk,
            payment_idempotency_key=f"order-{uuid.uuid4()}",
        )
    else:
        # A payment that only failed because the gateway was down: same order, same provider
        # key (so a charge that did reach the provider is found again), today's cart.
        order = existing
        transition(order, to=OrderStatus.PENDING_PAYMENT, allowed=ORDER_TRANSITIONS)
        order.failure_code = ""
        order.payment_check = PaymentCheck.NOT_CHECKED
        order.lines.all().delete()
    order.reservation_id = reservation.id
    order.currency = quote.currency
    order.subtotal, order.shipping = quote.subtotal, quote.shipping
    order.tax, order.total = quote.tax, quote.total
    try:
        order.save()
    except IntegrityError as error:
        raise _OrderRefused(cart_id=cart.pk) from error
    lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=line.product,
            sku=line.product.sku,
            name=line.product.name,
            quantity=line.quantity,
            unit_price=line.current_price,
            line_total=line.line_total,
            tax=line.tax,
        )
        for line in sorted(quote.lines, key=lambda line: line.product.pk)
    )
    prefetched(order, "lines", lines)  # phase 3 (invoice, response) reads them back from here
    if not linked:
        idempotency_progress(record=record, point=RecoveryPoint.ORDER_CREATED, order=order)
    return order, reservation


class _OrderRefused(Exception):
    """Phase 1's order row refused by a constraint (its transaction is rolled back)."""

    def __init__(self, *, cart_id: uuid.UUID):
        super().__init__(cart_id)
        self.cart_id = cart_id


def _quote_for_checkout(*, cart, country: str) -> CheckoutQuote:
    """The cart's quote for delivery to `country` (`carts.pricing.checkout_quote`, from the items
    read under the cart's lock), refused when there is nothing to sell, a product is no longer
    sold or the shop does not deliver there (`DeliveryNotAvailable`)."""
    quote = checkout_quote(items=cart.items.all(), delivery_rates=delivery_rates(), country=country)
    if not quote.lines:
        raise CartEmpty()
    for line in quote.lines:
        if not line.product.is_active:
            raise ProductUnavailable(
                f"{line.product.name} is no longer sold.", sku=line.product.sku
            )
    return quote


# --- Phase 2 ------------------------------------------------------------------------------------


def _phase_2_charge(*, order: Order, payment_token: str) -> GatewayCharge:
    gateway = payment_gateway()
    try:
        charge = with_retries(
            lambda timeout: gateway.charge(
                amount=order.total,
                currency=order.currency,
                token=payment_token,
                idempotency_key=order.payment_idempotency_key,
                timeout=timeout,
            )
        )
        return validated_charge(charge, amount=order.total, currency=order.currency)
    except GatewayDeclined as declined:
        _payment_failed(order=order, code=PaymentDeclined.code)
        raise PaymentDeclined(
            "Your card was declined; nothing was charged. Try another card.",
            orderId=str(order.pk),
            reason=declined.reason,
        ) from declined
    except GatewayError as error:
        if not isinstance(error, GatewayTransientError):
            logger.error("Untrusted gateway answer", extra={"order_id": str(order.pk)})
        _payment_failed(order=order, code=PaymentUnavailable.code)
        raise PaymentUnavailable(orderId=str(order.pk)) from error


@transaction.atomic
def _payment_failed(*, order: Order, code: str) -> None:
    """Fail the order and give its stock back; the cart stays as it was for another try."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != OrderStatus.PENDING_PAYMENT:
        return
    transition(locked, to=OrderStatus.FAILED, allowed=ORDER_TRANSITIONS)
    locked.failure_code = code
    locked.save(update_fields=["status", "status_changed_at", "failure_code", "updated_at"])
    if locked.reservation_id:
        reservation_release(reservation_id=locked.reservation_id)
    order.status = locked.status


# --- Phase 3 ------------------------------------------------------------------------------------


@transaction.atomic
def _phase_3_complete(
    *, order: Order, charge: GatewayCharge, reserved: InventoryReservation | None
) -> Order:
    if not _mark_paid(order):
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status == OrderStatus.PAID:
            return order  # paid earlier
        # The sweeper failed this order meanwhile: the charge is refunded.
        raise illegal_transition(Order, current=order.status, to=OrderStatus.PAID)
    reservation_commit(reservation_id=order.reservation_id, reserved=reserved)
    # Read by the invoice and by whoever shows the paid order; nothing to read when phase 1 of
    # this execution wrote them.
    prefetch_related_objects([order], "lines")
    Payment.objects.create(
        order=order,
        provider_charge_id=charge.charge_id,
        amount=charge.amount,
        currency=charge.currency,
    )
    if order.cart_id:
        cart_mark_checked_out(cart_id=order.cart_id)
    outbox_publish(
        event_type="order_paid",
        aggregate_id=str(order.pk),
        payload={"orderId": str(order.pk), "orderNumber": order.number, "total": str(order.total)},
    )
    # Last, because the invoice counter row stays locked until this transaction commits. The
    # order's one invoice is kept as its prefetched invoices, like its lines: whoever shows the
    # paid order reads neither again.
    prefetched(order, "invoices", [invoice_issue(order=order, first=True)])
    return order


def _mark_paid(order: Order) -> bool:
    """Move the pending order to paid by one conditional update, which also takes its row lock;
    False (nothing changed) when it is no longer pending. The order in hand is then current:
    only a move away from `pending_payment` changes an order while it is paid for."""
    paid_at = timezone.now()
    moved = transition_rows(
        Order.objects.filter(pk=order.pk),
        to=OrderStatus.PAID,
        allowed={OrderStatus.PENDING_PAYMENT: ORDER_TRANSITIONS[OrderStatus.PENDING_PAYMENT]},
        timestamp_field=None,
        status_changed_at=paid_at,
        paid_at=paid_at,
        updated_at=paid_at,
    )
    if moved:
        order.status, order.status_changed_at = OrderStatus.PAID, paid_at
        order.paid_at = order.updated_at = paid_at
    return bool(moved)


# --- Compensation and the sweeper ---------------------------------------------------------------


def _complete_or_compensate(
    *, order: Order, charge: GatewayCharge, reserved: InventoryReservation | None = None
) -> Order:
    """Phase 3; if it fails, refund the charge only when the database says the order did not
    commit as paid.

    An error can come after the commit (an `on_commit` hook, the connection lost while Django
    confirms the commit): the paid order stands then, and the charge is never refunded. When the
    order's state cannot be read, nothing is decided here; the error propagates and a retry with
    the same key, or the sweeper, settles the order from its committed state.
    """
    try:
        return _phase_3_complete(order=order, charge=charge, reserved=reserved)
    except Exception as error:
        paid = Order.objects.filter(pk=order.pk, paid_at__isnull=False).first()
        if paid is not None:
            logger.exception(
                "An after-commit step of a paid checkout failed; the order stands",
                extra={"order_id": str(order.pk)},
            )
            return paid
        _compensate(order=order, charge=charge, cause=error)
        raise CheckoutFailed(
            "The payment was taken but the order could not be completed, so it was refunded "
            "in full. Nothing else changed; you can try again.",
            orderId=str(order.pk),
            cause=getattr(error, "code", "server_error"),
        ) from error


def _compensate(*, order: Order, charge: GatewayCharge, cause: BaseException) -> None:
    """Refund a captured charge whose order could not be completed, and give the stock back.

    Idempotent (the refund's provider key derives from the order's). If the refund itself cannot
    be made now, `PaymentUnavailable` leaves the key unlocked: a retry or the sweeper repeats it.
    """
    logger.error(
        "Checkout failed after the charge; refunding",
        extra={"order_id": str(order.pk), "cause": repr(cause)},
    )
    refund_key = f"{order.payment_idempotency_key}:compensation"
    try:
        refund = with_retries(
            lambda timeout: payment_gateway().refund(
                charge_id=charge.charge_id,
                amount=charge.amount,
                idempotency_key=refund_key,
                timeout=timeout,
            )
        )
        refund = validated_refund(refund, charge_id=charge.charge_id, amount=charge.amount)
    except GatewayError as error:
        raise PaymentUnavailable(
            "The payment provider is unavailable; your payment will be refunded shortly.",
            orderId=str(order.pk),
        ) from error
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        payment, _ = Payment.objects.get_or_create(
            provider_charge_id=charge.charge_id,
            defaults={"order": locked, "amount": charge.amount, "currency": charge.currency},
        )
        Refund.objects.get_or_create(
            idempotency_key=refund_key,
            defaults={
                "order": locked,
                "payment": payment,
                "provider_refund_id": refund.refund_id,
                "amount": refund.amount,
                "reason": "checkout could not be completed",
            },
        )
        payment.refunded_amount = payment.amount
        payment.status = PaymentStatus.REFUNDED
        payment.save(update_fields=["refunded_amount", "status"])
        if locked.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.FAILED):
            transition(locked, to=OrderStatus.REFUNDED, allowed=ORDER_TRANSITIONS)
            locked.failure_code = getattr(cause, "code", "server_error")
            locked.save()
        if locked.reservation_id:
            reservation_release(reservation_id=locked.reservation_id)


def checkout_settle_abandoned(*, order_id: uuid.UUID) -> str:
    """Settle a checkout nobody is finishing. Idempotent; returns the order's status.

    - `pending_payment` (the process died after phase 1): complete it if the provider holds a
      charge for it, else fail it and release its stock;
    - `failed` for `payment_unavailable`: the gateway's silence may have hidden a capture, so a
      charge found under the order's provider key is refunded.
    """
    order = Order.objects.filter(pk=order_id).first()
    if order is not None and order.status == OrderStatus.FAILED:
        return _settle_unavailable(order=order)
    if order is None or order.status != OrderStatus.PENDING_PAYMENT:
        return order.status if order else ""
    charge = find_charge_within_deadline(idempotency_key=order.payment_idempotency_key)
    if charge is None:
        _payment_failed(order=order, code="checkout_abandoned")
        return OrderStatus.FAILED
    charge = validated_charge(charge, amount=order.total, currency=order.currency)
    try:
        return _complete_or_compensate(order=order, charge=charge).status
    except CheckoutFailed:
        return OrderStatus.REFUNDED


def _settle_unavailable(*, order: Order) -> str:
    # Claimed by a conditional update (it takes the row lock phase 1 also takes), so a same-key
    # retry cannot resume the order while the provider is asked, nor the other way round.
    claimed = Order.objects.filter(
        pk=order.pk,
        status=OrderStatus.FAILED,
        failure_code=PaymentUnavailable.code,
        payment_check__in=[PaymentCheck.NOT_CHECKED, PaymentCheck.CHECKING],
    ).update(payment_check=PaymentCheck.CHECKING, updated_at=timezone.now())
    if not claimed:
        return order.status
    try:
        charge = find_charge_within_deadline(idempotency_key=order.payment_idempotency_key)
    except GatewayError:
        Order.objects.filter(pk=order.pk).update(payment_check=PaymentCheck.NOT_CHECKED)
        return OrderStatus.FAILED
    if charge is None:
        Order.objects.filter(pk=order.pk).update(payment_check=PaymentCheck.CHECKED)
        return OrderStatus.FAILED
    _compensate(order=order, charge=charge, cause=PaymentUnavailable())
    Order.objects.filter(pk=order.pk).update(payment_check=PaymentCheck.CHECKED)
    return OrderStatus.REFUNDED


def checkouts_abandoned(*, older_than_seconds: int | None = None) -> list[uuid.UUID]:
    """Orders nobody is finishing: `pending_payment` well after any live execution would have
    ended, or failed for `payment_unavailable` and not yet checked with the provider (within the
    idempotency keys' lifetime, after which no retry can resume them)."""
    age = older_than_seconds or 2 * settings.IDEMPOTENCY_LOCK_SECONDS
    now = timezone.now()
    cutoff = now - timedelta(seconds=age)
    pending = Q(status=OrderStatus.PENDING_PAYMENT)
    unavailable = Q(
        status=OrderStatus.FAILED,
        failure_code=PaymentUnavailable.code,
        payment_check__in=[PaymentCheck.NOT_CHECKED, PaymentCheck.CHECKING],
        created_at__gt=now - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS),
    )
    return list(
        Order.objects.filter(pending | unavailable, updated_at__lt=cutoff)
        .exclude(idempotency_keys__locked_at__gt=cutoff)
        .values_list("pk", flat=True)[:200]
    )
