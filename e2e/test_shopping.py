"""The customer's journey through the server-rendered shop, in a real browser."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalogue.tests.factories import CategoryFactory, ProductFactory
from inventory.services import stock_set_on_hand

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def shelves():
    pantry = CategoryFactory(name="Pantry", slug="pantry")
    garden = CategoryFactory(name="Garden", slug="garden")
    products = {
        "honey": ProductFactory(
            name="Wildflower honey", category=pantry, price=Decimal("7.50"), popularity=90
        ),
        "jam": ProductFactory(
            name="Strawberry jam", category=pantry, price=Decimal("4.25"), popularity=80
        ),
        "trowel": ProductFactory(
            name="Garden trowel", category=garden, price=Decimal("12.00"), popularity=70
        ),
    }
    for product in products.values():
        stock_set_on_hand(product=product, on_hand=25, reason="seed")
    return products


def test_browse_search_add_two_products_sign_up_and_keep_the_cart(page, shelves, snap):
    page.goto("/")
    expect(page.get_by_role("heading", name="Popular right now")).to_be_visible()
    snap(page, "home")

    page.get_by_role("navigation", name="Categories").get_by_role("link", name="Pantry").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pantry")
    expect(page.get_by_role("link", name="Garden trowel")).to_have_count(0)
    snap(page, "category")

    page.get_by_role("search").get_by_label("Search products").fill("honey")
    page.get_by_role("search").get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “honey”")
    snap(page, "search")

    page.get_by_role("link", name="Wildflower honey").click()
    expect(page.get_by_text("€7.50")).to_be_visible()
    snap(page, "product")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added Wildflower honey to your cart.")).to_be_visible()

    page.goto(f"/products/{shelves['jam'].sku}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added Strawberry jam to your cart.")).to_be_visible()
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("€19.25")
    snap(page, "guest-cart")

    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Email").fill("shopper@example.com")
    page.get_by_label("Full name").fill("Sam Shopper")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    snap(page, "sign-up")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Welcome! Your account is ready.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.get_by_role("link", name="Cart").click()
    expect(page.get_by_role("link", name="Wildflower honey")).to_be_visible()
    expect(page.get_by_role("link", name="Strawberry jam")).to_be_visible()
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("€19.25")
    snap(page, "merged-cart")
