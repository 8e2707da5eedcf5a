import uuid
from decimal import Decimal

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from carts.enums import CartStatus
from carts.models import Cart, CartItem
from carts.tests.factories import CartFactory, CartItemFactory, stocked_product
from catalogue.tests.factories import ProductFactory

PASSWORD = "correct-horse-battery"
pytestmark = pytest.mark.django_db


def _add(client, sku, quantity=1):
    return client.post("/api/cart/items", {"sku": sku, "quantity": quantity}, format="json")


def test_cart_item_add_as_guest_sets_cookie_and_reuses_the_cart(api_client):
    product = stocked_product(price=Decimal("4.50"))

    first = _add(api_client, product.sku, 2)
    cookie = first.cookies["cart_id"]
    second = _add(api_client, product.sku, 1)

    assert first.status_code == second.status_code == 201
    assert cookie.value == first.json()["id"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True
    assert int(cookie["max-age"]) == 30 * 24 * 60 * 60
    body = second.json()
    assert body["id"] == first.json()["id"]
    assert [(line["sku"], line["quantity"]) for line in body["items"]] == [(product.sku, 3)]
    assert body["items"][0]["lineTotal"] == "13.50"
    assert body["itemCount"] == 3
    assert body["subtotal"] == "13.50"
    assert body["currency"] == "EUR"
    assert Cart.objects.count() == 1


def test_cart_retrieve_empty_for_new_client(api_client):
    response = api_client.get("/api/cart")

    assert response.status_code == 200
    assert response.json() == {
        "id": None,
        "items": [],
        "itemCount": 0,
        "subtotal": "0.00",
        "shipping": "0.00",
        "freeDeliveryRemaining": None,
        "tax": "0.00",
        "total": "0.00",
        "currency": "EUR",
        "warnings": [],
    }
    assert "cart_id" not in response.cookies


def test_cart_survives_restart_with_the_same_cookie(api_client):
    product = stocked_product()
    cart_id = _add(api_client, product.sku, 2).json()["id"]

    new_client = APIClient()
    new_client.cookies["cart_id"] = cart_id
    response = new_client.get("/api/cart")

    assert response.json()["id"] == cart_id
    assert response.json()["items"][0]["quantity"] == 2


@pytest.mark.parametrize("cookie", ["not-a-uuid", str(uuid.uuid4()), "", "'; DROP TABLE"])
def test_cart_unknown_or_malformed_cookie_gets_a_fresh_cart(api_client, cookie):
    product = stocked_product()
    api_client.cookies["cart_id"] = cookie

    assert api_client.get("/api/cart").json()["id"] is None
    response = _add(api_client, product.sku)

    assert response.status_code == 201
    assert response.json()["id"] != cookie
    assert response.cookies["cart_id"].value == response.json()["id"]


@pytest.mark.parametrize(
    "foreign_cart",
    [
        lambda: CartFactory(owner=UserFactory()),
        lambda: CartFactory(status=CartStatus.MERGED),
        lambda: CartFactory(status=CartStatus.CHECKED_OUT),
    ],
    ids=["owned-by-someone-else", "merged", "checked-out"],
)
def test_cart_foreign_cookie_is_ignored(api_client, foreign_cart):
    product = stocked_product()
    cart = foreign_cart()
    CartItemFactory(cart=cart)
    api_client.cookies["cart_id"] = str(cart.pk)

    assert api_client.get("/api/cart").json()["items"] == []
    response = _add(api_client, product.sku)

    assert response.json()["id"] != str(cart.pk)
    assert cart.items.count() == 1


def test_cart_item_update_sets_quantity_and_zero_removes(api_client):
    product = stocked_product()
    item_id = _add(api_client, product.sku, 1).json()["items"][0]["id"]

    updated = api_client.patch(f"/api/cart/items/{item_id}", {"quantity": 5}, format="json")
    removed = api_client.patch(f"/api/cart/items/{item_id}", {"quantity": 0}, format="json")

    assert updated.status_code == 200
    assert updated.json()["items"][0]["quantity"] == 5
    assert removed.status_code == 200
    assert removed.json()["items"] == []
    assert not CartItem.objects.exists()


def test_cart_item_remove_answers_204(api_client):
    product = stocked_product()
    item_id = _add(api_client, product.sku, 1).json()["items"][0]["id"]

    response = api_client.delete(f"/api/cart/items/{item_id}")

    assert response.status_code == 204
    assert api_client.get("/api/cart").json()["items"] == []


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "x", "3", True, None, 21, 10**30])
def test_cart_item_add_rejects_bad_quantities(api_client, quantity):
    product = stocked_product()

    response = _add(api_client, product.sku, quantity)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "quantity" in response.json()["errors"]
    assert not CartItem.objects.exists()


@pytest.mark.parametrize("quantity", [-1, 1.5, "x", False, 21, 10**30])
def test_cart_item_update_rejects_bad_quantities(api_client, quantity):
    product = stocked_product()
    item_id = _add(api_client, product.sku, 2).json()["items"][0]["id"]

    response = api_client.patch(f"/api/cart/items/{item_id}", {"quantity": quantity}, format="json")

    assert response.status_code == 400
    assert "quantity" in response.json()["errors"]
    assert CartItem.objects.get().quantity == 2


