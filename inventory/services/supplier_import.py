"""A supplier's file: new prices and a delivery's received quantities, per SKU.

It lives in inventory because it writes both: prices through `catalogue.services` (below us on
the ladder) and stock through this app's services, with the ledger. The back office's "delivery
import" is this same import (admin: Stock items → Import a supplier file; command:
`import_supplier_file`).

File: CSV (comma or semicolon separated, UTF-8, a header row) or XLSX (first sheet), columns

- `sku` (required): a product's SKU;
- `price` (optional column; an empty cell keeps the price): the new price, e.g. `4.50` (`4,50` in
  a semicolon-separated file);
- `quantity_received` (optional column, also `quantity`; an empty cell or 0 receives nothing):
  units delivered, added to stock with one `receipt` movement.

Other columns (a supplier's names, EANs) are ignored. `supplier_import_plan` checks every row
and says what would change (the preview); `supplier_import_apply` plans again and writes it all
in one transaction, or nothing when any row has an error.
"""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from catalogue import selectors as catalogue_selectors
from catalogue import services as catalogue_services
from inventory.errors import SupplierFileInvalid
from inventory.services.stock import stock_receive_many

MAX_ROWS = 20_000
HEADER_ALIASES = {
    "sku": "sku",
    "price": "price",
    "quantity_received": "quantity_received",
    "quantity": "quantity_received",
}
MAX_PRICE = Decimal("9999999999.99")  # Product.price: 12 digits, 2 after the point


@dataclass(frozen=True)
class SupplierRow:
    """One row of the file as read: `number` is its line in the file (the header is 1)."""

    number: int
    sku: str
    price: str
    quantity_received: str


@dataclass(frozen=True)
class PlannedChange:
    number: int
    sku: str
    name: str
    old_price: Decimal
    new_price: Decimal | None  # None: the price stays
    quantity_received: int  # 0: nothing received

    @property
    def price_changes(self) -> bool:
        return self.new_price is not None and self.new_price != self.old_price


