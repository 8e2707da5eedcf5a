from decimal import Decimal

import pytest
from django.test import override_settings

from carts.pricing import tax_split
from mockproviders.models import MockRefund
from orders.enums import OrderStatus
from orders.errors import CreditNoteInvalid, RefundNotAllowed
from orders.models import Invoice, Order
from orders.services import (
    CreditNoteLineRequest,
    credit_note_issue,
    order_mark_delivered,
    order_mark_packing,
    order_mark_shipped,
    order_refund,
)
from orders.tests.conftest import add_to_cart, checkout, new_key, pdf_text
from orders.tests.factories import stocked_product
from yourlocalshop.errors import IllegalTransition

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(customer_client, product):
    add_to_cart(customer_client, product, quantity=3)
    response = checkout(customer_client, key=new_key())
    assert response.status_code == 201
    return Order.objects.get(pk=response.json()["orderId"])


def test_order_mark_fulfilment_moves_in_order_and_refuses_skips(paid_order):
    with pytest.raises(IllegalTransition):
        order_mark_shipped(order=paid_order)

    order_mark_packing(order=paid_order)
    order_mark_packing(order=paid_order)  # idempotent
    order_mark_shipped(order=paid_order)
    order_mark_delivered(order=paid_order)

    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.DELIVERED
    with pytest.raises(IllegalTransition):
        order_mark_packing(order=paid_order)


def test_order_refund_partial_then_full_and_idempotent_on_key(paid_order):
    first = order_refund(
        order=paid_order, amount=Decimal("12.00"), idempotency_key="r1", reason="x"
    )
    again = order_refund(
        order=paid_order, amount=Decimal("12.00"), idempotency_key="r1", reason="x"
    )

    assert first.pk == again.pk
    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.PARTIALLY_REFUNDED
    assert paid_order.refunded_amount == Decimal("12.00")
    with pytest.raises(RefundNotAllowed):
        order_refund(order=paid_order, amount=Decimal("24.01"), idempotency_key="r2", reason="x")

    order_refund(order=paid_order, amount=Decimal("24.00"), idempotency_key="r3", reason="x")

    paid_order.refresh_from_db()
    assert paid_order.status == OrderStatus.REFUNDED
    assert MockRefund.objects.count() == 2
    assert sum(refund.amount for refund in MockRefund.objects.all()) == paid_order.total


def test_order_refund_of_unpaid_order_is_refused(customer_client, product):
    add_to_cart(customer_client, product)
    checkout(customer_client, key=new_key(), token="tok_decline")

    with pytest.raises(RefundNotAllowed):
        order_refund(
            order=Order.objects.get(), amount=Decimal("1.00"), idempotency_key="r", reason="x"
        )


def test_credit_note_issue_has_own_series_and_is_idempotent(paid_order):
    invoice = paid_order.invoices.get()
    sku = paid_order.lines.get().sku

    note = credit_note_issue(
        invoice=invoice, lines=[CreditNoteLineRequest(sku=sku, quantity=1)], reference="return-1"
    )
    same = credit_note_issue(
        invoice=invoice, lines=[{"sku": sku, "quantity": 1}], reference="return-1"
    )

    assert note.pk == same.pk
    assert note.number == f"CN-{note.year}-000001"
    assert note.credited_invoice == invoice
    assert (note.net_total, note.tax_total, note.total) == (
        Decimal("10.00"),
        Decimal("2.00"),
        Decimal("12.00"),
    )
    credit_note_issue(invoice=invoice, lines=[{"sku": sku, "quantity": 2}], reference="return-2")
    with pytest.raises(CreditNoteInvalid):
        credit_note_issue(invoice=invoice, lines=[{"sku": sku, "quantity": 1}], reference="r-3")
    assert Invoice.objects.filter(kind="invoice").get().number.startswith("INV-")


def test_credit_note_issue_refuses_unknown_sku(paid_order):
    with pytest.raises(CreditNoteInvalid):
        credit_note_issue(
            invoice=paid_order.invoices.get(),
            lines=[{"sku": "NOPE", "quantity": 1}],
            reference="return-x",
        )


@pytest.mark.parametrize(
    ("include", "amount", "expected"),
    [
        (True, "12.00", ("10.00", "2.00", "12.00")),
        (True, "9.99", ("8.32", "1.67", "9.99")),  # tax 1.665 rounds half up
        (False, "10.00", ("10.00", "2.00", "12.00")),
        (False, "0.05", ("0.05", "0.01", "0.06")),
    ],
)
def test_tax_split_quantizes_and_adds_up(include, amount, expected):
    with override_settings(PRICES_INCLUDE_TAX=include, VAT_RATE=Decimal("0.20")):
        taxed = tax_split(Decimal(amount))

    assert (taxed.net, taxed.tax, taxed.gross) == tuple(Decimal(value) for value in expected)
    assert taxed.net + taxed.tax == taxed.gross


