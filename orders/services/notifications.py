"""Customer emails about orders (through `yourlocalshop.emails`)."""

from urllib.parse import urlencode

from django.urls import reverse

from orders.documents import invoice_document_path
from orders.enums import InvoiceKind
from orders.models import Order
from orders.selectors import invoices_of_order
from yourlocalshop.emails import absolute_url, customer_email_send


def order_page_url(order: Order) -> str:
    """The link a customer follows to their order: the order page for an account's order (a
    signed-out visitor is asked to sign in first), the find-an-order page with the number and
    email filled in for a guest's."""
    if order.user_id is not None:
        return absolute_url(reverse("orders:detail", args=[order.pk]))
    query = urlencode({"number": order.number, "email": order.email})
    return absolute_url(f"{reverse('orders:find')}?{query}")


def order_confirmation_send(*, order_id) -> bool:
    """Email the customer the confirmation of their paid order; returns whether one was sent.

    Runs as the `order_paid` consumer, inside the outbox's transaction that records the event as
    processed by it: a replay, a retry or a second worker finds that record and sends nothing,
    and a failed send (or a worker dying before the commit) leaves no record, so the next
    delivery sends it. One `order_paid` is published per order.
    """
    order = Order.objects.prefetch_related("lines").filter(pk=order_id).first()
    if order is None or order.paid_at is None:
        return False
    invoice = next(iter(invoices_of_order(order=order, kind=InvoiceKind.INVOICE)), None)
    customer_email_send(
        template="orders/email/confirmation",
        context={
            "order": order,
            "lines": list(order.lines.all()),
            "guest": order.user_id is None,
            "order_url": order_page_url(order),
            "invoice": invoice,
            "invoice_url": absolute_url(invoice_document_path(invoice)) if invoice else "",
        },
        to=order.email,
        message_key=f"order-confirmation-{order.pk}",
    )
    return True
