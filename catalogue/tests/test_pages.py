from decimal import Decimal

import pytest
from django.urls import reverse

from catalogue.tests.factories import CategoryFactory, ProductFactory
from inventory.enums import MovementReason
from inventory.services import stock_set_on_hand

pytestmark = pytest.mark.django_db


def _stocked(on_hand: int = 50, **fields):
    product = ProductFactory(**fields)
    stock_set_on_hand(product=product, on_hand=on_hand, kind=MovementReason.SEED)
    return product


def test_home_shows_popular_products_and_categories(client):
    _stocked(name="Sourdough loaf", popularity=90)
    _stocked(name="Rare cheese", popularity=10)
    CategoryFactory(name="Bakery", slug="bakery")

    response = client.get(reverse("catalogue:home"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "Popular right now" in body
    assert body.index("Sourdough loaf") < body.index("Rare cheese")
    assert "Bakery" in body
    assert '<main id="content"' in body


def test_product_list_formats_prices_with_the_shop_currency(client, settings):
    settings.SHOP_CURRENCY = "EUR"
    _stocked(name="Olive oil", price=Decimal("1234.5"))

    response = client.get(reverse("catalogue:product_list"))

    assert response.status_code == 200
    assert "€1,234.50" in response.content.decode()


def test_product_list_searches_filters_and_sorts(client):
    _stocked(name="Green tea", price=Decimal("4.00"))
    _stocked(name="Black tea", price=Decimal("6.00"))
    _stocked(name="Coffee beans", price=Decimal("8.00"))
    _stocked(name="Sold-out tea", price=Decimal("5.00"), on_hand=0)

    response = client.get(
        reverse("catalogue:product_list"),
        {"q": "tea", "ordering": "-price", "in_stock": "true", "max_price": "10"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "Results for “tea”" in body
    assert body.index("Black <mark>tea</mark>") < body.index("Green <mark>tea</mark>")
    assert "Coffee beans" not in body
    assert "Sold-out tea" not in body
    assert "2 products" in body


def test_product_list_category_includes_sub_categories(client):
    food = CategoryFactory(name="Food", slug="food")
    bakery = CategoryFactory(name="Bakery", slug="bakery", parent=food)
    _stocked(name="Rye bread", category=bakery)
    _stocked(name="Garden hose", category=CategoryFactory(name="Garden", slug="garden"))

    response = client.get(reverse("catalogue:product_list"), {"category": "food"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Food</h1>" in body
    assert "Rye bread" in body
    assert "Garden hose" not in body


def test_product_list_unknown_category_is_the_friendly_404(client):
    response = client.get(reverse("catalogue:product_list"), {"category": "no-such-thing"})

    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_product_list_bad_filter_values_show_field_errors(client):
    _stocked(name="Honey")

    response = client.get(
        reverse("catalogue:product_list"), {"min_price": "cheap", "max_price": "-1"}
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert "Some filters were not valid" in body
    assert 'aria-invalid="true"' in body
    assert "Honey" in body


def test_product_list_paginates_and_keeps_the_query_in_page_links(client):
    for number in range(30):
        _stocked(name=f"Candle {number:02d}", popularity=100 - number)

    first = client.get(reverse("catalogue:product_list"), {"q": "Candle"})
    second = client.get(reverse("catalogue:product_list"), {"q": "Candle", "page": "2"})
    beyond = client.get(reverse("catalogue:product_list"), {"q": "Candle", "page": "999"})

    assert "page 1 of 2" in first.content.decode()
    assert 'href="?q=Candle&amp;page=2"' in first.content.decode()
    assert "<mark>Candle</mark> 00" in first.content.decode()
    assert "<mark>Candle</mark> 29" in second.content.decode()
    assert "<mark>Candle</mark> 00" not in second.content.decode()
    assert beyond.status_code == 200
    assert "page 2 of 2" in beyond.content.decode()


def test_product_detail_shows_price_stock_hint_and_add_to_cart_form(client):
    product = _stocked(name="Wool socks", price=Decimal("12.00"), on_hand=3)

    response = client.get(reverse("catalogue:product_detail", args=[product.sku]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Wool socks</h1>" in body
    assert "€12.00" in body
    assert "Only a few left" in body
    assert 'action="/cart/add/"' in body
    assert "csrfmiddlewaretoken" in body


def test_product_detail_of_a_sold_out_product_offers_no_add_to_cart(client):
    product = _stocked(name="Snow globe", on_hand=0)

    body = client.get(reverse("catalogue:product_detail", args=[product.sku])).content.decode()

    assert "Out of stock" in body
    assert "Add to cart" not in body


def test_product_detail_of_unknown_or_inactive_sku_is_404(client):
    inactive = _stocked(is_active=False)

    assert client.get(reverse("catalogue:product_detail", args=["NOPE"])).status_code == 404
    assert client.get(reverse("catalogue:product_detail", args=[inactive.sku])).status_code == 404


def test_static_files_are_linked_from_every_page(client):
    body = client.get(reverse("catalogue:home")).content.decode()

    assert "/static/css/shop.css" in body
    assert "/static/js/shop.js" in body
