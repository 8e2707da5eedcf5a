"""The customer's journey through the server-rendered shop, in a real browser."""

from decimal import Decimal

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # no `make e2e-deps` here: the `browser` marker skips (and CI fails) instead
    expect = None

from catalogue.tests.factories import CategoryFactory, ProductFactory
from inventory.enums import MovementReason
from inventory.selectors import available_by_product_id
from inventory.services import stock_set_on_hand
from mockproviders.models import MockCharge
from orders.enums import OrderStatus
from orders.models import Order

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
        stock_set_on_hand(product=product, on_hand=25, kind=MovementReason.SEED)
    return products


@pytest.fixture(autouse=True)
def _quick_payment_provider(settings):
    settings.PAYMENT_RETRY_BASE_SECONDS = 0.001
    settings.MOCK_PAYMENT_SLOW_MS = 800


def _add_to_cart(page, product, quantity: int = 1):
    page.goto(f"/products/{product.sku}/")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text(f"Added {product.name} to your cart.")).to_be_visible()


def _fill_checkout(page, *, token: str, email: str | None = "guest@example.com"):
    if email is not None:
        page.get_by_label("Email for the receipt").fill(email)
    page.get_by_label("Full name").fill("Sam Shopper")
    page.get_by_label("Address", exact=True).fill("3 Market Square")
    page.get_by_label("Town or city").fill("Hometown")
    page.get_by_label("Postcode").fill("HT1 1AA")
    page.get_by_label("Country").select_option("GB")
    page.locator(f"input[name=payment_token][value={token}]").check()


def test_browse_search_add_two_products_sign_up_and_keep_the_cart(page, shelves, snap):
    page.goto("/")
    expect(page.get_by_role("heading", name="Popular right now")).to_be_visible()
    # The stylesheet is served under the live server with DEBUG off.
    header_colour = "getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    assert page.evaluate(header_colour) == "rgb(31, 95, 74)"
    snap(page, "home")
    page.set_viewport_size({"width": 390, "height": 844})
    # Responsive: nothing wider than a phone's screen, so no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    snap(page, "home-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

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

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cart").click()
    expect(page.get_by_role("link", name="Wildflower honey")).to_be_visible()
    expect(page.get_by_role("link", name="Strawberry jam")).to_be_visible()
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("€19.25")
    snap(page, "merged-cart")

    page.get_by_role("link", name="Go to checkout").click()
    expect(page.get_by_text("This shop runs in test mode")).to_be_visible()
    _fill_checkout(page, token="tok_success", email=None)
    snap(page, "checkout")
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    order = Order.objects.get()
    expect(page.get_by_test_id("order-number")).to_have_text(order.number)
    assert order.status == OrderStatus.PAID
    assert order.user.email == "shopper@example.com"
    assert order.total == Decimal("19.25")
    snap(page, "confirmation")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My orders").click()
    expect(page.get_by_role("link", name=order.number)).to_be_visible()
    snap(page, "order-history")
    page.get_by_role("link", name=order.number).click()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    invoice_number = order.invoices.get().number
    expect(
        page.get_by_role("link", name=f"Download invoice {invoice_number} (PDF)")
    ).to_be_visible()
    snap(page, "order-detail")


def test_checkout_charges_the_total_shown_in_either_tax_mode(page, shelves, snap, tax_mode):
    # 2 x 4.25 at 20 % VAT: 8.50 with 1.42 of VAT in it, or 8.50 and 1.70 of VAT on top.
    total, tax = ("€8.50", "€1.42") if tax_mode else ("€10.20", "€1.70")
    _add_to_cart(page, shelves["jam"], quantity=2)
    page.goto("/cart/")
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("€8.50")
    expect(page.get_by_test_id("cart-total")).to_have_text(total)
    expect(page.get_by_test_id("cart-tax")).to_have_count(0 if tax_mode else 1)
    snap(page, f"cart-{'tax-included' if tax_mode else 'tax-added'}")

    page.get_by_role("link", name="Go to checkout").click()
    expect(page.get_by_test_id("checkout-total")).to_have_text(total)
    _fill_checkout(page, token="tok_success")
    snap(page, f"checkout-{'tax-included' if tax_mode else 'tax-added'}")
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    expect(page.get_by_test_id("order-total")).to_have_text(total)
    expect(page.get_by_text(tax)).to_be_visible()
    snap(page, f"confirmation-{'tax-included' if tax_mode else 'tax-added'}")
    order = Order.objects.get()
    assert f"€{order.total}" == total
    assert MockCharge.objects.get().amount == order.total