@dataclass
class SupplierImportPlan:
    """What a file would do: every row that changes something, and every row's error."""

    rows: int = 0
    changes: list[PlannedChange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def price_changes(self) -> int:
        return sum(change.price_changes for change in self.changes)

    @property
    def units_received(self) -> int:
        return sum(change.quantity_received for change in self.changes)

    @property
    def products_received(self) -> int:
        return sum(change.quantity_received > 0 for change in self.changes)


@dataclass(frozen=True)
class SupplierImportReport:
    rows: int
    prices_changed: int
    products_received: int
    units_received: int


def supplier_file_read(*, name: str, content: bytes) -> list[SupplierRow]:
    """The rows of a CSV or XLSX file (by its name's extension); `SupplierFileInvalid` when it
    cannot be read, has no `sku` column, or neither a `price` nor a `quantity_received` one."""
    table = _xlsx_table(content) if name.lower().endswith(".xlsx") else _csv_table(content)
    if not table:
        raise SupplierFileInvalid("The file is empty.", errors=["file: no header row"])
    header = [HEADER_ALIASES.get(_header_name(cell)) for cell in table[0]]
    if "sku" not in header:
        raise SupplierFileInvalid("The file has no sku column.", errors=["header: no `sku` column"])
    if "price" not in header and "quantity_received" not in header:
        raise SupplierFileInvalid(
            "The file has neither a price nor a quantity_received column.",
            errors=["header: no `price` or `quantity_received` column"],
        )
    if len(table) - 1 > MAX_ROWS:
        raise SupplierFileInvalid(
            f"The file has more than {MAX_ROWS:,} rows; split it.",
            errors=[f"file: {len(table) - 1:,} rows"],
        )
    columns = {name: header.index(name) for name in set(header) - {None}}
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {
            name: (cells[index] if index < len(cells) else "").strip()
            for name, index in columns.items()
        }
        if not any(values.values()):
            continue  # a blank line
        rows.append(
            SupplierRow(
                number=number,
                sku=values["sku"],
                price=values.get("price", ""),
                quantity_received=values.get("quantity_received", ""),
            )
        )
    return rows


def _header_name(cell: str) -> str:
    return "_".join(str(cell).strip().lower().replace("-", " ").split())


def _csv_table(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SupplierFileInvalid(
            "The file is not UTF-8 text.", errors=["file: save it as CSV UTF-8"]
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _xlsx_table(content: bytes) -> list[list[str]]:
    import openpyxl  # only for XLSX files

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise SupplierFileInvalid(
            "The file is not an XLSX workbook.", errors=[f"file: {error}"]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        return [
            ["" if cell is None else _xlsx_text(cell) for cell in row]
            for row in sheet.iter_rows(values_only=True)
        ]
    finally:
        workbook.close()


def _xlsx_text(value) -> str:
    # A number cell holding 4.5 is the price 4.50, a whole float 12.0 the quantity 12.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def supplier_import_plan(*, rows: list[SupplierRow]) -> SupplierImportPlan:
    """Check every row against the catalogue and say what applying it would change."""
    plan = SupplierImportPlan(rows=len(rows))
    products = catalogue_selectors.products_by_sku(skus=[row.sku for row in rows])
    seen: dict[str, int] = {}
    for row in rows:
        errors = []
        product = products.get(row.sku)
        if not row.sku:
            errors.append("sku: required")
        elif product is None:
            errors.append("sku: no product with this SKU")
        if row.sku in seen:
            errors.append(f"sku: also on row {seen[row.sku]}")
        seen.setdefault(row.sku, row.number)
        price, price_error = _price(row.price)
        quantity, quantity_error = _quantity(row.quantity_received)
        errors += [error for error in (price_error, quantity_error) if error]
        if errors:
            plan.errors += [f"row {row.number} (sku {row.sku!r}): {error}" for error in errors]
            continue
        change = PlannedChange(
            number=row.number,
            sku=row.sku,
            name=product.name,
            old_price=product.price,
            new_price=price,
            quantity_received=quantity,
        )
        if change.price_changes or change.quantity_received:
            plan.changes.append(change)
    return plan


def _price(text: str) -> tuple[Decimal | None, str | None]:
    if not text:
        return None, None
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a decimal comma
    try:
        price = Decimal(text)
    except InvalidOperation:
        return None, f"price: {text!r} is not a number"
    if not price.is_finite() or price < 0:
        return None, f"price: {text!r} must be 0 or more"
    if price != price.quantize(Decimal("0.01")):
        return None, f"price: {text!r} has more than two decimal places"
    if price > MAX_PRICE:
        return None, f"price: {text!r} is too large"
    return price.quantize(Decimal("0.01")), None


def _quantity(text: str) -> tuple[int, str | None]:
    if not text:
        return 0, None
    if not text.isdigit():
        return 0, f"quantity_received: {text!r} must be a whole number of 0 or more"
    return int(text), None


@transaction.atomic
def supplier_import_apply(
    *, rows: list[SupplierRow], reference: str, user=None
) -> SupplierImportReport:
    """Apply a supplier file in one transaction: every price, then every received quantity (one
    `receipt` movement per product, noted with `reference`). Checks the rows again first and
    raises `SupplierFileInvalid` (nothing written) when any has an error."""
    reference = reference.strip()
    if not reference:
        raise SupplierFileInvalid(
            "Name the delivery or price list.", errors=["reference: required"]
        )
    plan = supplier_import_plan(rows=rows)
    if plan.errors:
        raise SupplierFileInvalid(
            f"{len(plan.errors)} row(s) cannot be applied; nothing was changed.",
            errors=plan.errors,
        )
    products = catalogue_selectors.products_by_sku(skus=[change.sku for change in plan.changes])
    prices_changed = catalogue_services.product_prices_set(
        prices={
            products[change.sku].id: change.new_price
            for change in plan.changes
            if change.price_changes
        }
    )
    received = [
        (products[change.sku], change.quantity_received)
        for change in plan.changes
        if change.quantity_received
    ]
    if received:
        stock_receive_many(quantities=received, note=f"Supplier file {reference}", user=user)
    return SupplierImportReport(
        rows=plan.rows,
        prices_changed=prices_changed,
        products_received=len(received),
        units_received=sum(quantity for _, quantity in received),
    )
