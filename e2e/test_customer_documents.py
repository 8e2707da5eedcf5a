"""What a customer receives, read as they would: a Polish/Chinese name through checkout, the
confirmation email, the invoice PDF, a return, the refund email and its credit note PDF.

With E2E_SCREENSHOTS_DIR (`make screenshots`) each page and each email's HTML is saved as a PNG.
"""

import io
import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core import mail

try:
    from playwright.sync_api import expect
except ImportError:  # no `make e2e-deps` here: the `browser` marker skips (and CI fails) instead
    expect = None

from accounts.tests.factories import UserFactory
from catalogue.tests.factories import CategoryFactory, ProductFactory
from inventory.enums import MovementReason
from inventory.services import stock_set_on_hand
from orders.models import Order
from returns.enums import ReturnLineCondition
from returns.models import ReturnRequest
from returns.services import return_approve, return_receive

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    # The live server runs in this process: its outbox events are delivered here too, so the
    # emails reach mail.outbox on the PostgreSQL + Redis suite, where no worker runs.
    pytest.mark.usefixtures("outbox_in_process"),
]

PASSWORD = "correct-horse-battery"
NAME = "Zoë Łukasiewicz 王小明"


@pytest.fixture(autouse=True)
def _shop(settings):
    settings.PAYMENT_RETRY_BASE_SECONDS = 0.001
    settings.MOCK_PAYMENT_SLOW_MS = 300
    settings.SHOP_NAME = "Corner Shop"
    settings.SHOP_SELLER_ADDRESS = "3 Market Square, Hometown"
    settings.SHOP_RETURN_ADDRESS = "Returns desk, 3 Market Square, Hometown"
    settings.SHOP_SELLER_VAT_ID = "PL1234567890"


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _email(subject_part: str) -> mail.EmailMultiAlternatives:
    [message] = [message for message in mail.outbox if subject_part in message.subject]
    return message


def _show_email(page, message, snap, name: str) -> None:
    """The email's HTML as a mail client shows it."""
    page.set_content(message.alternatives[0][0])
    snap(page, name)


def _link(text: str, marker: str) -> str:
    url = next(word for word in text.split() if marker in word)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_order_to_credit_note_with_a_polish_and_chinese_name(page, live_server, staff_user, snap):
    from orders.tests.test_pages import ship_order

    pantry = CategoryFactory(name="Pantry", slug="pantry")
    honey = ProductFactory(name="Miód lipowy z Łodzi", category=pantry, price=Decimal("9.50"))
    tea = ProductFactory(name="抹茶 ほうじ茶 セット", category=pantry, price=Decimal("14.00"))
    for product in (honey, tea):
        stock_set_on_hand(product=product, on_hand=20, kind=MovementReason.SEED)
    customer = UserFactory(email="zoe@example.com", full_name=NAME)

    page.goto("/account/login/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    for product, quantity in ((honey, 2), (tea, 1)):
        page.goto(f"/products/{product.sku}/")
        page.get_by_label("Quantity").fill(str(quantity))
        page.get_by_role("button", name="Add to cart").click()
    page.goto("/checkout/")
    page.get_by_label("Full name").fill(NAME)
    page.get_by_label("Address", exact=True).fill("ul. Żółwia 5")
    page.get_by_label("Town or city").fill("Łódź")
    page.get_by_label("Postcode").fill("90-001")
    page.get_by_label("Country").select_option("PL")
    page.locator("input[name=payment_token][value=tok_success]").check()
    snap(page, "checkout")
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    snap(page, "order-confirmation")
    order = Order.objects.get()

    confirmation = _email(f"order {order.number} confirmed")
    assert confirmation.to == ["zoe@example.com"]
    assert f"Hello {NAME}," in confirmation.body
    assert "Miód lipowy z Łodzi: 2 x €9.50 = €19.00" in confirmation.body
    assert "抹茶 ほうじ茶 セット: 1 x €14.00 = €14.00" in confirmation.body
    _show_email(page, confirmation, snap, "confirmation-email")

    invoice_pdf = page.request.get(_link(confirmation.body, "/api/invoices/"))
    assert invoice_pdf.headers["content-type"] == "application/pdf"
    invoice_text = _pdf_text(invoice_pdf.body())
    for text in (
        NAME,
        "ul. Żółwia 5",
        "90-001 Łódź",
        "Miód lipowy z Łodzi",
        "抹茶 ほうじ茶 セット",
    ):
        assert text in invoice_text
    assert f"Total {order.total:,.2f} EUR" in invoice_text
    assert "VAT ID PL1234567890" in invoice_text

    page.goto(f"/orders/{order.pk}/")
    # In Poland's order: the postcode before the town, the country by its name.
    expect(page.get_by_test_id("delivery-address")).to_have_text(
        re.compile(rf"{NAME}\s+ul\. Żółwia 5\s+90-001 Łódź\s+Poland"), use_inner_text=True
    )
    page.get_by_role("link", name="View invoice in the browser").click()
    expect(page.get_by_text("90-001 Łódź")).to_be_visible()
    snap(page, "invoice")

    ship_order(order, staff_user)
    page.goto(_link(confirmation.body, "/orders/"))
    page.get_by_role("link", name="Return items").click()
    page.get_by_label("How many 抹茶 ほうじ茶 セット to return").fill("1")
    page.get_by_label("Why are you returning 抹茶 ほうじ茶 セット?").select_option("defective")
    page.get_by_role("button", name="Request the return").click()
    expect(page.get_by_text("is requested. We will email you the next steps.")).to_be_visible()
    return_request = ReturnRequest.objects.get()

    return_request = return_approve(return_request=return_request, user=staff_user)
    approved = _email(f"{return_request.rma_number} is approved")
    assert "Returns desk, 3 Market Square, Hometown" in approved.body
    _show_email(page, approved, snap, "return-approved-email")
    return_receive(
        return_request=return_request,
        conditions={line.pk: ReturnLineCondition.RESELLABLE for line in return_request.lines.all()},
        user=staff_user,
    )
    return_request.refresh_from_db()
    credit_note = return_request.credit_note

    refunded = _email(f"{return_request.rma_number} is refunded")
    assert f"Credit note {credit_note.number} (PDF)" in refunded.body
    _show_email(page, refunded, snap, "refund-email")
    credit_note_pdf = page.request.get(_link(refunded.body, "/api/invoices/"))
    credit_note_text = _pdf_text(credit_note_pdf.body())
    assert f"Credit note {credit_note.number}" in credit_note_text
    assert NAME in credit_note_text and "抹茶 ほうじ茶 セット" in credit_note_text
    assert f"Total {credit_note.total:,.2f} EUR" in credit_note_text

    page.goto(f"/orders/{order.pk}/")
    expect(page.get_by_test_id("credit-notes")).to_contain_text(credit_note.number)
    snap(page, "order-with-credit-note")
    page.get_by_test_id("credit-notes").get_by_role("link", name="view").click()
    expect(page.get_by_role("heading", name=f"Credit note {credit_note.number}")).to_be_visible()
    snap(page, "credit-note")
