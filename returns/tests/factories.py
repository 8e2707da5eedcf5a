"""Orders as checkout and fulfilment leave them (charged, invoiced, stocked), and returns."""

import secrets
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from carts.pricing import tax_split
from catalogue.tests.factories import ProductFactory
from inventory.tests.factories import StockItemFactory
from mockproviders.enums import MockChargeStatus
from mockproviders.models import MockCharge
from orders.enums import OrderStatus
from orders.models import Order, OrderLine, Payment
from orders.services import invoice_issue
from returns.enums import ReturnReason
from returns.services import ReturnLineRequest, return_request_create


class DeliveredOrderFactory(factory.django.DjangoModelFactory):
    """The order row only; `delivered_order()` adds lines, the charge, the invoice and stock."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(
        lambda order: order.user.email if order.user else "guest@example.com"
    )
    status = OrderStatus.DELIVERED
    status_changed_at = factory.LazyFunction(timezone.now)
    currency = "EUR"
    subtotal = Decimal("0.00")
    tax = Decimal("0.00")
    total = Decimal("0.00")
    shipping_address = factory.LazyFunction(
        lambda: {
            "name": "Ada Lovelace",
            "line1": "1 Analytical Way",
            "city": "London",
            "postcode": "N1 1AA",
            "country": "GB",
        }
    )
    payment_idempotency_key = factory.Sequence(lambda n: f"returns-payment-key-{n}")
    paid_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=3))


def delivered_order(
    *,
    items=((Decimal("10.00"), 3), (Decimal("24.99"), 1)),
    shipping=Decimal("0.00"),
    delivered_days_ago: int = 1,
    on_hand: int = 5,
    **order_fields,
) -> Order:
    """An order delivered `delivered_days_ago` days ago, of (unit price, quantity) `items`.

    Each item is a new product with `on_hand` units left on the shelf. The order is charged in
    full at the mock payment provider and invoiced, as checkout leaves it, so refunds and credit
    notes go through the real services.
    """
    delivered_at = timezone.now() - timedelta(days=delivered_days_ago)
    order = DeliveredOrderFactory(status_changed_at=delivered_at, shipping=shipping, **order_fields)
    subtotal = tax = gross = Decimal("0.00")
    for unit_price, quantity in items:
        product = ProductFactory(price=unit_price)
        StockItemFactory(product=product, on_hand=on_hand)
        taxed = tax_split(unit_price * quantity)
        OrderLine.objects.create(
            order=order,
            product=product,
            sku=product.sku,
            name=product.name,
            quantity=quantity,
            unit_price=unit_price,
            line_total=unit_price * quantity,
            tax=taxed.tax,
        )
        subtotal += unit_price * quantity
        tax += taxed.tax
        gross += taxed.gross
    order.subtotal, order.tax, order.total = subtotal, tax, gross + shipping
    order.save()
    charge = MockCharge.objects.create(
        id="ch_" + secrets.token_hex(12),
        idempotency_key=order.payment_idempotency_key,
        token="tok_success",
        amount=order.total,
        currency=order.currency,
        status=MockChargeStatus.SUCCEEDED,
    )
    Payment.objects.create(
        order=order, provider_charge_id=charge.id, amount=order.total, currency=order.currency
    )
    invoice_issue(order=order)
    return order


def customer_order(user=None, **kwargs) -> Order:
    return delivered_order(user=user or UserFactory(), **kwargs)


def return_for(order: Order, *quantities: int, reason=ReturnReason.NO_LONGER_NEEDED, note=""):
    """A requested return of `quantities[i]` units of the order's i-th line (0 skips a line)."""
    lines = [
        ReturnLineRequest(sku=line.sku, quantity=quantity, reason=reason)
        for line, quantity in zip(order.lines.order_by("pk"), quantities, strict=False)
        if quantity
    ]
    return return_request_create(order=order, lines=lines, note=note)
