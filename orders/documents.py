"""Invoice and credit note documents: the same frozen data rendered as HTML and as PDF."""

from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse

from orders.enums import InvoiceKind
from orders.models import Invoice
from orders.pdf import PAGE_HEIGHT, PdfDocument
from orders.selectors import invoice_link_key
from yourlocalshop.addresses import address_lines

LINES_PER_PAGE = 30


def _title(invoice: Invoice) -> str:
    return "Credit note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "Invoice"


def invoice_document_path(invoice: Invoice, *, pdf: bool = True) -> str:
    """The document's path with the key that opens it without signing in (for emails)."""
    path = reverse("invoice-pdf" if pdf else "invoice-html", args=[invoice.pk])
    return f"{path}?{urlencode({'key': invoice_link_key(invoice_id=invoice.pk)})}"


def invoice_html(invoice: Invoice) -> str:
    return render_to_string(
        "orders/invoice.html",
        {
            "invoice": invoice,
            "title": _title(invoice),
            "buyer_address_lines": address_lines(invoice.buyer_address, with_name=False),
            "vat_percent": invoice.vat_rate * 100,
        },
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    document = PdfDocument()
    top = PAGE_HEIGHT - 60
    document.text(50, top, f"{_title(invoice)} {invoice.number}", size=18, bold=True)
    document.text(
        50, top - 22, f"Issued {invoice.issued_at:%Y-%m-%d}, order {invoice.order.number}"
    )
    if invoice.credited_invoice_id:
        document.text(50, top - 36, f"Credits invoice {invoice.credited_invoice.number}")
    seller = [invoice.seller_name, invoice.seller_address]
    if invoice.seller_vat_id:
        seller.append(f"VAT ID {invoice.seller_vat_id}")
    buyer = [
        invoice.buyer_name,
        invoice.buyer_email,
        *address_lines(invoice.buyer_address, with_name=False),
    ]
    document.text(50, top - 64, "Seller", bold=True)
    document.text(320, top - 64, "Bill to", bold=True)
    for index, line in enumerate(seller):
        document.text(50, top - 78 - 13 * index, line)
    for index, line in enumerate(buyer):
        document.text(320, top - 78 - 13 * index, line)

    columns = [
        (50, "SKU"),
        (130, "Description"),
        (330, "Qty"),
        (370, "Unit"),
        (430, "VAT"),
        (490, "Total"),
    ]
    y = top - 170
    for x, heading in columns:
        document.text(x, y, heading, bold=True)
    for index, line in enumerate(invoice.lines.all()):
        if index and index % LINES_PER_PAGE == 0:
            document.new_page()
            y = top
        y -= 15
        for x, value in zip(
            (column[0] for column in columns),
            (
                line.sku,
                line.description[:38],
                str(line.quantity),
                str(line.unit_price),
                str(line.tax_amount),
                str(line.total),
            ),
            strict=True,
        ):
            document.text(x, y, value)
    y -= 30
    vat_label = f"VAT {invoice.vat_rate * 100:.2f}%" + (
        " (included)" if invoice.prices_include_tax else ""
    )
    for label, amount, bold in (
        ("Net", invoice.net_total, False),
        (vat_label, invoice.tax_total, False),
        ("Total", invoice.total, True),
    ):
        document.text(370, y, label, bold=bold)
        document.text(490, y, f"{amount} {invoice.currency}", bold=bold)
        y -= 15
    return document.render()
