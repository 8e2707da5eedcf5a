"""Fulfilment's part of the customer's pages: the order page's shipments (orders' page calls it)."""

from fulfilment.selectors import shipments_for_order


def order_page_section(*, request, order) -> dict:
    return {"shipments": shipments_for_order(order_id=order.pk)}
