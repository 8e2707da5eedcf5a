"""The order confirmation email: what it says, where its links lead, and that it goes once."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from orders.consumers import CONFIRMATION_EMAIL_CONSUMER
from orders.models import Order
from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.factories import stocked_product
from yourlocalshop import outbox
from yourlocalshop.models import OutboxEvent, ProcessedEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_in_process")]

POLISH_ADDRESS = {
    "name": "Zoë Łukasiewicz 王小明",
    "line1": "ul. Żółwia 5",
    "line2": "m. 12",
    "city": "Łódź",
    "postcode": "90-001",
    "country": "PL",
}


@pytest.fixture(autouse=True)
def _shop(settings):
    settings.SHOP_NAME = "Corner Shop"
    settings.SHOP_SELLER_ADDRESS = "3 Market Square, Hometown"
    settings.SHOP_CONTACT_EMAIL = "hello@corner.example"
    settings.SHOP_CONTACT_PHONE = "+44 1234 567890"
    settings.SHOP_URL = "https://corner.example"


@pytest.fixture
def honey(db):
    return stocked_product(name="Wildflower Honey", price=Decimal("7.50"), on_hand=10)


@pytest.fixture
def jam(db):
    return stocked_product(name="Damson Jam", price=Decimal("4.25"), on_hand=10)


def _place(client, django_capture_on_commit_callbacks, *products, **body) -> Order:
    for product, quantity in products:
        add_to_cart(client, product, quantity)
    with django_capture_on_commit_callbacks(execute=True):
        response = checkout(client, key=new_key(), shippingAddress=POLISH_ADDRESS, **body)
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["orderId"])


def _confirmations(order: Order) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if order.number in message.subject]


def _link(text: str, prefix: str) -> str:
    return next(word for word in text.split() if word.startswith(prefix))


def test_order_confirmation_email_names_the_products_amounts_address_and_shop(
    customer_client, customer, honey, jam, django_capture_on_commit_callbacks
):
    order = _place(customer_client, django_capture_on_commit_callbacks, (honey, 2), (jam, 1))

    [message] = _confirmations(order)
    assert message.to == [customer.email]
    assert message.subject == f"Corner Shop: order {order.number} confirmed"
    assert (
        message.extra_headers["Message-ID"]
        == f"<order-confirmation-{order.pk}@yourlocalshop.local>"
    )
    html = message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"
    for text in (message.body, html):
        assert "Hello Zoë Łukasiewicz 王小明," in text
        assert "Wildflower Honey" in text and "Damson Jam" in text
        assert honey.sku not in text
        assert "€7.50" in text and "€15.00" in text and "€4.25" in text
        assert f"€{order.subtotal}" in text
        assert f"€{order.shipping}" in text
        assert f"€{order.total}" in text
        assert f"€{order.tax}" in text
        for line in ("ul. Żółwia 5", "m. 12", "90-001 Łódź", "Poland"):
            assert line in text
        assert "Corner Shop" in text and "3 Market Square, Hometown" in text
        assert "hello@corner.example" in text and "+44 1234 567890" in text
        assert f"https://corner.example/orders/{order.pk}/" in text
    assert "- Wildflower Honey: 2 x €7.50 = €15.00" in message.body
    assert f"Delivery: €{order.shipping}" in message.body  # the word the shop's pages use
    invoice = order.invoices.get()
    assert f"Invoice {invoice.number} (PDF): https://corner.example/api/invoices/" in message.body


def test_order_confirmation_links_open_the_order_and_the_invoice(
    customer_client, customer, honey, django_capture_on_commit_callbacks
):
    order = _place(customer_client, django_capture_on_commit_callbacks, (honey, 1))
    [message] = _confirmations(order)

    signed_out = Client()
    order_link = urlsplit(_link(message.body, "https://corner.example/orders/"))
    invoice_link = urlsplit(_link(message.body, "https://corner.example/api/invoices/"))
    asked_to_sign_in = signed_out.get(order_link.path)
    signed_out.force_login(customer)
    order_page = signed_out.get(order_link.path)
    invoice = Client().get(f"{invoice_link.path}?{invoice_link.query}")

    assert asked_to_sign_in.status_code == 302
    assert asked_to_sign_in["Location"] == f"/account/login/?next={order_link.path}"
    assert order_page.status_code == 200
    assert order.number in order_page.content.decode()
    assert invoice.status_code == 200
    assert invoice["Content-Type"] == "application/pdf"


def test_guest_confirmation_links_the_find_an_order_page_filled_in(
    api_client, honey, django_capture_on_commit_callbacks
):
    order = _place(
        api_client, django_capture_on_commit_callbacks, (honey, 1), email="zoe@example.com"
    )
    [message] = _confirmations(order)

    link = urlsplit(_link(message.body, "https://corner.example/orders/find/"))
    page = Client().get(f"{link.path}?{link.query}").content.decode()

    assert message.to == ["zoe@example.com"]
    assert f'value="{order.number}"' in page
    assert 'value="zoe@example.com"' in page


def test_invoice_link_with_a_wrong_key_is_not_found(
    api_client, honey, django_capture_on_commit_callbacks
):
    order = _place(api_client, django_capture_on_commit_callbacks, (honey, 1), email="a@b.example")
    invoice = order.invoices.get()

    response = APIClient().get(f"/api/invoices/{invoice.pk}/pdf", {"key": "forged"})

    assert response.status_code == 404
    assert response.json()["code"] == "invoice_not_found"


def _order_paid_event(order: Order) -> OutboxEvent:
    return OutboxEvent.objects.get(event_type="order_paid", aggregate_id=str(order.pk))


def test_order_confirmation_is_not_sent_again_when_the_event_is_replayed(
    customer_client, honey, django_capture_on_commit_callbacks
):
    order = _place(customer_client, django_capture_on_commit_callbacks, (honey, 1))
    event = _order_paid_event(order)
    OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)

    outbox.outbox_deliver(event_id=str(event.pk))
    outbox.outbox_deliver(event_id=str(event.pk))
    outbox.outbox_sweep(older_than_seconds=0)

    assert len(_confirmations(order)) == 1


def test_order_confirmation_that_failed_to_send_is_sent_once_by_the_retry(
    customer_client, honey, django_capture_on_commit_callbacks, monkeypatch
):
    def mail_server_down(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(
        "django.core.mail.backends.locmem.EmailBackend.send_messages", mail_server_down
    )
    order = _place(customer_client, django_capture_on_commit_callbacks, (honey, 1))
    event = _order_paid_event(order)
    assert event.delivered_at is None
    assert "mail server down" in event.last_error
    assert not ProcessedEvent.objects.filter(consumer=CONFIRMATION_EMAIL_CONSUMER).exists()
    assert Order.objects.get(pk=order.pk).status == "paid"  # the order is not touched
    monkeypatch.undo()

    outbox.outbox_deliver(event_id=str(event.pk))
    outbox.outbox_deliver(event_id=str(event.pk))

    assert len(_confirmations(order)) == 1
    event.refresh_from_db()
    assert event.delivered_at is not None


def test_no_confirmation_for_an_order_that_was_never_paid(customer, honey):
    order = Order.objects.create(
        user=customer,
        email=customer.email,
        currency="EUR",
        subtotal=Decimal("7.50"),
        tax=Decimal("1.25"),
        total=Decimal("7.50"),
        shipping_address=POLISH_ADDRESS,
        payment_idempotency_key="never-paid",
        created_at=timezone.now(),
    )

    from orders.services import order_confirmation_send

    assert order_confirmation_send(order_id=order.pk) is False
    assert mail.outbox == []