def test_order_place_with_prices_excluding_tax_adds_vat(customer_client):
    product = stocked_product(price=Decimal("10.00"))
    add_to_cart(customer_client, product, quantity=2)

    with override_settings(PRICES_INCLUDE_TAX=False):
        body = checkout(customer_client, key=new_key()).json()

    assert (body["subtotal"], body["tax"], body["total"]) == ("20.00", "4.00", "24.00")
    invoice = Invoice.objects.get()
    assert (invoice.net_total, invoice.tax_total, invoice.total) == (
        Decimal("20.00"),
        Decimal("4.00"),
        Decimal("24.00"),
    )


def test_invoice_html_and_pdf_for_owner_and_staff_only(customer_client, paid_order, api_client):
    from accounts.tests.factories import UserFactory

    invoice = paid_order.invoices.get()

    html = customer_client.get(f"/api/invoices/{invoice.pk}")
    pdf = customer_client.get(f"/api/invoices/{invoice.pk}/pdf")

    assert html.status_code == 200
    assert invoice.number in html.content.decode()
    assert "VAT 20.00% (included)" in html.content.decode()
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.content.rstrip().endswith(b"%%EOF")
    assert f"Invoice {invoice.number}" in pdf_text(pdf.content)
    api_client.force_authenticate(UserFactory())
    assert api_client.get(f"/api/invoices/{invoice.pk}/pdf").status_code == 404
    api_client.force_authenticate(UserFactory(is_staff=True))
    assert api_client.get(f"/api/invoices/{invoice.pk}/pdf").status_code == 200


def test_order_refund_adds_up_in_decimal_to_exactly_the_payment(customer_client):
    # SQLite evaluated F("refunded_amount") + amount in floating point: 3.33 + 63.27 became
    # 66.60000000000001 and broke the payment's refunded <= amount constraint.
    add_to_cart(customer_client, stocked_product(price=Decimal("66.60")))
    order = Order.objects.get(pk=checkout(customer_client, key=new_key()).json()["orderId"])
    assert order.total == Decimal("66.60")

    order_refund(order=order, amount=Decimal("3.33"), idempotency_key="part-1", reason="x")
    order_refund(order=order, amount=Decimal("63.27"), idempotency_key="part-2", reason="x")

    order.refresh_from_db()
    payment = order.payments.get()
    assert order.status == OrderStatus.REFUNDED
    assert (order.refunded_amount, payment.refunded_amount) == (Decimal("66.60"), Decimal("66.60"))
    assert payment.status == "refunded"


def test_a_product_whose_sku_is_delivery_is_credited_apart_from_the_delivery_line(
    customer_client, django_capture_on_commit_callbacks
):
    """The delivery line is the invoice's line without an order line, whatever SKU it prints:
    a shop may sell a product with the SKU "DELIVERY" (a delivery box, a voucher)."""
    from carts.models import DeliveryZone

    with django_capture_on_commit_callbacks(execute=True):
        DeliveryZone.objects.create(name="Home", countries=["GB"], rate=Decimal("4.95"))
    box = stocked_product(sku="DELIVERY", name="Delivery box", price=Decimal("7.00"))
    add_to_cart(customer_client, box, quantity=2)
    assert checkout(customer_client, key=new_key()).status_code == 201
    invoice = Order.objects.get().invoices.get()
    one_box = [CreditNoteLineRequest(sku="DELIVERY", quantity=1)]

    first = credit_note_issue(
        invoice=invoice, lines=one_box, reference="r1", shipping=Decimal("4.95")
    )
    with pytest.raises(CreditNoteInvalid, match=r"Delivery of 0\.01 is not left to credit"):
        credit_note_issue(invoice=invoice, lines=one_box, reference="r2", shipping=Decimal("0.01"))
    second = credit_note_issue(invoice=invoice, lines=one_box, reference="r3")

    assert sorted(
        (line.description, line.quantity, line.unit_price) for line in first.lines.all()
    ) == [("Delivery", 1, Decimal("4.95")), ("Delivery box", 1, Decimal("7.00"))]
    assert [(line.description, line.quantity) for line in second.lines.all()] == [
        ("Delivery box", 1)
    ]
    with pytest.raises(CreditNoteInvalid, match="Only 0 of DELIVERY"):
        credit_note_issue(invoice=invoice, lines=one_box, reference="r4")
