"""Invoice and credit note PDFs: any name and address prints exactly, lines run over pages with
the totals after the last, amounts right-aligned, the seller from settings, page numbers."""

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from orders.documents import invoice_pdf
from orders.models import Invoice, Order
from orders.services import CreditNoteLineRequest, credit_note_issue
from orders.tests.conftest import add_to_cart, checkout, new_key, pdf_pages_text, pdf_text
from orders.tests.factories import stocked_product
from yourlocalshop.pdf import FONT, NORMAL, ShopPdf

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Zoë Łukasiewicz 王小明",
    "line1": "ul. Żółwia 5",
    "line2": "Çiçek Apt. Daire 3",
    "city": "Łódź",
    "postcode": "90-001",
    "country": "PL",
}
PRODUCT_NAMES = [
    "Wildflower Honey",
    "Μέλι θυμαρίσιο (Greek thyme honey)",
    "Гречишный мёд",
    "Çam Balı — Muğla",  # noqa: RUF001 (Turkish dotless i)
    "抹茶 ほうじ茶 セット",
    "Miód lipowy z Łodzi",
]


@pytest.fixture(autouse=True)
def _seller(settings):
    settings.SHOP_NAME = "Corner Shop"
    settings.SHOP_SELLER_ADDRESS = "3 Market Square, Hometown"
    settings.SHOP_SELLER_VAT_ID = "GB123456789"


def _order(client, names_and_prices) -> Order:
    for name, price in names_and_prices:
        add_to_cart(client, stocked_product(name=name, price=price, on_hand=50), quantity=2)
    response = checkout(client, key=new_key(), shippingAddress=ADDRESS, email="zoe@example.com")
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["orderId"])


def test_invoice_pdf_prints_every_name_address_line_product_and_total(api_client):
    order = _order(api_client, [(name, Decimal("12.50")) for name in PRODUCT_NAMES])
    invoice = order.invoices.get()

    text = pdf_text(invoice_pdf(invoice))

    assert f"Invoice {invoice.number}" in text
    assert "Zoë Łukasiewicz 王小明" in text
    for line in ("ul. Żółwia 5", "Çiçek Apt. Daire 3", "90-001 Łódź", "zoe@example.com"):
        assert line in text
    for name in PRODUCT_NAMES:
        assert name in text
    for sku in order.lines.values_list("sku", flat=True):
        assert sku in text
    assert "Corner Shop" in text and "3 Market Square, Hometown" in text
    assert "VAT ID GB123456789" in text
    assert f"{invoice.net_total:,.2f} EUR" in text
    assert f"{invoice.tax_total:,.2f} EUR" in text
    assert f"Total {invoice.total:,.2f} EUR" in text
    assert "Page 1 of 1" in text


def test_forty_line_invoice_runs_over_pages_with_the_totals_on_the_last(api_client):
    order = _order(api_client, [(f"Jar of jam no. {n:02d}", Decimal("3.10")) for n in range(40)])
    invoice = order.invoices.get()

    pages = pdf_pages_text(invoice_pdf(invoice))

    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Unit price" in page  # the heading row repeats
    everything = "\n".join(pages)
    for n in range(40):
        assert everything.count(f"Jar of jam no. {n:02d}") == 1
    assert f"Total {invoice.total:,.2f} EUR" in pages[-1]
    assert all("Total " + f"{invoice.total:,.2f}" not in page for page in pages[:-1])


def _right_edges(content: bytes, texts: set[str]) -> dict[str, float]:
    """Where each of `texts` ends on the first page, in points from the left."""
    measure = ShopPdf(title="measure")
    measure.set_font(FONT, size=NORMAL)
    points_per_mm = 72 / 25.4
    edges: dict[str, float] = {}

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip() in texts:
            x = tm[4] * cm[0] + cm[4]
            edges[text.strip()] = x + measure.get_string_width(text.strip()) * points_per_mm

    PdfReader(io.BytesIO(content)).pages[0].extract_text(visitor_text=visit)
    return edges


def test_invoice_amounts_are_right_aligned_with_a_net_column(api_client):
    order = _order(
        api_client, [("Cheap jam", Decimal("2.00")), ("Wheel of cheese", Decimal("1234.50"))]
    )
    invoice = order.invoices.get()
    cheap, cheese = invoice.lines.order_by("unit_price")

    content = invoice_pdf(invoice)
    totals = _right_edges(content, {f"{cheap.total:,.2f}", f"{cheese.total:,.2f}"})
    nets = _right_edges(content, {f"{cheap.net_amount:,.2f}", f"{cheese.net_amount:,.2f}"})

    assert "Net" in pdf_text(content)
    assert len(totals) == 2 and len(nets) == 2
    assert abs(totals[f"{cheap.total:,.2f}"] - totals[f"{cheese.total:,.2f}"]) < 1
    assert abs(nets[f"{cheap.net_amount:,.2f}"] - nets[f"{cheese.net_amount:,.2f}"]) < 1


def test_credit_note_pdf_names_the_credited_invoice(api_client):
    order = _order(api_client, [(PRODUCT_NAMES[4], Decimal("8.00"))])
    invoice = order.invoices.get()
    line = order.lines.get()
    credit_note = credit_note_issue(
        invoice=invoice,
        lines=[CreditNoteLineRequest(sku=line.sku, quantity=1)],
        reference="test:credit",
    )

    text = pdf_text(invoice_pdf(Invoice.objects.get(pk=credit_note.pk)))

    assert f"Credit note {credit_note.number}" in text
    assert f"Credits invoice {invoice.number}" in text
    assert "抹茶 ほうじ茶 セット" in text
    assert "Zoë Łukasiewicz 王小明" in text
    assert f"Total {credit_note.total:,.2f} EUR" in text


def test_invoice_pdf_embeds_every_font_it_uses(api_client):
    """Nothing depends on the reader's or the server's fonts: the Docker image, make run and
    any PDF viewer show the same glyphs."""
    order = _order(api_client, [(PRODUCT_NAMES[4], Decimal("8.00"))])

    page = PdfReader(io.BytesIO(invoice_pdf(order.invoices.get()))).pages[0]
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]

    assert len(fonts) >= 3  # regular, bold and the CJK fallback
    for font in fonts:
        descendant = font["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"].get_object()


def test_invoice_and_credit_note_print_the_address_in_the_countrys_order(api_client):
    from orders.documents import invoice_html

    british = {"name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "London"}
    british |= {"postcode": "N1 1AA", "country": "GB"}
    add_to_cart(api_client, stocked_product(name="Oat milk", price=Decimal("2.40"), on_hand=5))
    response = checkout(api_client, key=new_key(), shippingAddress=british, email="ada@example.com")
    order = Order.objects.get(pk=response.json()["orderId"])
    invoice = order.invoices.get()
    credit_note = credit_note_issue(
        invoice=invoice,
        lines=[CreditNoteLineRequest(sku=order.lines.get().sku, quantity=1)],
        reference="test:credit",
    )

    for document in (invoice, Invoice.objects.get(pk=credit_note.pk)):
        # The British order: the town, then the postcode on a line of its own, then the country.
        assert "1 Analytical Way\nLondon\nN1 1AA\nUnited Kingdom" in pdf_text(invoice_pdf(document))
        # The same order in the browser's copy, the email after the address as on the PDF.
        html = invoice_html(document)
        assert "1 Analytical Way<br>London<br>N1 1AA<br>United Kingdom<br>ada@example.com" in html
