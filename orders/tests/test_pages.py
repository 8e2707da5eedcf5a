import re
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason
from inventory.selectors import available_by_product_id
from inventory.services import stock_set_on_hand
from mockproviders.models import MockCharge
from mockproviders.payment import KNOWN_TOKENS
from orders.enums import OrderStatus
from orders.forms import TEST_PAYMENT_TOKENS
from orders.models import Order
from orders.services import CreditNoteLineRequest, credit_note_issue

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "Hometown",
    "postcode": "HT1 2AB",
    "country": "GB",
}


@pytest.fixture(autouse=True)
def _fast_payment_retries():
    with override_settings(PAYMENT_RETRY_BASE_SECONDS=0.001, MOCK_PAYMENT_SLOW_MS=10):
        yield


@pytest.fixture
def product(db):
    product = ProductFactory(name="Oat milk", price=Decimal("2.40"))
    stock_set_on_hand(product=product, on_hand=10, kind=MovementReason.SEED)
    return product


def _add(client, product, quantity: int = 2):
    response = client.post(reverse("carts:add"), {"sku": product.sku, "quantity": quantity})
    assert response.status_code == 302


def _checkout_form(client) -> dict:
    response = client.get(reverse("orders:checkout"))
    assert response.status_code == 200
    form = response.context["form"]
    return {
        "idempotency_key": form.initial["idempotency_key"],
        "expected_total": str(form.initial["expected_total"]),
    }


def _place(client, *, token: str = "tok_success", email: str | None = "guest@example.com", **form):
    data = {**_checkout_form(client), **ADDRESS, "payment_token": token, **form}
    if email is not None:
        data["email"] = email
    return client.post(reverse("orders:checkout"), data)


def test_checkout_page_shows_the_cart_total_a_one_time_key_and_the_test_mode_picker(
    client, product
):
    _add(client, product, quantity=2)

    response = client.get(reverse("orders:checkout"))

    body = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', body)
    assert "€4.80" in body
    assert "Test mode" in body
    assert 'value="tok_success"' in body and 'value="tok_decline"' in body
    assert '<label for="id_email">' in body
    assert "csrfmiddlewaretoken" in body
    keys = {_checkout_form(client)["idempotency_key"] for _ in range(3)}
    assert len(keys) == 3


def test_country_field_starts_on_the_shops_country_and_lists_full_names(client, product, settings):
    settings.SHOP_COUNTRY = "PL"
    _add(client, product)

    body = client.get(reverse("orders:checkout")).content.decode()

    assert '<option value="PL" selected>Poland</option>' in body
    assert '<option value="CZ">Czechia</option>' in body
    assert '<option value="JP">Japan</option>' in body
    assert body.count("<option value=") > 200  # no delivery zone: the shop delivers everywhere


def test_order_page_prints_the_delivery_address_in_the_countrys_order(client, product):
    _add(client, product)
    polish = {"line1": "ul. Żółwia 5", "city": "Łódź", "postcode": "90-001", "country": "PL"}
    assert _place(client, **polish).status_code == 302

    order = Order.objects.get()
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert order.shipping_address["country"] == "PL"
    assert "Ada Lovelace<br>ul. Żółwia 5<br>90-001 Łódź<br>Poland</address>" in page


