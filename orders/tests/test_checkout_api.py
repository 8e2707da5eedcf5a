from decimal import Decimal

import pytest

from inventory.enums import MovementReason
from inventory.models import StockItem
from inventory.services import stock_set_on_hand
from mockproviders.models import MockCharge
from orders.enums import OrderStatus
from orders.models import IdempotencyKey, Invoice, Order, Payment
from orders.services import order_refund
from orders.tests.conftest import add_to_cart, checkout, new_key
from orders.tests.factories import ADDRESS

pytestmark = pytest.mark.django_db


def stock_of(product) -> StockItem:
    return StockItem.objects.get(product=product)


def test_order_place_success_creates_paid_order_invoice_and_commits_stock(customer_client, product):
    add_to_cart(customer_client, product, quantity=2)

    response = checkout(customer_client, key=new_key())

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "paid"
    assert body["total"] == "24.00"
    assert body["currency"] == "EUR"
    assert body["lines"] == [
        {
            "sku": product.sku,
            "name": product.name,
            "quantity": 2,
            "unitPrice": "12.00",
            "lineTotal": "24.00",
            "tax": "4.00",
        }
    ]
    assert response["Location"] == f"/api/orders/{body['orderId']}"
    assert "Idempotent-Replayed" not in response
    invoice = Invoice.objects.get(pk=body["invoiceId"])
    assert invoice.number == f"INV-{invoice.year}-000001"
    assert (invoice.net_total, invoice.tax_total, invoice.total) == (
        Decimal("20.00"),
        Decimal("4.00"),
        Decimal("24.00"),
    )
    assert stock_of(product).on_hand == 8
    assert stock_of(product).reserved == 0
    assert MockCharge.objects.get().amount == Decimal("24.00")
    assert customer_client.get("/api/cart").json()["items"] == []


