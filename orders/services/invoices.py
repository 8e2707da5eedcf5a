"""Invoices and credit notes: numbered gap-free per series and year, with frozen seller, buyer,
line and VAT details (a document never changes after it is issued)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from carts.pricing import tax_split
from orders.enums import INVOICE_SERIES, InvoiceKind
from orders.errors import CreditNoteInvalid
from orders.models import DocumentCounter, Invoice, InvoiceLine, Order

# What the delivery line prints in the SKU column. It is no key: the delivery line is told apart
# as the one line without an order line (`InvoiceLine.is_delivery`), so a product whose SKU is
# "DELIVERY" is credited as any other.
SHIPPING_SKU = "DELIVERY"


@dataclass(frozen=True)
class CreditNoteLineRequest:
    sku: str
    quantity: int


def _next_sequence(*, series: str, year: int) -> int:
    """Take the next number of a series, holding the counter row's lock until the caller commits.

    A rolled-back document rolls its number back with it, so numbers have no gaps; concurrent
    issuers queue on the one counter row (created on first use of a year). The increment is one
    `UPDATE ... RETURNING`: it takes the row lock and reads the number in the same round trip,
    which keeps the one lock every checkout queues on held for one statement less.
    """
    number = _counter_increment(series=series, year=year)
    if number is None:
        try:
            with transaction.atomic():
                DocumentCounter.objects.create(series=series, year=year, last_number=0)
        except IntegrityError:
            pass  # another transaction created it first; its row lock orders us after it
        number = _counter_increment(series=series, year=year)
    return number


def _counter_increment(*, series: str, year: int) -> int | None:
    """Add one to the (series, year) counter and return it; None when the row does not exist."""
    quote = connection.ops.quote_name
    last_number = quote("last_number")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(DocumentCounter._meta.db_table)} "
            f"SET {last_number} = {last_number} + 1 "
            f"WHERE {quote('series')} = %s AND {quote('year')} = %s RETURNING {last_number}",
            [series, year],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _issue(
    *,
    order: Order,
    kind: str,
    lines: Sequence[tuple],
    credited_invoice: Invoice | None = None,
    reference: str = "",
    shipping: Decimal = Decimal("0.00"),
) -> Invoice:
    issued_at = timezone.now()
    series = INVOICE_SERIES[kind]
    year = timezone.localtime(issued_at).year
    rows = [
        (
            order_line,
            order_line.sku,
            order_line.name,
            quantity,
            order_line.unit_price,
            tax_split(order_line.unit_price * quantity),
        )
        for order_line, quantity in lines
    ]
    if shipping:  # delivery is invoiced as a line of its own, taxed like the goods
        rows.append((None, SHIPPING_SKU, "Delivery", 1, shipping, tax_split(shipping)))
    taxed_lines = [(row, taxed) for *row, taxed in rows]
    sequence = _next_sequence(series=series, year=year)
    invoice = Invoice.objects.create(
        order=order,
        kind=kind,
        number=f"{series}-{year}-{sequence:06d}",
        series=series,
        year=year,
        sequence=sequence,
        credited_invoice=credited_invoice,
        reference=reference,
        issued_at=issued_at,
        seller_name=settings.SHOP_NAME,
        seller_address=settings.SHOP_SELLER_ADDRESS,
        seller_vat_id=settings.SHOP_SELLER_VAT_ID,
        buyer_name=order.shipping_address.get("name", ""),
        buyer_email=order.email,
        buyer_address=order.shipping_address,
        currency=order.currency,
        vat_rate=settings.VAT_RATE,
        prices_include_tax=settings.PRICES_INCLUDE_TAX,
        net_total=sum((taxed.net for _, taxed in taxed_lines), Decimal("0.00")),
        tax_total=sum((taxed.tax for _, taxed in taxed_lines), Decimal("0.00")),
        total=sum((taxed.gross for _, taxed in taxed_lines), Decimal("0.00")),
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            order_line=order_line,
            sku=sku,
            description=description,
            quantity=quantity,
            unit_price=unit_price,
            net_amount=taxed.net,
            tax_amount=taxed.tax,
            total=taxed.gross,
        )
        for (order_line, sku, description, quantity, unit_price), taxed in taxed_lines
    )
    return invoice


@transaction.atomic(savepoint=False)
def invoice_issue(*, order: Order, first: bool = False) -> Invoice:
    """Issue the order's invoice (one per order, enforced by the database) with the next number.

    Atomic; called inside the checkout's completing transaction, as late as possible, because the
    series counter stays locked until that transaction commits. No savepoint of its own: an
    error rolls back the caller's whole transaction (the number with it, so no gap).
    Idempotent: returns the existing invoice when there is one. `first` says the caller made
    the order paid in this transaction, so it has none yet and nothing is looked up (were there
    one after all, the database refuses the second and the transaction rolls back).
    """
    existing = (
        None if first else Invoice.objects.filter(order=order, kind=InvoiceKind.INVOICE).first()
    )
    if existing is not None:
        return existing
    lines = [(order_line, order_line.quantity) for order_line in order.lines.all()]
    return _issue(order=order, kind=InvoiceKind.INVOICE, lines=lines, shipping=order.shipping)


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    lines: Sequence[CreditNoteLineRequest | Mapping],
    reference: str,
    shipping: Decimal = Decimal("0.00"),
) -> Invoice:
    """Issue a credit note against `invoice` for `lines` (SKU and quantity), in its own series,
    and for `shipping` of its delivery line (at most what is left of it to credit).

    Atomic and idempotent on `reference` (e.g. the return's id): the same reference returns the
    credit note already issued. Refuses quantities above what is left to credit on each line.
    """
    if not reference:
        raise CreditNoteInvalid("A credit note needs a reference.")
    existing = Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, reference=reference).first()
    if existing is not None:
        return existing
    if invoice.kind != InvoiceKind.INVOICE:
        raise CreditNoteInvalid("Only an invoice can be credited.")
    # Lock the invoice so two credit notes cannot both credit the same units.
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    invoice_lines = list(invoice.lines.select_related("order_line"))
    invoiced = {line.sku: line for line in invoice_lines if not line.is_delivery}
    delivery = next((line for line in invoice_lines if line.is_delivery), None)
    credited: dict[str, int] = {}
    credited_shipping = Decimal("0.00")
    for line in InvoiceLine.objects.filter(
        invoice__credited_invoice=invoice, invoice__kind=InvoiceKind.CREDIT_NOTE
    ):
        if line.is_delivery:
            credited_shipping += line.unit_price
        else:
            credited[line.sku] = credited.get(line.sku, 0) + line.quantity
    requested: list[tuple] = []
    for line in lines:
        sku = line["sku"] if isinstance(line, Mapping) else line.sku
        quantity = int(line["quantity"] if isinstance(line, Mapping) else line.quantity)
        invoice_line = invoiced.get(sku)
        if invoice_line is None or quantity < 1:
            raise CreditNoteInvalid(f"{sku!r} x {quantity} is not on invoice {invoice.number}.")
        if credited.get(sku, 0) + quantity > invoice_line.quantity:
            raise CreditNoteInvalid(
                f"Only {invoice_line.quantity - credited.get(sku, 0)} of {sku} can still be "
                "credited."
            )
        credited[sku] = credited.get(sku, 0) + quantity
        requested.append((invoice_line.order_line, quantity))
    if shipping and (delivery is None or credited_shipping + shipping > delivery.unit_price):
        raise CreditNoteInvalid(f"Delivery of {shipping} is not left to credit.")
    if not requested:
        raise CreditNoteInvalid("A credit note needs at least one line.")
    return _issue(
        order=invoice.order,
        kind=InvoiceKind.CREDIT_NOTE,
        lines=requested,
        credited_invoice=invoice,
        reference=reference,
        shipping=shipping,
    )
