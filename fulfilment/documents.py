"""The packing slip as a PDF (the printable page is its HTML twin), through the project's one
PDF library (`yourlocalshop.pdf`)."""

from fpdf.fonts import FontFace

from fulfilment.models import PackingTask, Shipment
from fulfilment.selectors import StationLine
from yourlocalshop.addresses import address_lines
from yourlocalshop.pdf import FONT, HEADING, NORMAL, TITLE, ShopPdf


def packing_slip_pdf(
    *, packing_task: PackingTask, lines: list[StationLine], shipment: Shipment | None, shop: str
) -> bytes:
    """An A4 slip: order, ship-to address, courier and tracking number with the parcels once
    booked, and one row per line to tick (SKU, product, location, quantity)."""
    order = packing_task.order
    title = f"Packing slip {order.number}"
    pdf = ShopPdf(title=title, footer_text=f"{title} · {shop}")
    pdf.set_font(FONT, "B", HEADING)
    pdf.cell(0, 6, shop, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", TITLE)
    pdf.cell(0, 10, f"Order {order.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", NORMAL)
    pdf.cell(0, 6, f"Packing task #{packing_task.pk}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    top = pdf.get_y()
    half = pdf.epw / 2
    address_bottom = pdf.lines_block(
        pdf.l_margin, half - 5, "Ship to", address_lines(order.shipping_address)
    )
    courier = ["Courier not booked yet"]
    if shipment is not None:
        weights = ", ".join(f"{weight} g" for weight in shipment.parcel_weights_grams)
        courier = [
            shipment.carrier,
            shipment.tracking_number or "Booking pending",
            f"{len(shipment.parcel_weights_grams)} parcel(s): {weights}",
        ]
    pdf.set_y(top)
    courier_bottom = pdf.lines_block(pdf.l_margin + half, half, "Courier", courier)
    pdf.set_xy(pdf.l_margin, max(address_bottom, courier_bottom) + 6)

    with pdf.table(
        col_widths=(10, 34, 86, 30, 16),
        text_align=("CENTER", "LEFT", "LEFT", "LEFT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=(238, 236, 230)),
        borders_layout="ALL",
        line_height=6,
        padding=(1.2, 1.5),
    ) as table:
        heading = table.row()
        for label in ("✓", "SKU", "Item", "Location", "Qty"):
            heading.cell(label)
        for line in lines:
            row = table.row()
            row.cell("")
            row.cell(line.sku)
            row.cell(line.name)
            row.cell(line.location)
            row.cell(str(line.quantity))
    return pdf.render()
