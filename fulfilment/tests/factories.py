from decimal import Decimal

import factory
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalogue.tests.factories import ProductFactory
from orders.enums import OrderStatus
from orders.models import Order, OrderLine
from yourlocalshop.outbox import outbox_publish


class PaidOrderFactory(factory.django.DjangoModelFactory):
    """A paid order as checkout leaves it; `publish_order_paid` publishes its event."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(
        lambda order: order.user.email if order.user else "guest@example.com"
    )
    status = OrderStatus.PAID
    currency = "EUR"
    subtotal = Decimal("16.65")
    tax = Decimal("3.33")
    total = Decimal("19.98")
    shipping_address = factory.LazyFunction(
        lambda: {
            "name": "Ada Lovelace",
            "line1": "1 Analytical Way",
            "city": "London",
            "postcode": "N1 1AA",
            "country": "GB",
        }
    )
    payment_idempotency_key = factory.Sequence(lambda n: f"payment-key-{n}")
    paid_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(PaidOrderFactory)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda line: line.product.sku)
    name = factory.LazyAttribute(lambda line: line.product.name)
    quantity = 1
    unit_price = Decimal("9.99")
    line_total = factory.LazyAttribute(lambda line: line.unit_price * line.quantity)
    tax = Decimal("1.67")


def paid_order_with_lines(*, skus_and_quantities=(("SKU-B", 2), ("SKU-A", 1)), **order_fields):
    order = PaidOrderFactory(**order_fields)
    for sku, quantity in skus_and_quantities:
        OrderLineFactory(order=order, product=ProductFactory(sku=sku), quantity=quantity)
    return order


def publish_order_paid(order):
    """What checkout does when an order is paid: the outbox row, committed with the order."""
    with transaction.atomic():
        return outbox_publish(
            event_type="order_paid",
            aggregate_id=str(order.pk),
            payload={
                "orderId": str(order.pk),
                "orderNumber": order.number,
                "total": str(order.total),
            },
        )
