"""Order reads. Who may see which order is decided here, once."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core import signing
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils.crypto import constant_time_compare

from carts.pricing import money
from orders.enums import InvoiceKind, OrderStatus
from orders.errors import InvoiceNotFound, OrderNotFound
from orders.models import Invoice, Order, OrderLine, Refund


def _orders_with_details() -> QuerySet[Order]:
    return Order.objects.prefetch_related(
        "lines",
        Prefetch(
            "invoices",
            queryset=Invoice.objects.filter(kind=InvoiceKind.INVOICE),
            to_attr="sales_invoices",
        ),
        Prefetch(
            "invoices",
            queryset=Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).order_by("issued_at"),
            to_attr="credit_notes",
        ),
    )


def order_get_locked(*, order_id) -> Order:
    """The order, its row locked until the caller's transaction ends; raises `OrderNotFound`.
    Later apps (fulfilment, returns) lock an order through this, never on orders' model."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound(f"Order {order_id} does not exist.")
    return order


def orders_for_user(*, user) -> QuerySet[Order]:
    """The customer's orders, newest first, lines and invoice prefetched."""
    return _orders_with_details().filter(user=user).order_by("-created_at", "id")


def orders_placed_by_user(*, user) -> QuerySet[Order]:
    """`orders_for_user` without the checkouts whose payment failed (nothing was charged):
    what "My orders" lists."""
    return orders_for_user(user=user).exclude(status=OrderStatus.FAILED)


def payment_failures_for_user(*, user, limit: int = 10) -> list[Order]:
    """The customer's latest checkouts whose payment failed, newest first."""
    return list(
        Order.objects.filter(user=user, status=OrderStatus.FAILED).order_by("-created_at")[:limit]
    )


def _may_view(*, order: Order, user, guest_cart_id: uuid.UUID | None) -> bool:
    if user is not None and user.is_authenticated and (user.is_staff or order.user_id == user.pk):
        return True
    return order.user_id is None and guest_cart_id is not None and order.cart_id == guest_cart_id


def order_get_for_viewer(
    *, order_id, user, guest_cart_id: uuid.UUID | None = None, with_details: bool = True
) -> Order:
    """The order if the viewer owns it (account, or the guest cart it was placed from) or is
    staff; `OrderNotFound` otherwise, so nobody learns that someone else's order exists. Its
    lines, invoice and credit notes come prefetched unless `with_details` is False."""
    orders = _orders_with_details() if with_details else Order.objects.all()
    order = orders.filter(pk=order_id).first()
    if order is None or not _may_view(order=order, user=user, guest_cart_id=guest_cart_id):
        raise OrderNotFound()
    return order


def order_lookup(*, number: str, email: str) -> Order:
    """A guest's order by its number and the email it was placed with (case-insensitive)."""
    order = _orders_with_details().filter(number=number.strip().upper()).first()
    if order is None or order.email.lower() != email.strip().lower():
        raise OrderNotFound()
    return order


_DOCUMENT_LINK_SIGNER = signing.Signer(salt="orders.document-link")


def invoice_link_key(*, invoice_id: int) -> str:
    """The key that opens one invoice or credit note without signing in: the links in customer
    emails carry it (a guest reading the email on another device has no cart cookie)."""
    return _DOCUMENT_LINK_SIGNER.signature(str(invoice_id))


def invoice_get_for_viewer(
    *, invoice_id: int, user, guest_cart_id=None, link_key: str | None = None
) -> Invoice:
    """The invoice if its order is the viewer's (as `order_get_for_viewer`) or `link_key` is its
    key (`invoice_link_key`); `InvoiceNotFound` otherwise."""
    invoice = (
        Invoice.objects.select_related("order", "credited_invoice")
        .prefetch_related("lines")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise InvoiceNotFound()
    if link_key and constant_time_compare(link_key, invoice_link_key(invoice_id=invoice.pk)):
        return invoice
    if not _may_view(order=invoice.order, user=user, guest_cart_id=guest_cart_id):
        raise InvoiceNotFound()
    return invoice


def order_lines(*, order: Order) -> list[OrderLine]:
    """The order's lines by SKU."""
    return list(OrderLine.objects.filter(order=order).order_by("sku", "pk"))


def orders_in_status(*, status: str) -> QuerySet[Order]:
    """Orders whose status is `status`, for another app to narrow (fulfilment: paid orders
    without a packing task)."""
    return Order.objects.filter(status=status)


def order_invoice(*, order: Order) -> Invoice:
    """The order's (one) invoice; `Invoice.DoesNotExist` before it is paid."""
    return Invoice.objects.get(order=order, kind=InvoiceKind.INVOICE)


def invoices_of_order(*, order: Order, kind: str) -> list[Invoice]:
    return list(Invoice.objects.filter(order=order, kind=kind).order_by("issued_at", "pk"))


# --- Back-office reports -------------------------------------------------------------------------

SALES_PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class SalesRow:
    """One period of the sales report: what was paid in it, and what was refunded in it."""

    period: datetime
    orders: int
    revenue: Decimal
    tax: Decimal
    refunds: Decimal

    @property
    def net(self) -> Decimal:
        return self.revenue - self.refunds


def orders_paid_between(*, start: datetime, end: datetime) -> QuerySet[Order]:
    """Orders whose payment was taken in [start, end), whatever happened to them afterwards."""
    return Order.objects.filter(paid_at__gte=start, paid_at__lt=end)


def sales_summary(*, start: datetime, end: datetime) -> dict:
    """How many orders were paid in [start, end) and their revenue (totals as charged)."""
    totals = orders_paid_between(start=start, end=end).aggregate(
        orders=Count("pk"), revenue=Sum("total")
    )
    return {"orders": totals["orders"], "revenue": money(totals["revenue"] or ZERO)}


def sales_report(*, start: datetime, end: datetime, period: str) -> list[SalesRow]:
    """Revenue and tax of the orders paid, and the refunds made, per day, week or month of
    [start, end), oldest first; periods with neither are left out. Periods are cut in the
    shop's time zone."""
    trunc = SALES_PERIODS[period]
    paid = (
        orders_paid_between(start=start, end=end)
        .annotate(period=trunc("paid_at"))
        .order_by()
        .values("period")
        .annotate(orders=Count("pk"), revenue=Sum("total"), tax=Sum("tax"))
    )
    refunded = (
        Refund.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(period=trunc("created_at"))
        .order_by()
        .values("period")
        .annotate(refunds=Sum("amount"))
    )
    rows: dict[datetime, dict] = {}
    for row in paid:
        rows[row["period"]] = {
            "orders": row["orders"],
            "revenue": row["revenue"],
            "tax": row["tax"],
        }
    for row in refunded:
        rows.setdefault(row["period"], {})["refunds"] = row["refunds"]
    return [
        SalesRow(
            period=period_start,
            orders=values.get("orders", 0),
            revenue=money(values.get("revenue") or ZERO),
            tax=money(values.get("tax") or ZERO),
            refunds=money(values.get("refunds") or ZERO),
        )
        for period_start, values in sorted(rows.items())
    ]
