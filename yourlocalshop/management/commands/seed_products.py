"""Load the shop's products and their stock from a JSON file.

It lives in the composition root because it writes into two apps: catalogue products (through
`catalogue.services.catalogue_import`) and their stock (through `inventory.services`).

File shape::

    {"categories": [{"slug": "tea", "name": "Tea", "parent": "drinks"}, ...],
     "products": [{"sku": "TEA-001", "name": "…", "category": "tea", "price": "4.50",
                   "description": "…", "stock": 12, "popularity": 40, ...}, ...]}
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from catalogue import services as catalogue_services
from catalogue.errors import SeedFileInvalid
from inventory import services as inventory_services
from yourlocalshop.errors import DomainError


class Command(BaseCommand):
    help = (
        "Upsert categories and products (by SKU) from a JSON file and set their stock. "
        "Validates every row first; any bad row exits non-zero and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", required=True, type=Path, help="Path of the JSON file.")

    def handle(self, *args, file: Path, **options):
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        except json.JSONDecodeError as error:
            raise CommandError(f"{file} is not valid JSON: {error}") from error
        if not isinstance(document, dict):
            raise CommandError(f"{file}: expected an object with `categories` and `products`.")
        products = document.get("products", [])
        stock_by_sku, stock_errors = self._stock_levels(products)
        try:
            with transaction.atomic():
                try:
                    result = catalogue_services.catalogue_import(
                        categories=document.get("categories", []), products=products
                    )
                except SeedFileInvalid as error:
                    # Report stock problems together with the catalogue's, in one pass.
                    raise SeedFileInvalid(
                        error.detail, errors=stock_errors + error.extra["errors"]
                    ) from error
                if stock_errors:
                    raise SeedFileInvalid("Bad stock levels.", errors=stock_errors)
                try:
                    inventory_services.stock_set_on_hand_many(
                        levels=[
                            (result.products[sku], on_hand) for sku, on_hand in stock_by_sku.items()
                        ],
                        reason="seed",
                    )
                except DomainError as error:  # e.g. below what customers have reserved
                    sku = error.extra.get("sku")
                    raise SeedFileInvalid(
                        error.detail, errors=[f"sku {sku!r}: stock: {error.detail}"]
                    ) from error
        except SeedFileInvalid as error:
            errors = error.extra["errors"]
            raise CommandError(
                f"{file}: nothing was written; {len(errors)} problem(s):\n  " + "\n  ".join(errors)
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {len(result.products)} products from {file}: {result.created} created, "
                f"{result.updated} updated, {result.unchanged} unchanged; stock set."
            )
        )

    @staticmethod
    def _stock_levels(products) -> tuple[dict[str, int], list[str]]:
        """`stock` of each row (a whole number ≥ 0, optional), and the rows where it is not."""
        stock_by_sku, errors = {}, []
        if not isinstance(products, list):
            return stock_by_sku, errors
        for number, row in enumerate(products, start=1):
            if not isinstance(row, dict) or "stock" not in row:
                continue
            stock = row.pop("stock")
            if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
                errors.append(
                    f"products row {number} (sku {row.get('sku')!r}): stock: "
                    f"must be a whole number ≥ 0, got {stock!r}"
                )
                continue
            stock_by_sku[row.get("sku")] = stock
        return stock_by_sku, errors
