from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason
from inventory.services import stock_set_on_hand
from orders.models import Order
from orders.tests.test_pages import ADDRESS, ship_order
from returns.models import ReturnRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped_order(client, staff_user, settings):
    settings.PAYMENT_RETRY_BASE_SECONDS = 0.001
    customer = UserFactory()
    client.force_login(customer)
    product = ProductFactory(name="Desk lamp", price=Decimal("30.00"))
    stock_set_on_hand(product=product, on_hand=5, kind=MovementReason.SEED)
    client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "2"})
    form = client.get(reverse("orders:checkout")).context["form"]
    client.post(
        reverse("orders:checkout"),
        {
            **ADDRESS,
            "idempotency_key": form.initial["idempotency_key"],
            "expected_total": str(form.initial["expected_total"]),
            "payment_token": "tok_success",
        },
    )
    order = Order.objects.get()
    ship_order(order, staff_user)
    return order


def test_return_page_lists_the_order_lines_with_labelled_fields(client, shipped_order):
    response = client.get(reverse("returns:request", args=[shipped_order.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Desk lamp" in body
    line = shipped_order.lines.get()
    assert f'<label for="id_quantity_{line.pk}">How many Desk lamp to return</label>' in body
    assert "Damaged in transit" in body


def test_requesting_a_return_creates_it_and_shows_it_on_the_order(client, shipped_order):
    line = shipped_order.lines.get()

    response = client.post(
        reverse("returns:request", args=[shipped_order.pk]),
        {f"quantity_{line.pk}": "1", f"reason_{line.pk}": "defective", "note": "Flickers"},
        follow=True,
    )

    return_request = ReturnRequest.objects.get()
    body = response.content.decode()
    assert f"Return {return_request.rma_number} is requested." in body
    assert return_request.lines.get().quantity == 1
    assert return_request.note == "Flickers"
    assert "Requested" in body


def test_return_needs_a_reason_and_at_least_one_item(client, shipped_order):
    line = shipped_order.lines.get()
    url = reverse("returns:request", args=[shipped_order.pk])

    no_reason = client.post(url, {f"quantity_{line.pk}": "1"})
    nothing = client.post(url, {f"quantity_{line.pk}": "0"})

    assert "Each line needs a positive quantity and a known reason." in no_reason.content.decode()
    assert "A return needs at least one line." in nothing.content.decode()
    assert not ReturnRequest.objects.exists()


def test_returning_more_than_is_left_shows_the_services_detail(client, shipped_order):
    line = shipped_order.lines.get()
    url = reverse("returns:request", args=[shipped_order.pk])
    client.post(url, {f"quantity_{line.pk}": "2", f"reason_{line.pk}": "other"})

    again = client.post(url, {f"quantity_{line.pk}": "1", f"reason_{line.pk}": "other"})

    assert again.status_code == 422
    assert f"{line.sku} (at most 0)" in again.content.decode()
    assert ReturnRequest.objects.count() == 1


def test_return_page_of_someone_elses_order_is_404(client, shipped_order):
    client.force_login(UserFactory())

    response = client.get(reverse("returns:request", args=[shipped_order.pk]))

    assert response.status_code == 404


def test_return_page_needs_sign_in(shipped_order):
    from django.test import Client

    response = Client().get(reverse("returns:request", args=[shipped_order.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")