def test_cart_item_add_above_line_limit_by_adding_again(api_client):
    product = stocked_product()
    _add(api_client, product.sku, 15)

    response = _add(api_client, product.sku, 6)

    assert response.status_code == 422
    assert response.json()["code"] == "quantity_above_limit"
    assert response.json()["maxQuantity"] == 20
    assert CartItem.objects.get().quantity == 15


def test_cart_item_add_unknown_or_inactive_sku_is_404(api_client):
    inactive = stocked_product(is_active=False)

    unknown = _add(api_client, "NO-SUCH-SKU")
    retired = _add(api_client, inactive.sku)

    assert unknown.status_code == retired.status_code == 404
    assert unknown.json()["code"] == retired.json()["code"] == "product_not_found"
    assert not Cart.objects.filter(items__isnull=False).exists()


def test_cart_item_add_more_than_stock_is_409_with_availability(api_client):
    product = stocked_product(on_hand=3)
    _add(api_client, product.sku, 2)

    response = _add(api_client, product.sku, 2)

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["availability"] == [{"sku": product.sku, "requested": 4, "available": 3}]
    assert CartItem.objects.get().quantity == 2


def test_cart_item_add_without_stock_row_is_409(api_client):
    product = ProductFactory()

    response = _add(api_client, product.sku)

    assert response.status_code == 409
    assert response.json()["availability"][0]["available"] == 0


def test_cart_item_of_another_cart_is_404(api_client):
    product = stocked_product()
    other_item = CartItemFactory(cart=CartFactory(), product=product)
    _add(api_client, product.sku)

    patched = api_client.patch(f"/api/cart/items/{other_item.pk}", {"quantity": 3}, format="json")
    deleted = api_client.delete(f"/api/cart/items/{other_item.pk}")
    huge = api_client.delete(f"/api/cart/items/{10**30}")

    assert patched.status_code == deleted.status_code == huge.status_code == 404
    assert patched.json()["code"] == "cart_item_not_found"
    other_item.refresh_from_db()
    assert other_item.quantity == 1


def test_cart_item_change_without_any_cart_is_404(api_client):
    response = api_client.patch("/api/cart/items/1", {"quantity": 1}, format="json")

    assert response.status_code == 404


def test_cart_price_change_after_add_is_flagged_and_current_price_used(api_client):
    product = stocked_product(price=Decimal("10.00"))
    _add(api_client, product.sku, 2)
    product.price = Decimal("12.00")
    product.save()

    body = api_client.get("/api/cart").json()

    line = body["items"][0]
    assert line["priceChanged"] is True
    assert line["unitPrice"] == "12.00"
    assert line["previousUnitPrice"] == "10.00"
    assert line["lineTotal"] == "24.00"
    assert body["subtotal"] == "24.00"
    assert body["warnings"][0]["code"] == "price_changed"
    assert body["warnings"][0]["sku"] == product.sku


def test_cart_item_add_again_takes_the_new_price(api_client):
    product = stocked_product(price=Decimal("10.00"))
    _add(api_client, product.sku)
    product.price = Decimal("8.00")
    product.save()

    body = _add(api_client, product.sku).json()

    assert body["items"][0]["priceChanged"] is False
    assert body["warnings"] == []


def test_cart_deactivated_product_stays_listed_with_warning(api_client):
    product = stocked_product()
    _add(api_client, product.sku)
    product.is_active = False
    product.save()

    body = api_client.get("/api/cart").json()

    assert len(body["items"]) == 1
    assert body["warnings"][0]["code"] == "product_unavailable"


def test_cart_of_signed_in_customer_has_no_cookie(customer_client):
    product = stocked_product()

    response = _add(customer_client, product.sku)

    assert response.status_code == 201
    assert "cart_id" not in response.cookies
    assert Cart.objects.get().owner is not None


def test_cart_merge_sums_overlap_and_reports_caps(api_client):
    customer = UserFactory()
    overlap = stocked_product(on_hand=100)
    over_limit = stocked_product(on_hand=100)
    scarce = stocked_product(on_hand=4)
    guest_only = stocked_product()
    own_cart = CartFactory(owner=customer)
    CartItemFactory(cart=own_cart, product=overlap, quantity=2)
    CartItemFactory(cart=own_cart, product=over_limit, quantity=15)
    CartItemFactory(cart=own_cart, product=scarce, quantity=1)
    for product, quantity in [(overlap, 3), (over_limit, 10), (scarce, 4), (guest_only, 1)]:
        _add(api_client, product.sku, quantity)
    guest_cart_id = api_client.cookies["cart_id"].value
    api_client.force_authenticate(customer)

    response = api_client.post("/api/cart/merge")

    assert response.status_code == 200
    body = response.json()
    assert body["merged"] is True
    quantities = {line["sku"]: line["quantity"] for line in body["cart"]["items"]}
    assert quantities == {overlap.sku: 5, over_limit.sku: 20, scarce.sku: 4, guest_only.sku: 1}
    assert sorted(body["capped"], key=lambda cap: cap["sku"]) == sorted(
        [
            {"sku": over_limit.sku, "requested": 25, "quantity": 20, "reason": "line_limit"},
            {"sku": scarce.sku, "requested": 5, "quantity": 4, "reason": "insufficient_stock"},
        ],
        key=lambda cap: cap["sku"],
    )
    assert body["cart"]["id"] == str(own_cart.pk)
    assert Cart.objects.get(pk=guest_cart_id).status == CartStatus.MERGED
    assert response.cookies["cart_id"].value == ""


