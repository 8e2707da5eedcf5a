from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from catalogue.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_product_admin_list_searches_and_filters(admin_client):
    tea = CategoryFactory(slug="tea", name="Tea")
    ProductFactory(sku="TEA-1", name="Earl Grey", category=tea, price=Decimal("4.50"))
    ProductFactory(sku="MUG-1", name="Mug", price=Decimal("12.00"))
    ProductFactory(sku="OLD-1", name="Old Kettle", price=Decimal("60.00"), is_active=False)

    searched = admin_client.get("/admin/catalogue/product/", {"q": "earl"})
    by_category = admin_client.get("/admin/catalogue/product/", {"category__id__exact": tea.id})
    by_price = admin_client.get("/admin/catalogue/product/", {"price_band": "5-20"})
    inactive = admin_client.get("/admin/catalogue/product/", {"is_active__exact": "0"})

    assert searched.status_code == 200
    assert "TEA-1" in searched.text and "MUG-1" not in searched.text
    assert "TEA-1" in by_category.text and "MUG-1" not in by_category.text
    assert "MUG-1" in by_price.text and "TEA-1" not in by_price.text
    assert "OLD-1" in inactive.text and "TEA-1" not in inactive.text


def test_product_admin_shows_stock_read_only(admin_client, set_stock):
    product = ProductFactory(sku="TEA-1")
    set_stock(product, 17)

    response = admin_client.get(f"/admin/catalogue/product/{product.id}/change/")

    assert response.status_code == 200
    assert "On hand" in response.text
    assert "17" in response.text
    assert 'name="stock_item-0-on_hand"' not in response.text


def test_category_admin_list_searches(admin_client):
    CategoryFactory(slug="tea", name="Tea")
    CategoryFactory(slug="soap", name="Soap")

    response = admin_client.get("/admin/catalogue/category/", {"q": "tea"})

    assert response.status_code == 200
    assert "tea" in response.text and "soap" not in response.text