def test_double_click_on_place_order_creates_one_order(page, shelves, snap):
    _add_to_cart(page, shelves["trowel"])
    page.goto("/checkout/")
    _fill_checkout(page, token="tok_slow")

    page.get_by_role("button", name="Place order").dblclick()

    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    snap(page, "confirmation-after-double-click")
    assert Order.objects.count() == 1
    assert MockCharge.objects.count() == 1
    page.reload()
    expect(page.get_by_test_id("order-number")).to_have_text(Order.objects.get().number)
    assert Order.objects.count() == 1


@pytest.mark.postgres
def test_two_submits_of_the_same_checkout_form_create_one_order(page, shelves):
    """Without the submit-once script (JavaScript off, or a slow page) a second submit reaches
    the server while the first is still paying: the form's idempotency key alone makes it wait
    for that attempt and show its result. (PostgreSQL: the live server's concurrent requests
    need database connections of their own.)"""
    _add_to_cart(page, shelves["honey"])
    page.goto("/checkout/")
    _fill_checkout(page, token="tok_slow")
    checkout_posts = []

    def is_checkout_post(request) -> bool:
        return request.method == "POST" and request.url.endswith("/checkout/")

    page.on(
        "request",
        lambda request: checkout_posts.append(request) if is_checkout_post(request) else None,
    )
    # The slow payment keeps the first attempt running well past the second submit.
    page.evaluate(
        """() => {
            const form = document.querySelector("form[data-submit-once]");
            form.removeAttribute("data-submit-once");
            form.requestSubmit();
            setTimeout(() => form.requestSubmit(), 250);
        }"""
    )

    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    assert len(checkout_posts) == 2
    assert Order.objects.count() == 1
    assert MockCharge.objects.count() == 1


def test_declined_payment_shows_a_clear_error_and_keeps_the_cart(page, shelves, snap):
    _add_to_cart(page, shelves["jam"], quantity=3)
    page.goto("/checkout/")
    _fill_checkout(page, token="tok_decline")

    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_role("alert").filter(has_text="Your card was declined")).to_be_visible()
    expect(page.get_by_label("Address", exact=True)).to_have_value("3 Market Square")
    snap(page, "declined")
    assert Order.objects.get().status == OrderStatus.FAILED
    assert available_by_product_id(product_ids=[shelves["jam"].pk])[shelves["jam"].pk] == 25

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cart").click()
    expect(page.get_by_role("link", name="Strawberry jam")).to_be_visible()
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("€12.75")

    page.goto("/checkout/")
    _fill_checkout(page, token="tok_success")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    assert Order.objects.filter(status=OrderStatus.PAID).count() == 1


def test_a_guest_can_shop_with_javascript_disabled(chromium, live_server, shelves):
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/products/?q=trowel")
        page.get_by_role("link", name="Garden trowel").click()
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_test_id("cart-subtotal")).to_have_text("€12.00")
        page.get_by_role("link", name="Go to checkout").click()
        _fill_checkout(page, token="tok_success")
        page.get_by_role("button", name="Place order").click()

        expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
        expect(page.get_by_test_id("order-number")).to_have_text(Order.objects.get().number)
    finally:
        context.close()


def test_order_page_shows_tracking_and_takes_a_return(page, shelves, staff_user, snap):
    from accounts.tests.factories import UserFactory
    from orders.tests.test_pages import ship_order

    customer = UserFactory(email="regular@example.com")
    page.goto("/account/login/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    _add_to_cart(page, shelves["trowel"], quantity=2)
    page.goto("/checkout/")
    _fill_checkout(page, token="tok_success", email=None)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    order = Order.objects.get()

    shipment = ship_order(order, staff_user)
    page.get_by_role("link", name="View order").click()

    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    expect(page.get_by_test_id("tracking-number")).to_have_text(shipment.tracking_number)
    snap(page, "shipped-order")
    page.get_by_role("link", name="Return items").click()
    page.get_by_label("How many Garden trowel to return").fill("1")
    page.get_by_label("Why are you returning Garden trowel?").select_option("defective")
    snap(page, "return-request")
    page.get_by_role("button", name="Request the return").click()

    expect(page.get_by_text("is requested. We will email you the next steps.")).to_be_visible()
    expect(page.get_by_role("heading", name="Returns")).to_be_visible()
    snap(page, "return-requested")