def test_test_mode_picker_offers_only_tokens_the_mock_gateway_knows():
    assert {token for token, _, _ in TEST_PAYMENT_TOKENS} <= KNOWN_TOKENS


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client):
    response = client.get(reverse("orders:checkout"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("carts:cart")
    assert "Your cart is empty" in response.content.decode()


def test_guest_checkout_places_a_paid_order_and_shows_the_confirmation(client, product, tax_mode):
    # 2 x 2.40 at 20 % VAT: 0.80 of it is VAT when prices include it, else 0.96 is added.
    total = Decimal("4.80") if tax_mode else Decimal("5.76")
    _add(client, product, quantity=2)
    shown = client.get(reverse("orders:checkout")).content.decode()
    assert f'data-testid="checkout-total">€{total}<' in shown

    response = _place(client)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:confirmation", args=[order.pk])
    page = client.get(response["Location"]).content.decode()
    assert order.number in page
    assert "Paid" in page
    assert "guest@example.com" in page
    assert order.status == OrderStatus.PAID
    assert order.total == total
    assert f"€{total}" in page
    assert order.shipping_address["postcode"] == "HT1 2AB"
    assert available_by_product_id(product_ids=[product.pk])[product.pk] == 8
    assert "Your cart is empty." in client.get(reverse("carts:cart")).content.decode()


def test_submitting_the_same_form_twice_creates_one_order_and_one_charge(client, product):
    _add(client, product)
    form = {**_checkout_form(client), **ADDRESS, "payment_token": "tok_success"}
    form["email"] = "guest@example.com"

    first = client.post(reverse("orders:checkout"), form)
    second = client.post(reverse("orders:checkout"), form)

    assert Order.objects.count() == 1
    assert MockCharge.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_signed_in_checkout_uses_the_account_email_and_lists_the_order(client, product):
    user = UserFactory(email="member@example.com")
    client.force_login(user)
    _add(client, product)

    response = _place(client, email=None)

    order = Order.objects.get()
    assert response.status_code == 302
    assert order.user == user and order.email == "member@example.com"
    history = client.get(reverse("orders:history")).content.decode()
    assert order.number in history
    assert reverse("orders:detail", args=[order.pk]) in history


def test_decline_shows_the_errors_detail_keeps_the_cart_and_offers_a_new_key(client, product):
    _add(client, product, quantity=2)
    first_form = _checkout_form(client)

    response = _place(client, token="tok_decline", **first_form)

    body = response.content.decode()
    assert response.status_code == 402
    assert "Your card was declined; nothing was charged. Try another card." in body
    assert response.context["form"].initial["idempotency_key"] != first_form["idempotency_key"]
    assert response.context["form"].initial["line1"] == ADDRESS["line1"]
    assert Order.objects.get().status == OrderStatus.FAILED
    assert available_by_product_id(product_ids=[product.pk])[product.pk] == 10
    assert "Oat milk" in client.get(reverse("carts:cart")).content.decode()

    retry = _place(client, token="tok_success")

    assert retry.status_code == 302
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 1


def test_resubmitting_a_declined_form_replays_the_decline(client, product):
    _add(client, product)
    form = {**_checkout_form(client), **ADDRESS, "payment_token": "tok_decline"}
    form["email"] = "guest@example.com"

    client.post(reverse("orders:checkout"), form)
    again = client.post(reverse("orders:checkout"), form)

    assert again.status_code == 402
    assert Order.objects.count() == 1
    assert MockCharge.objects.count() == 1


def test_unavailable_provider_message_and_nothing_charged(client, product):
    _add(client, product)

    response = _place(client, token="tok_down")

    assert response.status_code == 503
    assert "nothing was charged" in response.content.decode()
    assert not Order.objects.filter(status=OrderStatus.PAID).exists()


def test_insufficient_stock_at_checkout_is_shown_with_its_detail(client, product):
    _add(client, product, quantity=5)
    stock_set_on_hand(product=product, on_hand=2, note="breakage")

    response = _place(client)

    assert response.status_code == 409
    assert f"Not enough stock. {product.name}: 2 of 5 left." in response.content.decode()
    assert not Order.objects.filter(status=OrderStatus.PAID).exists()


def test_a_price_change_after_the_form_was_shown_is_refused(client, product):
    _add(client, product)
    form = _checkout_form(client)
    product.price = Decimal("3.00")
    product.save()

    response = _place(client, **form)

    assert response.status_code == 409
    assert "The total is now 6.00 EUR." in response.content.decode()
    assert response.context["form"].initial["expected_total"] == Decimal("6.00")


def test_checkout_field_errors_come_from_the_api_rules(client, product):
    _add(client, product)

    response = client.post(
        reverse("orders:checkout"),
        {**_checkout_form(client), "payment_token": "tok_success", "name": "Ada"},
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert body.count("This field is required.") >= 4
    assert 'aria-invalid="true"' in body
    assert not Order.objects.exists()


def test_order_pages_are_private(client, product):
    _add(client, product)
    _place(client)
    order = Order.objects.get()
    stranger = client.__class__()
    detail = reverse("orders:detail", args=[order.pk])

    # A signed-out visitor is asked to sign in (their email's link), and learns nothing more.
    asked = stranger.get(detail)
    assert asked.status_code == 302
    assert asked["Location"] == f"/account/login/?next={detail}"
    assert stranger.get(reverse("orders:confirmation", args=[order.pk])).status_code == 404
    history = stranger.get(reverse("orders:history"))
    assert history.status_code == 302
    assert history["Location"].startswith("/account/login/")
    stranger.force_login(UserFactory())
    assert stranger.get(detail).status_code == 404


def test_order_detail_shows_status_address_and_invoice_links(client, product):
    _add(client, product)
    _place(client)
    order = Order.objects.get()
    invoice = order.invoices.get()

    body = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert "Paid" in body
    assert "12 Analytical Row" in body
    assert f"/api/invoices/{invoice.pk}/pdf" in body
    assert invoice.number in body
    assert client.get(f"/api/invoices/{invoice.pk}/pdf").status_code == 200


def test_order_detail_links_each_credit_note(client, product):
    _add(client, product)
    _place(client)
    order = Order.objects.get()
    invoice = order.invoices.get()
    credit_note = credit_note_issue(
        invoice=invoice,
        lines=[CreditNoteLineRequest(sku=product.sku, quantity=1)],
        reference="page-test",
    )

    body = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert f"Credit note {credit_note.number} (PDF)" in body
    assert f"/api/invoices/{credit_note.pk}/pdf" in body
    assert client.get(f"/api/invoices/{credit_note.pk}/pdf").status_code == 200


def test_order_history_of_a_customer_without_orders(client):
    client.force_login(UserFactory())

    body = client.get(reverse("orders:history")).content.decode()

    assert "You have not ordered anything yet." in body


def ship_order(order, staff_user):
    from fulfilment.services import (
        packing_task_create_for_order,
        packing_task_mark_packed,
        packing_task_start,
    )

    task = packing_task_create_for_order(order_id=order.pk)
    packing_task_start(packing_task_id=task.pk, user=staff_user)
    return packing_task_mark_packed(
        packing_task_id=task.pk, parcel_weights_grams=[800], user=staff_user
    )


def test_order_detail_shows_the_tracking_number_once_shipped(client, product, staff_user):
    customer = UserFactory()
    client.force_login(customer)
    _add(client, product)
    _place(client, email=None)
    order = Order.objects.get()

    shipment = ship_order(order, staff_user)

    body = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert shipment.tracking_number
    assert shipment.tracking_number in body
    assert "Shipped" in body
    assert reverse("returns:request", args=[order.pk]) in body


def test_a_guest_finds_an_order_by_number_and_email(client, product):
    _add(client, product)
    _place(client, email="Guest@Example.com")
    order = Order.objects.get()
    other_device = client.__class__()

    found = other_device.post(
        reverse("orders:find"), {"number": order.number.lower(), "email": "guest@example.com"}
    )
    wrong_email = other_device.post(
        reverse("orders:find"), {"number": order.number, "email": "someone@example.com"}
    )

    assert found.status_code == 200
    assert f'Order <span class="order-number">{order.number}</span>' in found.content.decode()
    assert wrong_email.status_code == 404
    assert "No order with this number was placed with this email." in (wrong_email.content.decode())
    assert other_device.get(reverse("orders:find")).status_code == 200


def test_declined_payments_are_not_listed_as_orders_but_collapsed_below_them(client, product):
    client.force_login(UserFactory())
    _add(client, product)
    declined = _place(client, token="tok_decline", email=None)
    placed = _place(client, email=None)
    assert declined.status_code == 402 and placed.status_code == 302
    failed = Order.objects.get(status=OrderStatus.FAILED)
    paid = Order.objects.get(status=OrderStatus.PAID)

    response = client.get(reverse("orders:history"))
    body = response.content.decode()

    assert [order.pk for order in response.context["orders"]] == [paid.pk]
    failures = body.split('data-testid="payment-failures"')[1]
    assert "Payments that did not go through (1) — nothing was charged" in failures
    assert failed.number in failures and paid.number not in failures


def test_failed_order_page_says_nothing_was_charged_and_why(client, product):
    client.force_login(UserFactory())
    _add(client, product)
    _place(client, token="tok_decline", email=None)
    failed = Order.objects.get(status=OrderStatus.FAILED)

    body = client.get(reverse("orders:detail", args=[failed.pk])).content.decode()

    assert "did not go through, so it was not placed and nothing was charged" in body
    assert "Your card issuer declined it." in body
    assert reverse("carts:cart") in body


def test_checkout_to_a_country_outside_the_delivery_zones_says_so(
    client, product, django_capture_on_commit_callbacks
):
    from carts.models import DeliveryZone

    with django_capture_on_commit_callbacks(execute=True):
        DeliveryZone.objects.create(name="Home", countries=["GB"], rate=Decimal("3.00"))
    _add(client, product)

    offered = client.get(reverse("orders:checkout")).context["form"].fields["country"].choices
    # The list, built when the page is shown, offers only where the shop delivers; a page shown
    # before the zones changed may still send another country.
    response = _place(client, country="FR")

    assert offered == [("GB", "United Kingdom")]
    assert response.status_code == 400
    assert "Sorry, we do not deliver to this country." in response.content.decode()
    assert not Order.objects.exists()
    assert _place(client).status_code == 302  # GB: delivered, at the total shown
    assert Order.objects.get().total == Decimal("7.80")
