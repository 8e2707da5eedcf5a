"""Returns (RMA): request, approve/reject/cancel, receive, restock, refund and credit note.

The receive is three named phases so no transaction is held across the payment gateway:
1. transaction (order and return locked): record the goods' condition, fix the refund amount,
   restock or write off each line (idempotent per line reference), status `received`; commit.
2. the refund through `orders.services.order_refund` with a key derived from the return, so any
   retry (of the receive or of the refund) refunds once.
3. transaction: the credit note (idempotent on the return's reference) and status `refunded`.
A failure in phase 2 is recorded on the return for staff; `return_refund_retry` resumes there.
"""

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from carts.pricing import tax_split
from inventory.services import stock_return
from orders.documents import invoice_document_path
from orders.enums import RETURNABLE_ORDER_STATUSES, OrderStatus
from orders.models import Order
from orders.selectors import order_get_locked, order_invoice
from orders.services import (
    CreditNoteLineRequest,
    credit_note_issue,
    order_page_url,
    order_refund,
)
from returns.enums import (
    RETURN_ALLOWED_TRANSITIONS,
    RETURN_STATUSES_HOLDING_UNITS,
    RETURN_STATUSES_RECEIVED,
    ReturnLineCondition,
    ReturnReason,
    ReturnStatus,
)
from returns.errors import (
    OrderNotReturnable,
    ReturnLinesInvalid,
    ReturnQuantityExceeded,
    ReturnRefundFailed,
    ReturnWindowClosed,
    UnknownOrderLine,
)
from returns.models import ReturnLine, ReturnNumberSequence, ReturnRequest
from yourlocalshop.emails import absolute_url, customer_email_send
from yourlocalshop.errors import DomainError, IllegalTransition
from yourlocalshop.outbox import outbox_publish
from yourlocalshop.roles import group_ensure
from yourlocalshop.state_machine import transition

logger = logging.getLogger(__name__)

RETURN_STATUS_CHANGED = "return_status_changed"


@dataclass(frozen=True)
class ReturnLineRequest:
    sku: str
    quantity: int
    reason: str


# --- Request ----------------------------------------------------------------------------------


def return_request_create(
    *, order: Order, lines: Sequence[ReturnLineRequest], note: str = ""
) -> ReturnRequest:
    """Open a return for units of a shipped or delivered order, within the return window.

    Atomic. Locks the order row, so two concurrent requests for the same order are checked one
    after the other and can never together return more units than were bought. Raises
    `OrderNotReturnable`, `ReturnWindowClosed`, `UnknownOrderLine`, `ReturnQuantityExceeded`.
    """
    with transaction.atomic():
        order = order_get_locked(order_id=order.pk)
        if order.status not in RETURNABLE_ORDER_STATUSES:
            raise OrderNotReturnable(
                f"Order {order.number} is {order.get_status_display().lower()}; only shipped or "
                "delivered orders can be returned.",
                orderStatus=order.status,
            )
        window_starts_at = _return_window_start(order=order)
        returnable_until = window_starts_at + timedelta(days=settings.RETURN_WINDOW_DAYS)
        if timezone.now() > returnable_until:
            raise ReturnWindowClosed(
                f"Returns for order {order.number} were possible until "
                f"{returnable_until:%Y-%m-%d}.",
                returnableUntil=returnable_until.isoformat(),
            )
        order_lines = _order_lines_for_request(order=order, lines=lines)
        _check_returnable_quantities(order=order, order_lines=order_lines, lines=lines)

        return_request = ReturnRequest(
            rma_number=_next_rma_number(),
            order=order,
            note=note,
            window_starts_at=window_starts_at,
        )
        return_request.full_clean()
        return_request.save()
        ReturnLine.objects.bulk_create(
            ReturnLine(
                return_request=return_request,
                order_line=order_lines[line.sku],
                sku=line.sku,
                quantity=line.quantity,
                reason=line.reason,
            )
            for line in lines
        )
        _publish_status_changed(return_request)
    return return_request


