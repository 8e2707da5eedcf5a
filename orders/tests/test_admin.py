"""The order screens of the back office: read-only money, formatted addresses, refund through the
service behind a confirmation page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import staff_member
from orders import services
from orders.enums import OrderStatus
from orders.models import Order, Refund
from orders.tests.conftest import add_to_cart, checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(customer_client, product) -> Order:
    add_to_cart(customer_client, product, quantity=2)
    response = checkout(customer_client, key="admin-refund-order")
    assert response.status_code == 201, response.content
    return Order.objects.get(status=OrderStatus.PAID)


@pytest.fixture
def owner(client):
    user = staff_member("Shop owner")
    client.force_login(user)
    return user


def _change_url(order: Order) -> str:
    return f"/admin/orders/order/{order.pk}/change/"


def _refund_url(order: Order) -> str:
    return f"/admin/orders/order/{order.pk}/refund/"


def test_orders_cannot_be_added_or_edited_in_the_admin(client, owner, paid_order):
    page = client.get(_change_url(paid_order)).content.decode()
    edit = client.post(_change_url(paid_order), {"total": "0.01", "status": "refunded"})

    assert client.get("/admin/orders/order/add/").status_code == 403
    assert edit.status_code == 403
    assert 'name="_save"' not in page
    assert "Add order" not in client.get("/admin/orders/order/").content.decode()
    assert Order.objects.get(pk=paid_order.pk).status == OrderStatus.PAID


def test_order_page_shows_the_delivery_address_formatted(client, owner, paid_order):
    page = client.get(_change_url(paid_order)).content.decode()

    address = paid_order.shipping_address
    assert f"{address['line1']}<br>" in page
    # The factory's address is British: the town, then the postcode on a line of its own.
    assert f"{address['city']}<br>{address['postcode']}<br>United Kingdom" in page
    assert "line1" not in page
    assert "Refund…" in page


def test_refund_confirmation_page_says_what_will_happen(client, owner, paid_order):
    page = client.get(_refund_url(paid_order)).content.decode()

    assert "What will happen" in page
    assert str(paid_order.total) in page
    assert Refund.objects.count() == 0


def test_refund_from_the_admin_goes_through_the_service_once(client, owner, paid_order):
    form = {"amount": "5.00", "reason": "Scratched box", "idempotency_key": "k" * 32}

    first = client.post(_refund_url(paid_order), form)
    second = client.post(_refund_url(paid_order), form)

    paid_order.refresh_from_db()
    assert first.status_code == second.status_code == 302
    assert Refund.objects.get().amount == Decimal("5.00")
    assert paid_order.refunded_amount == Decimal("5.00")
    assert paid_order.status == OrderStatus.PARTIALLY_REFUNDED


def test_refund_of_more_than_was_paid_is_refused_on_the_form(client, owner, paid_order):
    too_much = paid_order.total + Decimal("0.01")

    response = client.post(
        _refund_url(paid_order),
        {"amount": str(too_much), "reason": "x", "idempotency_key": "a" * 32},
    )

    assert response.status_code == 200
    assert "can still be refunded" in response.content.decode()
    assert not Refund.objects.exists()


def test_packer_can_neither_see_orders_nor_refund(client, paid_order):
    client.force_login(staff_member("Packing staff"))

    assert client.get(_change_url(paid_order)).status_code == 403
    assert client.get(_refund_url(paid_order)).status_code == 403
    assert (
        client.post(
            _refund_url(paid_order), {"amount": "1.00", "reason": "x", "idempotency_key": "b" * 32}
        ).status_code
        == 403
    )
    assert not Refund.objects.exists()


def test_order_and_invoice_pages_link_the_printable_documents(client, owner, paid_order):
    invoice = paid_order.invoices.get()
    line = paid_order.lines.get()
    credit_note = services.credit_note_issue(
        invoice=invoice,
        lines=[services.CreditNoteLineRequest(sku=line.sku, quantity=1)],
        reference="admin-test",
    )

    order_page = client.get(_change_url(paid_order)).content.decode()
    credit_note_page = client.get(
        reverse("admin:orders_invoice_change", args=[credit_note.pk])
    ).content.decode()
    printable = client.get(reverse("invoice-html", args=[credit_note.pk]))
    pdf = client.get(reverse("invoice-pdf", args=[credit_note.pk]))

    for document in (invoice, credit_note):
        assert document.number in order_page
        assert reverse("invoice-pdf", args=[document.pk]) in order_page
    assert reverse("invoice-html", args=[credit_note.pk]) in credit_note_page
    assert printable.status_code == 200 and credit_note.number in printable.content.decode()
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
