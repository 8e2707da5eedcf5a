"""Reads of returns, and the order lookups that prove who may return what."""

from uuid import UUID

from django.db.models import Prefetch, QuerySet

from orders import selectors as orders_selectors
from orders.errors import OrderNotFound
from orders.models import Order
from returns.enums import ReturnStatus
from returns.errors import ReturnNotFound
from returns.models import ReturnLine, ReturnRequest


def _returns_with_lines() -> QuerySet[ReturnRequest]:
    return ReturnRequest.objects.select_related("order", "credit_note").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line"))
    )


def returns_for_user(*, user) -> QuerySet[ReturnRequest]:
    """The returns of a signed-in customer's orders, newest first."""
    return _returns_with_lines().filter(order__user=user).order_by("-created_at", "pk")


def returns_for_order(*, order: Order) -> QuerySet[ReturnRequest]:
    return _returns_with_lines().filter(order=order).order_by("-created_at", "pk")


def return_get_for_user(*, return_id: UUID, user) -> ReturnRequest:
    """A return of the customer's own order; anyone else's looks exactly like a missing one."""
    return_request = returns_for_user(user=user).filter(pk=return_id).first()
    if return_request is None:
        raise ReturnNotFound()
    return return_request


def return_get_for_order(*, return_id: UUID, order: Order) -> ReturnRequest:
    return_request = returns_for_order(order=order).filter(pk=return_id).first()
    if return_request is None:
        raise ReturnNotFound()
    return return_request


def returns_for_staff(*, status: ReturnStatus | None = None) -> QuerySet[ReturnRequest]:
    """Every return, oldest first (the queue order), optionally of one status."""
    returns = _returns_with_lines().select_related("refund").order_by("created_at", "pk")
    if status:
        returns = returns.filter(status=status)
    return returns


def return_get_for_staff(*, return_id: UUID) -> ReturnRequest:
    return_request = returns_for_staff().filter(pk=return_id).first()
    if return_request is None:
        raise ReturnNotFound()
    return return_request


def order_get_for_user(*, order_id: UUID, user) -> Order:
    """The signed-in customer's own order; another customer's is indistinguishable from none
    (`orders.errors.OrderNotFound`, 404)."""
    order = orders_selectors.orders_for_user(user=user).filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_get_for_guest(*, number: str, email: str) -> Order:
    """The order with this number placed with this email: how guests prove it is theirs."""
    return orders_selectors.order_lookup(number=number, email=email)


def returns_waiting_counts() -> dict[str, int]:
    """Returns that wait for staff: to decide (`requested`) and whose refund failed (`received`
    with the failure recorded; the sweep retries them)."""
    return {
        "to_decide": ReturnRequest.objects.filter(status=ReturnStatus.REQUESTED).count(),
        "refund_failed": ReturnRequest.objects.filter(status=ReturnStatus.RECEIVED)
        .exclude(refund_failure="")
        .count(),
    }