def test_order_place_replay_returns_identical_body_without_side_effects(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()
    first = checkout(customer_client, key=key)

    second = checkout(customer_client, key=key)

    assert second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert second["Location"] == first["Location"]
    assert Order.objects.count() == 1
    assert Invoice.objects.count() == 1
    assert MockCharge.objects.count() == 1
    assert stock_of(product).on_hand == 9


def test_order_place_same_key_different_body_is_422(customer_client, product):
    add_to_cart(customer_client, product)
    key = new_key()
    checkout(customer_client, key=key)

    response = checkout(customer_client, key=key, token="tok_transient_1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert MockCharge.objects.count() == 1


@pytest.mark.parametrize("key", [None, "", "x" * 256, "bad\x07key", "naïve"])
def test_order_place_invalid_idempotency_key_is_400_and_not_stored(customer_client, product, key):
    add_to_cart(customer_client, product)

    response = checkout(customer_client, key=key)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_required"
    assert not IdempotencyKey.objects.exists()
    assert not Order.objects.exists()


def test_order_place_key_of_another_caller_does_not_replay(api_client, product):
    from accounts.tests.factories import UserFactory

    first_user, second_user = UserFactory(), UserFactory()
    key = new_key()
    api_client.force_authenticate(first_user)
    add_to_cart(api_client, product)
    first = checkout(api_client, key=key)

    api_client.force_authenticate(second_user)
    add_to_cart(api_client, product)
    second = checkout(api_client, key=key)

    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert first.json()["orderId"] != second.json()["orderId"]
    assert Order.objects.filter(user=second_user).count() == 1


@pytest.mark.parametrize("field", ["price", "total", "status", "user"])
def test_order_place_unknown_body_fields_are_400(customer_client, product, field):
    add_to_cart(customer_client, product)

    response = checkout(customer_client, key=new_key(), **{field: "0.01"})

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Order.objects.exists()


def test_order_place_decline_is_402_releases_stock_and_keeps_cart(customer_client, product):
    add_to_cart(customer_client, product, quantity=3)
    key = new_key()

    response = checkout(customer_client, key=key, token="tok_decline")

    assert response.status_code == 402
    assert response.json()["code"] == "payment_declined"
    assert Order.objects.get().status == OrderStatus.FAILED
    assert stock_of(product).reserved == 0
    assert stock_of(product).on_hand == 10
    assert customer_client.get("/api/cart").json()["items"][0]["quantity"] == 3
    replay = checkout(customer_client, key=key, token="tok_decline")
    assert replay.status_code == 402
    assert replay.content == response.content
    assert replay["Idempotent-Replayed"] == "true"
    retry = checkout(customer_client, key=new_key())
    assert retry.status_code == 201
    assert stock_of(product).on_hand == 7


def test_order_place_insufficient_funds_is_402(customer_client, product):
    add_to_cart(customer_client, product)

    response = checkout(customer_client, key=new_key(), token="tok_insufficient_funds")

    assert response.status_code == 402
    assert response.json()["reason"] == "insufficient_funds"


def test_order_place_transient_twice_then_succeeds_with_one_charge(customer_client, product):
    add_to_cart(customer_client, product)

    response = checkout(customer_client, key=new_key(), token="tok_transient_2")

    assert response.status_code == 201
    charge = MockCharge.objects.get()
    assert charge.transient_failures == 2
    assert Payment.objects.get().provider_charge_id == charge.id


def test_order_place_gateway_down_is_503_then_same_key_succeeds(
    customer_client, product, monkeypatch
):
    add_to_cart(customer_client, product)
    key = new_key()

    down = checkout(customer_client, key=key, token="tok_down")

    assert down.status_code == 503
    assert down.json()["code"] == "payment_unavailable"
    assert down.headers["Retry-After"] == "10"
    assert not MockCharge.objects.filter(status="succeeded").exists()
    assert stock_of(product).reserved == 0
    record = IdempotencyKey.objects.get()
    assert record.state == "in_progress" and record.locked_at is None

    monkeypatch.setattr("mockproviders.payment.ALWAYS_DOWN", set())  # the provider is back
    retry = checkout(customer_client, key=key, token="tok_down")

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert Order.objects.get().status == OrderStatus.PAID
    assert MockCharge.objects.filter(status="succeeded").count() == 1
    assert stock_of(product).on_hand == 9


def test_order_place_empty_cart_is_422(customer_client):
    response = checkout(customer_client, key=new_key())

    assert response.status_code == 422
    assert response.json()["code"] == "cart_empty"


def test_order_place_out_of_stock_is_409_with_availability(customer_client, product):
    add_to_cart(customer_client, product, quantity=5)
    stock_set_on_hand(product=product, on_hand=2, kind=MovementReason.ADJUSTMENT)

    response = checkout(customer_client, key=new_key())

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert body["availability"] == [{"sku": product.sku, "requested": 5, "available": 2}]
    assert not MockCharge.objects.exists()


def test_order_place_expected_total_mismatch_is_409_price_changed(customer_client, product):
    add_to_cart(customer_client, product)

    response = checkout(customer_client, key=new_key(), expectedTotal="11.00")

    assert response.status_code == 409
    assert response.json()["code"] == "price_changed"
    assert response.json()["total"] == "12.00"
    assert not MockCharge.objects.exists()


def test_order_place_expected_total_matching_succeeds(customer_client, product):
    add_to_cart(customer_client, product)

    assert checkout(customer_client, key=new_key(), expectedTotal="12.00").status_code == 201


def test_order_place_charges_current_price_not_cart_snapshot(customer_client, product):
    add_to_cart(customer_client, product)
    product.price = Decimal("15.00")
    product.save()

    response = checkout(customer_client, key=new_key())

    assert response.json()["total"] == "15.00"


def test_order_place_guest_needs_email_and_can_look_order_up(api_client, product):
    add_to_cart(api_client, product)
    assert checkout(api_client, key=new_key()).status_code == 400

    response = checkout(api_client, key=new_key(), email="Guest@Example.com")

    assert response.status_code == 201
    number = response.json()["orderNumber"]
    order_id = response.json()["orderId"]
    assert api_client.get(f"/api/orders/{order_id}").status_code == 200
    found = api_client.post(
        "/api/orders/lookup", {"orderNumber": number, "email": "guest@example.com"}, format="json"
    )
    assert found.status_code == 200
    assert found.json()["orderId"] == order_id
    wrong = api_client.post(
        "/api/orders/lookup", {"orderNumber": number, "email": "other@example.com"}, format="json"
    )
    assert wrong.status_code == 404
    assert wrong.json()["code"] == "order_not_found"


def test_order_place_guest_replay_after_cart_checked_out(api_client, product):
    add_to_cart(api_client, product)
    key = new_key()
    first = checkout(api_client, key=key, email="guest@example.com")

    second = checkout(api_client, key=key, email="guest@example.com")

    assert second.status_code == 201
    assert second.content == first.content


def test_orders_list_and_detail_are_the_callers_only(customer_client, product, api_client):
    from accounts.tests.factories import UserFactory

    add_to_cart(customer_client, product)
    order_id = checkout(customer_client, key=new_key()).json()["orderId"]

    listing = customer_client.get("/api/orders")
    assert listing.status_code == 200
    assert [order["orderId"] for order in listing.json()["results"]] == [order_id]
    assert customer_client.get(f"/api/orders/{order_id}").json()["status"] == "paid"

    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/orders").json()["results"] == []
    foreign = api_client.get(f"/api/orders/{order_id}")
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "order_not_found"

    api_client.force_authenticate(UserFactory(is_staff=True))
    assert api_client.get(f"/api/orders/{order_id}").status_code == 200


def test_orders_list_needs_sign_in(api_client):
    response = api_client.get("/api/orders")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_checkout_start_reserves_and_order_uses_reservation(customer_client, product):
    add_to_cart(customer_client, product, quantity=2)

    started = customer_client.post("/api/checkout")

    assert started.status_code == 201
    body = started.json()
    assert body["total"] == "24.00"
    assert body["lines"][0]["quantity"] == 2
    assert stock_of(product).reserved == 2
    again = customer_client.post("/api/checkout")
    assert again.json()["reservationId"] == body["reservationId"]
    assert stock_of(product).reserved == 2

    assert checkout(customer_client, key=new_key()).status_code == 201
    assert (stock_of(product).on_hand, stock_of(product).reserved) == (8, 0)


def test_checkout_start_empty_cart_is_422(customer_client):
    response = customer_client.post("/api/checkout")

    assert response.status_code == 422
    assert response.json()["code"] == "cart_empty"


def test_order_place_is_throttled_per_customer(customer_client, product, throttle_rates):
    throttle_rates(checkout="2/min")
    add_to_cart(customer_client, product)

    answers = [checkout(customer_client, key=new_key(), token="tok_decline") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [402, 402, 429]
    assert answers[2].json()["code"] == "rate_limited"


def test_one_quote_from_cart_to_charge_invoice_and_refund(customer_client, product, tax_mode):
    # 2 x 12.00 at 20 % VAT: 4.00 of it when prices include VAT, else 4.80 on top.
    expected = (
        {"subtotal": "24.00", "shipping": "0.00", "tax": "4.00", "total": "24.00"}
        if tax_mode
        else {"subtotal": "24.00", "shipping": "0.00", "tax": "4.80", "total": "28.80"}
    )
    add_to_cart(customer_client, product, quantity=2)

    cart = customer_client.get("/api/cart").json()
    started = customer_client.post("/api/checkout").json()
    placed = checkout(customer_client, key=new_key(), expectedTotal=cart["total"])

    assert {field: cart[field] for field in expected} == expected
    assert {field: started[field] for field in expected} == expected
    assert placed.status_code == 201, placed.content
    assert {field: placed.json()[field] for field in expected} == expected
    order = Order.objects.get(pk=placed.json()["orderId"])
    total = Decimal(expected["total"])
    assert MockCharge.objects.get().amount == total
    invoice = order.invoices.get()
    assert (invoice.tax_total, invoice.total) == (Decimal(expected["tax"]), total)
    order_refund(order=order, amount=total, idempotency_key="all", reason="x")
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == ("refunded", total)


@pytest.fixture
def delivery_zone(django_capture_on_commit_callbacks):
    from carts.models import DeliveryZone

    with django_capture_on_commit_callbacks(execute=True):
        DeliveryZone.objects.create(
            name="Home", countries=["GB"], rate=Decimal("4.95"), free_above=Decimal("50.00")
        )


def test_delivery_is_charged_invoiced_and_shown_by_the_zone_rule(
    customer_client, product, delivery_zone, tax_mode
):
    # 2 x 12.00 and 4.95 delivery to GB at 20 % VAT: 0.83 of the delivery is VAT, or 0.99 added.
    expected = (
        {"subtotal": "24.00", "shipping": "4.95", "tax": "4.83", "total": "28.95"}
        if tax_mode
        else {"subtotal": "24.00", "shipping": "4.95", "tax": "5.79", "total": "34.74"}
    )
    add_to_cart(customer_client, product, quantity=2)
    cart = customer_client.get("/api/cart").json()

    placed = checkout(customer_client, key=new_key(), expectedTotal=cart["total"])

    assert placed.status_code == 201, placed.content
    assert {field: placed.json()[field] for field in expected} == expected
    assert cart["freeDeliveryRemaining"] == "26.00"
    order = Order.objects.get()
    invoice = order.invoices.get()
    delivery = invoice.lines.get(sku="DELIVERY")
    assert (delivery.total, invoice.total) == (
        Decimal("4.95") + (0 if tax_mode else Decimal("0.99")),
        order.total,
    )
    assert MockCharge.objects.get().amount == order.total


def test_a_country_outside_every_delivery_zone_is_refused_with_nothing_charged(
    customer_client, product, delivery_zone
):
    add_to_cart(customer_client, product)

    refused = checkout(
        customer_client,
        key=new_key(),
        shippingAddress={**ADDRESS, "country": "US"},
    )

    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "delivery_not_available"
    assert refused.json()["countries"] == ["GB"]
    assert not Order.objects.exists() and not MockCharge.objects.exists()
    assert stock_of(product).reserved == 0


def test_an_address_without_a_country_is_delivered_in_the_shops_country(
    customer_client, product, settings
):
    settings.SHOP_COUNTRY = "PL"
    add_to_cart(customer_client, product)
    address = {key: value for key, value in ADDRESS.items() if key != "country"}

    response = checkout(customer_client, key=new_key(), shippingAddress=address)

    assert response.status_code == 201, response.content
    assert response.json()["shippingAddress"]["country"] == "PL"
    assert Order.objects.get().shipping_address["country"] == "PL"


@pytest.mark.parametrize(("sent", "stored"), [("pl", "PL"), ("De", "DE")])
def test_the_country_is_an_iso_code_in_any_case_and_answered_in_capitals(
    customer_client, product, sent, stored
):
    add_to_cart(customer_client, product)

    response = checkout(
        customer_client, key=new_key(), shippingAddress={**ADDRESS, "country": sent}
    )

    assert response.status_code == 201, response.content
    assert response.json()["shippingAddress"]["country"] == stored


@pytest.mark.parametrize("country", ["XX", "UK", "1A"])
def test_a_country_code_iso_3166_does_not_know_is_refused_before_anything_is_charged(
    customer_client, product, country
):
    add_to_cart(customer_client, product)

    response = checkout(
        customer_client, key=new_key(), shippingAddress={**ADDRESS, "country": country}
    )

    assert response.status_code == 400, response.content
    assert "shippingAddress" in str(response.json())
    assert not Order.objects.exists() and not MockCharge.objects.exists()