def test_cart_merge_twice_changes_nothing(api_client):
    customer = UserFactory()
    product = stocked_product()
    _add(api_client, product.sku, 2)
    guest_cookie = api_client.cookies["cart_id"].value
    api_client.force_authenticate(customer)
    api_client.post("/api/cart/merge")
    api_client.cookies["cart_id"] = guest_cookie

    response = api_client.post("/api/cart/merge")

    assert response.json()["merged"] is False
    assert response.json()["cart"]["items"][0]["quantity"] == 2


def test_cart_merge_needs_authentication(api_client):
    response = api_client.post("/api/cart/merge")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_cart_merge_never_takes_someone_elses_cart(api_client):
    customer = UserFactory()
    victim_cart = CartFactory(owner=UserFactory())
    CartItemFactory(cart=victim_cart, product=stocked_product())
    api_client.force_authenticate(customer)
    api_client.cookies["cart_id"] = str(victim_cart.pk)

    response = api_client.post("/api/cart/merge")

    assert response.json()["merged"] is False
    assert response.json()["cart"]["items"] == []
    victim_cart.refresh_from_db()
    assert victim_cart.status == CartStatus.OPEN


def test_cart_merged_automatically_on_api_login(api_client):
    customer = UserFactory(email="grace@example.com")
    product = stocked_product()
    own_cart = CartFactory(owner=customer)
    CartItemFactory(cart=own_cart, product=product, quantity=1)
    _add(api_client, product.sku, 2)
    guest_cart_id = api_client.cookies["cart_id"].value

    response = api_client.post(
        "/api/auth/login", {"email": "grace@example.com", "password": PASSWORD}, format="json"
    )

    assert response.json()["cartMerge"] == {"merged": True, "capped": []}
    assert response.cookies["cart_id"].value == ""
    cart = api_client.get("/api/cart").json()
    assert cart["id"] == str(own_cart.pk)
    assert cart["items"][0]["quantity"] == 3
    assert Cart.objects.get(pk=guest_cart_id).status == CartStatus.MERGED


def test_cart_merged_automatically_on_registration(api_client):
    product = stocked_product()
    _add(api_client, product.sku, 2)

    response = api_client.post(
        "/api/auth/register",
        {"email": "new@example.com", "password": "a-long-unusual-passphrase"},
        format="json",
    )

    assert response.json()["cartMerge"]["merged"] is True
    assert api_client.get("/api/cart").json()["items"][0]["quantity"] == 2


@override_settings(DEBUG=True)
def test_cart_cookie_not_secure_in_debug(api_client):
    product = stocked_product()

    response = _add(api_client, product.sku)

    assert response.cookies["cart_id"]["secure"] == ""


def test_cart_item_update_of_retired_product_can_only_go_down(api_client):
    product = stocked_product()
    item_id = _add(api_client, product.sku, 3).json()["items"][0]["id"]
    product.is_active = False
    product.save()

    raised = api_client.patch(f"/api/cart/items/{item_id}", {"quantity": 4}, format="json")
    lowered = api_client.patch(f"/api/cart/items/{item_id}", {"quantity": 1}, format="json")

    assert raised.status_code == 404
    assert raised.json()["code"] == "product_not_found"
    assert lowered.status_code == 200
    assert lowered.json()["items"][0]["quantity"] == 1


def test_cart_admin_is_read_only_and_searchable_by_email(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    shopper = UserFactory(email="shopper@example.com")
    cart = CartFactory(owner=shopper)
    CartItemFactory(cart=cart, product=stocked_product(name="Blue teapot"))
    CartFactory(owner=UserFactory(email="someone-else@example.com"))
    client.force_login(staff)

    found = client.get("/admin/carts/cart/", {"q": "SHOPPER@example"})
    detail = client.get(f"/admin/carts/cart/{cart.pk}/change/")
    add = client.get("/admin/carts/cart/add/")
    edit = client.post(f"/admin/carts/cart/{cart.pk}/change/", {"status": "merged"})

    assert found.status_code == 200
    assert str(cart.pk) in found.content.decode()
    assert "someone-else@example.com" not in found.content.decode()
    assert "Blue teapot" in detail.content.decode()
    assert add.status_code == 403
    assert edit.status_code == 403
    cart.refresh_from_db()
    assert cart.status == CartStatus.OPEN
