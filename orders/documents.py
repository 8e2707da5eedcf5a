"""Invoice and credit note documents: the same frozen data rendered as HTML and as PDF."""

from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse
from fpdf.fonts import FontFace

from orders.enums import InvoiceKind
from orders.models import Invoice
from orders.selectors import invoice_link_key
from yourlocalshop.addresses import address_lines
from yourlocalshop.pdf import FONT, HEADING, NORMAL, TITLE, ShopPdf, amount


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
    """The invoice or credit note as an A4 PDF: parties, one row per line (description, SKU,
    quantity, unit price, net, VAT, total; amounts right-aligned, the heading row repeated on
    every page), the totals after the last line, "Page n of N" in the footer."""
    title = f"{_title(invoice)} {invoice.number}"
    pdf = ShopPdf(title=title, footer_text=f"{title} · {invoice.seller_name}")
    _pdf_heading(pdf, invoice, title=title)
    _pdf_parties(pdf, invoice)
    _pdf_lines(pdf, invoice)
    _pdf_totals(pdf, invoice)
    return pdf.render()


def _pdf_heading(pdf: ShopPdf, invoice: Invoice, *, title: str) -> None:
    pdf.set_font(FONT, "B", TITLE)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", NORMAL)
    issued = f"Issued {invoice.issued_at:%Y-%m-%d} · Order {invoice.order.number}"
    if invoice.credited_invoice_id:
        issued += f" · Credits invoice {invoice.credited_invoice.number}"
    pdf.cell(0, 6, issued, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _pdf_parties(pdf: ShopPdf, invoice: Invoice) -> None:
    """Seller and buyer side by side; what follows starts below the longer of the two."""
    seller = [invoice.seller_name, invoice.seller_address]
    if invoice.seller_vat_id:
        seller.append(f"VAT ID {invoice.seller_vat_id}")
    buyer = [
        invoice.buyer_name,
        *address_lines(invoice.buyer_address, with_name=False),
        invoice.buyer_email,
    ]
    top = pdf.get_y()
    half = pdf.epw / 2
    seller_bottom = pdf.lines_block(pdf.l_margin, half - 5, "Seller", seller)
    pdf.set_y(top)
    buyer_bottom = pdf.lines_block(pdf.l_margin + half, half, "Bill to", buyer)
    pdf.set_xy(pdf.l_margin, max(seller_bottom, buyer_bottom) + 6)


def _pdf_lines(pdf: ShopPdf, invoice: Invoice) -> None:
    """One table row per line; fpdf2 repeats the heading row on every page the table reaches."""
    with pdf.table(
        col_widths=(62, 10, 22, 22, 20, 24),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=(238, 236, 230)),
        borders_layout="HORIZONTAL_LINES",
        line_height=5,
        padding=(1.2, 1.5),
    ) as table:
        heading = table.row()
        for label in (
            "Description",
            "Qty",
            "Unit price",
            "Net",
            "VAT",
            f"Total {invoice.currency}",
        ):
            heading.cell(label)
        for line in invoice.lines.all():
            row = table.row()
            row.cell(f"{line.description}\n{line.sku}")
            row.cell(str(line.quantity))
            row.cell(amount(line.unit_price))
            row.cell(amount(line.net_amount))
            row.cell(amount(line.tax_amount))
            row.cell(amount(line.total))


def _pdf_totals(pdf: ShopPdf, invoice: Invoice) -> None:
    """Net, VAT and total, kept together on one page."""
    vat_label = f"VAT {invoice.vat_rate * 100:.2f}%" + (
        " (included)" if invoice.prices_include_tax else ""
    )
    totals = [
        ("Net", invoice.net_total, ""),
        (vat_label, invoice.tax_total, ""),
        ("Total", invoice.total, "B"),
    ]
    if pdf.will_page_break(6 * len(totals) + 4):
        pdf.add_page()
    pdf.ln(3)
    for label, value, style in totals:
        pdf.set_font(FONT, style, HEADING if style else NORMAL)
        pdf.cell(pdf.epw - 40, 6, label, align="R")
        pdf.cell(40, 6, amount(value, invoice.currency), align="R", new_x="LMARGIN", new_y="NEXT")
