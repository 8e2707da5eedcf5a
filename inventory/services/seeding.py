"""Seeding: a shop's first catalogue and its opening stock, from a seed document.

Inventory owns it because it writes stock: products go through `catalogue.services`, their
opening stock through `stock_set_on_hand_many` and its ledger (one `seed` movement per product).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from catalogue import selectors as catalogue_selectors
from catalogue import services as catalogue_services
from catalogue.errors import SeedFileInvalid
from inventory.enums import MovementReason
from inventory.errors import CatalogueNotEmpty
from inventory.services.stock import stock_set_on_hand_many
from yourlocalshop.errors import DomainError


@dataclass(frozen=True)
class SeedResult:
    products: int  # rows of the document
    created: int
    updated: int
    unchanged: int
    stocked: int  # new products given their opening stock


@transaction.atomic
def catalogue_seed(
    *, categories: Any, products: Any, update: bool = False, image_folder: Path | None = None
) -> SeedResult:
    """Load a seed document's categories, products and opening stock; all or nothing.

    A catalogue that already has products is refused (`CatalogueNotEmpty`) unless `update`: a
    running shop's prices and stock are its own, not the sample's. With `update`, the rows
    upsert the catalogue's fields (by slug and SKU) and only the products this call creates get
    the document's `stock`: an existing product's stock moves only with sales, receipts, counts
    and returns, through the stock services and their ledger. Every row is validated before
    anything is written; `SeedFileInvalid` lists each bad row (catalogue and stock together).
    A row's `image` names a picture file in `image_folder` (`catalogue_import`).
    """
    if not update and (count := catalogue_selectors.product_count()):
        raise CatalogueNotEmpty(f"The catalogue already has {count} products.", products=count)
    # Copies: `stock` is taken out of each row before the catalogue sees it.
    rows = (
        [dict(row) if isinstance(row, dict) else row for row in products]
        if isinstance(products, list)
        else products
    )
    opening_stock, stock_errors = _opening_stock(rows)
    already_there = catalogue_selectors.product_skus_existing(skus=opening_stock)
    try:
        result = catalogue_services.catalogue_import(
            categories=categories, products=rows, image_folder=image_folder
        )
    except SeedFileInvalid as error:
        raise SeedFileInvalid(error.detail, errors=stock_errors + error.extra["errors"]) from error
    if stock_errors:
        raise SeedFileInvalid("Bad stock levels.", errors=stock_errors)
    opening = [
        (result.products[sku], on_hand)
        for sku, on_hand in opening_stock.items()
        if sku not in already_there
    ]
    try:
        stock_set_on_hand_many(levels=opening, kind=MovementReason.SEED)
    except DomainError as error:
        raise SeedFileInvalid(
            error.detail, errors=[f"sku {error.extra.get('sku')!r}: stock: {error.detail}"]
        ) from error
    return SeedResult(
        products=len(result.products),
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        stocked=len(opening),
    )


def _opening_stock(rows: Any) -> tuple[dict[str, int], list[str]]:
    """Takes `stock` out of each row (the catalogue knows no such field): a whole number ≥ 0,
    optional. Returns the stock by SKU and the rows where it is not valid."""
    stock_by_sku: dict[str, int] = {}
    errors: list[str] = []
    if not isinstance(rows, list):
        return stock_by_sku, errors
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or "stock" not in row:
            continue
        stock = row.pop("stock")
        if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
            errors.append(
                f"products row {number} (sku {row.get('sku')!r}): stock: "
                f"must be a whole number ≥ 0, got {stock!r}"
            )
            continue
        if isinstance(row.get("sku"), str):  # else the catalogue reports the SKU
            stock_by_sku[row["sku"]] = stock
    return stock_by_sku, errors