def _return_window_start(*, order: Order) -> datetime:
    """When the goods reached the customer: the window's start.

    Orders record only the time of their latest status. While shipped or delivered that is the
    shipping or delivery time; once a refund moved the order on, the start recorded by an earlier
    return stands, else the payment time (earlier than shipping, so never a longer window).
    """
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        return order.status_changed_at
    earlier = (
        ReturnRequest.objects.filter(order=order)
        .order_by("window_starts_at")
        .values_list("window_starts_at", flat=True)
        .first()
    )
    return earlier or order.paid_at or order.created_at


def _order_lines_for_request(*, order: Order, lines: Sequence[ReturnLineRequest]) -> dict:
    skus = [line.sku for line in lines]
    if not skus:
        raise ReturnLinesInvalid("A return needs at least one line.")
    if len(set(skus)) != len(skus):
        raise ReturnLinesInvalid("Each SKU may appear once; add the quantities up instead.")
    if any(
        not isinstance(line.quantity, int)
        or line.quantity < 1
        or line.reason not in ReturnReason.values
        for line in lines
    ):
        raise ReturnLinesInvalid("Each line needs a positive quantity and a known reason.")
    order_lines = {line.sku: line for line in order.lines.filter(sku__in=skus)}
    unknown = [sku for sku in skus if sku not in order_lines]
    if unknown:
        raise UnknownOrderLine(
            f"Order {order.number} has no line for {', '.join(unknown)}.", skus=unknown
        )
    return order_lines


def _check_returnable_quantities(
    *, order: Order, order_lines: Mapping[str, object], lines: Sequence[ReturnLineRequest]
) -> None:
    held = _units_on_returns(order=order, statuses=RETURN_STATUSES_HOLDING_UNITS)
    exceeded = []
    for line in lines:
        order_line = order_lines[line.sku]
        returnable = order_line.quantity - held.get(order_line.pk, 0)
        if line.quantity > returnable:
            exceeded.append(
                {"sku": line.sku, "requested": line.quantity, "returnable": max(returnable, 0)}
            )
    if exceeded:
        raise ReturnQuantityExceeded(
            "More units than were bought, or than are not already returned or being returned: "
            + ", ".join(f"{entry['sku']} (at most {entry['returnable']})" for entry in exceeded)
            + ".",
            lines=exceeded,
        )


def _units_on_returns(
    *, order: Order, statuses: frozenset[str], exclude_return_id=None
) -> dict[int, int]:
    """Units per order line on this order's returns in `statuses`."""
    rows = ReturnLine.objects.filter(
        return_request__order=order, return_request__status__in=statuses
    )
    if exclude_return_id is not None:
        rows = rows.exclude(return_request_id=exclude_return_id)
    return dict(
        rows.values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )


def _next_rma_number() -> str:
    """`RMA-<year>-<6 digits>`, sequential per year; call inside a transaction (row lock)."""
    year = timezone.now().year
    ReturnNumberSequence.objects.get_or_create(year=year)
    sequence = ReturnNumberSequence.objects.select_for_update().get(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"RMA-{year}-{sequence.last_number:06d}"


# --- Staff decisions --------------------------------------------------------------------------


def return_approve(*, return_request: ReturnRequest, user) -> ReturnRequest:
    """requested → approved. Atomic; locks the return; raises `IllegalTransition` otherwise."""
    with transaction.atomic():
        return_request = _lock_return(return_id=return_request.pk)
        transition(return_request, to=ReturnStatus.APPROVED, allowed=RETURN_ALLOWED_TRANSITIONS)
        return_request.approved_at = return_request.status_changed_at
        return_request.decided_by = user
        return_request.save()
        _publish_status_changed(return_request)
    return return_request


def return_reject(*, return_request: ReturnRequest, user, reason: str) -> ReturnRequest:
    """requested → rejected with a reason the customer sees. Atomic; locks the return."""
    reason = reason.strip()
    if not reason:
        raise ReturnLinesInvalid("A rejection needs a reason the customer can read.")
    with transaction.atomic():
        return_request = _lock_return(return_id=return_request.pk)
        transition(return_request, to=ReturnStatus.REJECTED, allowed=RETURN_ALLOWED_TRANSITIONS)
        return_request.rejected_at = return_request.status_changed_at
        return_request.rejection_reason = reason
        return_request.decided_by = user
        return_request.save()
        _publish_status_changed(return_request)
    return return_request


def return_cancel(*, return_request: ReturnRequest, user) -> ReturnRequest:
    """approved → cancelled (the goods never came back); its units become returnable again."""
    with transaction.atomic():
        return_request = _lock_return(return_id=return_request.pk)
        transition(return_request, to=ReturnStatus.CANCELLED, allowed=RETURN_ALLOWED_TRANSITIONS)
        return_request.cancelled_at = return_request.status_changed_at
        return_request.save()
        _publish_status_changed(return_request)
    return return_request


def _lock_return(*, return_id) -> ReturnRequest:
    return ReturnRequest.objects.select_for_update().select_related("order").get(pk=return_id)


# --- Receive, restock, refund -----------------------------------------------------------------


def return_receive(
    *, return_request: ReturnRequest, conditions: Mapping[int, str], user
) -> ReturnRequest:
    """Record the returned goods, restock or write them off, refund them and issue a credit note.

    Idempotent: receiving again restocks nothing twice (one movement reference per line) and
    refunds nothing twice (one gateway key per return); a return already received only resumes
    its refund. Holds no transaction across the gateway. A failed refund leaves the return
    `received` with the failure recorded and raises `ReturnRefundFailed`.
    `conditions` maps every line's id to `resellable` or `damaged`.
    """
    return_request = _receive_goods(return_request=return_request, conditions=conditions, user=user)
    if return_request.status == ReturnStatus.REFUNDED:
        return return_request
    return _refund_and_credit(return_request=return_request)


def return_refund_retry(*, return_request: ReturnRequest) -> ReturnRequest:
    """Try the refund of a received return again; a refunded return is returned unchanged.

    Idempotent, same guarantees as `return_receive`; raises `ReturnRefundFailed` on failure.
    """
    return_request.refresh_from_db()
    if return_request.status == ReturnStatus.REFUNDED:
        return return_request
    if return_request.status != ReturnStatus.RECEIVED:
        raise IllegalTransition(
            f"Only a received return can be refunded; this one is {return_request.status}.",
            current=return_request.status,
            requested=ReturnStatus.REFUNDED,
        )
    return _refund_and_credit(return_request=return_request)


def _receive_goods(
    *, return_request: ReturnRequest, conditions: Mapping[int, str], user
) -> ReturnRequest:
    """Phase 1. Atomic; locks the order, then the return (the order first, as requests do)."""
    with transaction.atomic():
        order = order_get_locked(order_id=return_request.order_id)
        return_request = _lock_return(return_id=return_request.pk)
        if return_request.status in RETURN_STATUSES_RECEIVED:
            return return_request
        transition(return_request, to=ReturnStatus.RECEIVED, allowed=RETURN_ALLOWED_TRANSITIONS)
        lines = list(return_request.lines.select_related("order_line__product"))
        _check_conditions(lines=lines, conditions=conditions)
        return_request.received_at = return_request.status_changed_at
        return_request.received_by = user
        _price_return(order=order, return_request=return_request, lines=lines)
        for line in lines:
            line.condition = conditions[line.pk]
        ReturnLine.objects.bulk_update(lines, ["condition", "refund_amount"])
        return_request.save()
        for line in lines:
            stock_return(
                product=line.order_line.product,
                quantity=line.quantity,
                resellable=line.condition == ReturnLineCondition.RESELLABLE,
                reference=f"{return_request.rma_number}:line:{line.pk}",
                user=user,
            )
    return return_request


def _check_conditions(*, lines: Sequence[ReturnLine], conditions: Mapping[int, str]) -> None:
    expected = {line.pk for line in lines}
    given = set(conditions)
    if given != expected:
        raise ReturnLinesInvalid(
            "Give the condition of every line of the return, and only of its lines.",
            missingLineIds=sorted(expected - given),
            unknownLineIds=sorted(given - expected),
        )
    invalid = sorted(
        line_id for line_id, value in conditions.items() if value not in ReturnLineCondition.values
    )
    if invalid:
        raise ReturnLinesInvalid(
            "A condition is `resellable` or `damaged`.", invalidLineIds=invalid
        )


def _price_return(*, order: Order, return_request: ReturnRequest, lines: list[ReturnLine]) -> None:
    """Fix each line's refund at what was paid for its units, and the shipping refund.

    Units are priced as the invoice priced them (`tax_split` of unit price x quantity), so the
    credit note issued for the same units totals exactly the lines' refund.
    """
    for line in lines:
        line.refund_amount = tax_split(line.order_line.unit_price * line.quantity).gross

    already = _units_on_returns(
        order=order, statuses=RETURN_STATUSES_RECEIVED, exclude_return_id=return_request.pk
    )
    units_bought = sum(order.lines.values_list("quantity", flat=True))
    units_back = sum(already.values()) + sum(line.quantity for line in lines)
    completes_order = units_back == units_bought
    return_request.shipping_refund = (
        order.shipping
        if completes_order and settings.RETURN_REFUND_SHIPPING_ON_FULL_RETURN
        else Decimal("0.00")
    )
    return_request.refund_amount = (
        sum((line.refund_amount for line in lines), Decimal("0.00"))
        + return_request.shipping_refund
    )


def return_refund_quote(*, return_request: ReturnRequest) -> Decimal:
    """What receiving this return would refund now (its lines, and shipping when it completes the
    order), priced by the same rule as `return_receive`. Writes nothing."""
    lines = list(return_request.lines.select_related("order_line"))
    priced = copy.copy(return_request)  # the caller's instance keeps its recorded amounts
    _price_return(order=return_request.order, return_request=priced, lines=lines)
    return priced.refund_amount


def _return_reference(return_request: ReturnRequest) -> str:
    """Names the return to orders: the refund's idempotency key and the credit note's reference."""
    return f"return:{return_request.pk}"


def _refund_and_credit(*, return_request: ReturnRequest) -> ReturnRequest:
    """Phase 2 (gateway, no transaction held) then phase 3 (credit note and status)."""
    refund = None
    if return_request.refund_amount > 0:
        refund = _refund_through_gateway(return_request=return_request)
    with transaction.atomic():
        return_request = _lock_return(return_id=return_request.pk)
        if return_request.status == ReturnStatus.REFUNDED:
            return return_request
        if refund is not None:
            return_request.refund = refund
            return_request.credit_note = _issue_credit_note(return_request=return_request)
        transition(return_request, to=ReturnStatus.REFUNDED, allowed=RETURN_ALLOWED_TRANSITIONS)
        return_request.refunded_at = return_request.status_changed_at
        return_request.refund_failure = ""
        return_request.save()
        _publish_status_changed(return_request)
    return return_request


def return_refunds_resume(*, older_than: timedelta) -> list[str]:
    """Finish the refunds of returns left `received` without a recorded failure (the process
    stopped between receipt and refund). Failed refunds wait for staff: a decline repeats.

    Idempotent like `return_refund_retry`. Returns the RMA numbers now refunded.
    """
    cutoff = timezone.now() - older_than
    refunded = []
    stalled = ReturnRequest.objects.filter(
        status=ReturnStatus.RECEIVED, refund_failure="", received_at__lte=cutoff
    ).order_by("received_at")
    for return_request in stalled:
        try:
            refunded.append(return_refund_retry(return_request=return_request).rma_number)
        except ReturnRefundFailed:
            continue  # recorded on the return for staff
    return refunded


def _refund_through_gateway(*, return_request: ReturnRequest):
    order = return_request.order
    ReturnRequest.objects.filter(pk=return_request.pk).update(
        refund_attempts=F("refund_attempts") + 1, refund_attempted_at=timezone.now()
    )
    try:
        return order_refund(
            order=order,
            amount=return_request.refund_amount,
            idempotency_key=_return_reference(return_request),
            reason=f"Return {return_request.rma_number}",
        )
    except Exception as exc:
        if isinstance(exc, DomainError):
            failure = f"{exc.code}: {exc.detail}"
        else:
            logger.exception(
                "Refund of a return failed unexpectedly",
                extra={"return_id": str(return_request.pk), "order_id": str(order.pk)},
            )
            failure = f"unexpected error: {exc!r}"
        ReturnRequest.objects.filter(pk=return_request.pk, status=ReturnStatus.RECEIVED).update(
            refund_failure=failure[:2000]
        )
        return_request.refresh_from_db()
        if return_request.status == ReturnStatus.REFUNDED:
            # A concurrent attempt with the same key won the race and finished the return.
            return return_request.refund
        raise ReturnRefundFailed(
            f"The goods of {return_request.rma_number} are received but the refund failed "
            f"({failure}). Retry the refund.",
            rmaId=str(return_request.pk),
            refundFailure=return_request.refund_failure,
            refundAttempts=return_request.refund_attempts,
        ) from exc


def _issue_credit_note(*, return_request: ReturnRequest):
    """The credit note of the returned units and of any delivery refunded with them, against
    the order's invoice; idempotent on the return."""
    return credit_note_issue(
        invoice=order_invoice(order=return_request.order),
        lines=[
            CreditNoteLineRequest(sku=line.sku, quantity=line.quantity)
            for line in return_request.lines.all()
        ],
        reference=_return_reference(return_request),
        shipping=return_request.shipping_refund,
    )


# --- Notification -----------------------------------------------------------------------------


def _publish_status_changed(return_request: ReturnRequest) -> None:
    """Queue the customer's email with the change (not for `received`: the refund follows)."""
    outbox_publish(
        event_type=RETURN_STATUS_CHANGED,
        payload={"returnId": str(return_request.pk), "status": return_request.status},
        aggregate_id=str(return_request.pk),
    )


def return_notify_customer(*, return_id: str, status: str) -> bool:
    """Email the customer that their return reached `status`; returns whether one was sent.

    Runs as an outbox consumer, which delivers each event to it once; an event overtaken by a
    later status (its own event follows) sends nothing, so the customer never reads a stale one.
    """
    return_request = (
        ReturnRequest.objects.select_related("order", "credit_note").filter(pk=return_id).first()
    )
    if return_request is None or return_request.status != status:
        return False
    order = return_request.order
    credit_note = return_request.credit_note
    customer_email_send(
        template="returns/email/status_changed",
        context={
            "return_request": return_request,
            "order": order,
            "lines": list(return_request.lines.select_related("order_line")),
            "return_address": settings.SHOP_RETURN_ADDRESS,
            "order_url": order_page_url(order),
            "credit_note_url": (
                absolute_url(invoice_document_path(credit_note)) if credit_note else ""
            ),
        },
        to=order.email,
        message_key=f"return-{return_request.pk}-{status}",
    )
    return True


# --- Staff ------------------------------------------------------------------------------------

RETURNS_STAFF_GROUP = "Returns staff"
RETURNS_STAFF_PERMISSIONS = (
    ("returns", "view_returnrequest"),
    ("returns", "change_returnrequest"),
    ("returns", "process_returnrequest"),
    ("returns", "view_returnline"),
)


def returns_staff_group_ensure() -> Group:
    """The `Returns staff` group with its permissions; idempotent (run after every migrate)."""
    return group_ensure(RETURNS_STAFF_GROUP, permissions=RETURNS_STAFF_PERMISSIONS)
