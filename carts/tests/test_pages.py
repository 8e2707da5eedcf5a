from decimal import Decimal

import pytest
from django.urls import reverse

from carts.selectors import CART_COOKIE_NAME
from carts.services import cart_create_guest, cart_item_add
from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason
from inventory.services import stock_set_on_hand

pytestmark = pytest.mark.django_db


def _stocked(on_hand: int = 10, **fields):
    product = ProductFactory(**fields)
    stock_set_on_hand(product=product, on_hand=on_hand, kind=MovementReason.SEED)
    return product


def _cart_lines(client) -> list[tuple[str, int]]:
    """What the cart page shows: (sku, quantity) per line."""
    cart = client.get(reverse("carts:cart")).context["cart"]
    return [(line.item.product.sku, line.item.quantity) for line in cart.lines]


def test_empty_cart_page_invites_to_browse(client):
    response = client.get(reverse("carts:cart"))

    assert response.status_code == 200
    assert "Your cart is empty." in response.content.decode()


def test_add_to_cart_creates_a_guest_cart_with_a_cookie_and_shows_it(client):
    product = _stocked(name="Apple juice", price=Decimal("2.50"))

    response = client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "2"})

    assert response.status_code == 302
    assert response["Location"] == reverse("carts:cart")
    cookie = response.cookies[CART_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    page = client.get(reverse("carts:cart")).content.decode()
    assert "Added Apple juice to your cart." in page
    assert "€5.00" in page
    assert 'class="cart-count" aria-label="2 items">2<' in page
    assert _cart_lines(client) == [(product.sku, 2)]


def test_adding_the_same_product_again_adds_to_its_line(client):
    product = _stocked()

    client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "1"})
    client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "3"})

    assert _cart_lines(client) == [(product.sku, 4)]


def test_add_more_than_in_stock_shows_the_domain_errors_detail(client):
    product = _stocked(name="Rare tea", on_hand=2)

    response = client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "3"}, follow=True)

    body = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("catalogue:product_detail", args=[product.sku])
    assert "Only 2 of Rare tea can be sold right now." in body
    assert _cart_lines(client) == []


@pytest.mark.parametrize("quantity", ["0", "-1", "1.5", "x", ""])
def test_add_with_a_bad_quantity_is_refused_with_a_message(client, quantity):
    product = _stocked()

    response = client.post(
        reverse("carts:add"), {"sku": product.sku, "quantity": quantity}, follow=True
    )

    assert response.status_code == 200
    assert "Quantity:" in response.content.decode()
    assert _cart_lines(client) == []


def test_add_above_the_line_limit_and_of_unknown_sku_show_messages(client, settings):
    settings.CART_MAX_QTY_PER_LINE = 5
    product = _stocked(on_hand=50)

    too_many = client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "6"}, follow=True)
    unknown = client.post(reverse("carts:add"), {"sku": "NOPE", "quantity": "1"}, follow=True)

    assert "At most 5 of one product fit in a cart line." in too_many.content.decode()
    assert unknown.status_code == 404
    assert "We could not find that page" in unknown.content.decode()


def test_update_quantity_and_zero_removes(client):
    product = _stocked()
    client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "1"})
    item_id = client.get(reverse("carts:cart")).context["cart"].lines[0].item.id

    updated = client.post(
        reverse("carts:item_update", args=[item_id]), {"quantity": "3"}, follow=True
    )
    assert "Updated the quantity." in updated.content.decode()
    assert _cart_lines(client) == [(product.sku, 3)]

    removed = client.post(
        reverse("carts:item_update", args=[item_id]), {"quantity": "0"}, follow=True
    )
    assert "Removed the item." in removed.content.decode()
    assert _cart_lines(client) == []


def test_remove_line(client):
    product = _stocked()
    client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "2"})
    item_id = client.get(reverse("carts:cart")).context["cart"].lines[0].item.id

    response = client.post(reverse("carts:item_remove", args=[item_id]), follow=True)

    assert "Removed the item." in response.content.decode()
    assert "Your cart is empty." in response.content.decode()


def test_another_carts_item_cannot_be_changed_or_removed(client):
    other_cart = cart_create_guest(client_address="198.51.100.4")
    other_item = cart_item_add(cart=other_cart, sku=_stocked().sku, quantity=1)
    client.post(reverse("carts:add"), {"sku": _stocked().sku, "quantity": "1"})

    update = client.post(
        reverse("carts:item_update", args=[other_item.id]), {"quantity": "5"}, follow=True
    )
    remove = client.post(reverse("carts:item_remove", args=[other_item.id]), follow=True)

    assert "This item is not in your cart." in update.content.decode()
    assert "This item is not in your cart." in remove.content.decode()
    other_item.refresh_from_db()
    assert other_item.quantity == 1


def test_cart_page_warns_about_a_price_change_and_charges_todays_price(client):
    product = _stocked(name="Butter", price=Decimal("3.00"))
    client.post(reverse("carts:add"), {"sku": product.sku, "quantity": "2"})
    product.price = Decimal("3.50")
    product.save()

    body = client.get(reverse("carts:cart")).content.decode()

    assert "The price of Butter changed from 3.00 to 3.50." in body
    assert '<span class="old-price">' in body
    assert "€7.00" in body


def test_cart_pages_accept_only_posts_for_changes(client):
    assert client.get(reverse("carts:add")).status_code == 405
    assert client.get(reverse("carts:item_remove", args=[1])).status_code == 405


def test_cart_page_warns_when_a_lines_stock_dropped_below_its_quantity(client):
    honey = _stocked(on_hand=10, name="Wildflower Honey")
    jam = _stocked(on_hand=10, name="Damson Jam")
    client.post(reverse("carts:add"), {"sku": honey.sku, "quantity": "4"})
    client.post(reverse("carts:add"), {"sku": jam.sku, "quantity": "2"})
    stock_set_on_hand(product=honey, on_hand=3, note="breakage")
    stock_set_on_hand(product=jam, on_hand=0, note="breakage")

    body = client.get(reverse("carts:cart")).content.decode()

    assert "Only 3 of Wildflower Honey left: you have 4 in your cart." in body
    assert "Damson Jam is sold out: remove it to check out." in body


def test_cart_page_sign_in_and_sign_up_links_come_back_to_the_cart(client, django_user_model):
    django_user_model.objects.create_user(email="ada@example.com", password="a-long-password-1")
    body = client.get(reverse("carts:cart")).content.decode()

    assert f'href="{reverse("accounts:login")}?next=/cart/"' in body
    assert f'href="{reverse("accounts:signup")}?next=/cart/"' in body
    signed_in = client.post(
        f"{reverse('accounts:login')}?next=/cart/",
        {"email": "ada@example.com", "password": "a-long-password-1", "next": "/cart/"},
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/cart/"
