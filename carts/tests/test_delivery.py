"""Delivery charges by the shop's zones: the quote, the cart's estimate, the admin."""

from decimal import Decimal

import pytest

from carts.errors import DeliveryNotAvailable
from carts.models import DeliveryZone
from carts.pricing import checkout_quote
from carts.selectors import delivery_rates
from carts.tests.factories import CartItemFactory, stocked_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def zones(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        DeliveryZone.objects.create(
            name="Home", countries=["GB"], rate=Decimal("4.95"), free_above=Decimal("50.00")
        )
        DeliveryZone.objects.create(name="Europe", countries=["FR", "DE"], rate=Decimal("9.90"))
        DeliveryZone.objects.create(
            name="Closed", countries=["IT"], rate=Decimal("1.00"), is_active=False
        )


def quote(*prices_and_quantities, country=None):
    items = [
        CartItemFactory.build(product__price=Decimal(price), quantity=quantity, product__pk=index)
        for index, (price, quantity) in enumerate(prices_and_quantities, start=1)
    ]
    return checkout_quote(items=items, delivery_rates=delivery_rates(), country=country)


def test_without_zones_delivery_is_free_everywhere():
    assert quote(("12.00", 2), country="JP").shipping == Decimal("0.00")


def test_a_zone_charges_its_flat_rate_until_the_subtotal_reaches_its_threshold(zones):
    below = quote(("12.00", 2), country="GB")
    at = quote(("25.00", 2), country="GB")
    abroad = quote(("25.00", 2), country="fr")

    assert (below.shipping, below.delivery.free_delivery_remaining) == (
        Decimal("4.95"),
        Decimal("26.00"),
    )
    assert (at.shipping, at.delivery.free_delivery_remaining) == (Decimal("0.00"), Decimal("0"))
    assert (abroad.shipping, abroad.delivery.zone) == (Decimal("9.90"), "Europe")


@pytest.mark.parametrize("country", ["US", "IT"])  # IT: its only zone is switched off
def test_a_country_outside_every_active_zone_is_refused(zones, country):
    with pytest.raises(DeliveryNotAvailable) as refused:
        quote(("12.00", 1), country=country)

    assert refused.value.status == 422
    assert refused.value.extra["countries"] == ["DE", "FR", "GB"]


def test_the_estimate_is_for_the_shops_country(zones, settings):
    settings.SHOP_COUNTRY = "DE"

    assert quote(("12.00", 1)).shipping == Decimal("9.90")


def test_vat_on_delivery_follows_the_tax_mode(zones, tax_mode):
    priced = quote(("12.00", 2), country="GB")

    # Goods 24.00 and delivery 4.95 at 20 %: 4.00 + 0.83 included, or 4.80 + 0.99 added.
    if tax_mode:
        assert (priced.tax, priced.total) == (Decimal("4.83"), Decimal("28.95"))
    else:
        assert (priced.tax, priced.total) == (Decimal("5.79"), Decimal("34.74"))


def test_an_edited_zone_prices_the_next_quote(zones, django_capture_on_commit_callbacks):
    assert quote(("12.00", 1), country="GB").shipping == Decimal("4.95")
    zone = DeliveryZone.objects.get(name="Home")
    zone.rate = Decimal("3.50")
    with django_capture_on_commit_callbacks(execute=True):
        zone.save()

    assert quote(("12.00", 1), country="GB").shipping == Decimal("3.50")


def test_the_cart_shows_the_estimate_and_what_is_left_to_free_delivery(api_client, zones):
    product = stocked_product(price=Decimal("12.00"))
    api_client.post("/api/cart/items", {"sku": product.sku, "quantity": 2}, format="json")

    body = api_client.get("/api/cart").json()
    page = api_client.get("/cart/").content.decode()

    assert (body["shipping"], body["freeDeliveryRemaining"], body["total"]) == (
        "4.95",
        "26.00",
        "28.95",
    )
    assert "Add €26.00 more for free delivery." in page


def test_staff_edit_delivery_zones_in_the_admin(client, zones):
    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    listed = client.get("/admin/carts/deliveryzone/")
    added = client.get("/admin/carts/deliveryzone/add/")

    assert listed.status_code == added.status_code == 200
    assert "Europe" in listed.content.decode() and "DE, FR" in listed.content.decode()
