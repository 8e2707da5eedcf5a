"""Load a new shop's products and their opening stock from a JSON file
(`inventory.services.catalogue_seed`).

File shape::

    {"categories": [{"slug": "tea", "name": "Tea", "parent": "drinks"}, ...],
     "products": [{"sku": "TEA-001", "name": "…", "category": "tea", "price": "4.50",
                   "description": "…", "stock": 12, "popularity": 40,
                   "image": "pictures/tea-001.jpg", ...}, ...]}

A product's `image` is a picture file, its path relative to the file's folder: it becomes the
picture of a product that has none (stored once, with its renditions, however many rows name it).
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalogue.errors import SeedFileInvalid
from inventory.errors import CatalogueNotEmpty
from inventory.services import catalogue_seed


class Command(BaseCommand):
    help = (
        "Fill an empty catalogue with the file's categories, products and opening stock. "
        "A catalogue with products is refused unless --update (or left alone with --if-empty). "
        "Validates every row first; any bad row exits non-zero and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", required=True, type=Path, help="Path of the JSON file.")
        leave = parser.add_mutually_exclusive_group()
        leave.add_argument(
            "--if-empty",
            action="store_true",
            help="On a catalogue with products, change nothing, say so and succeed (start-up).",
        )
        leave.add_argument(
            "--update",
            action="store_true",
            help="Upsert the file's rows into a catalogue with products; the stock of an "
            "existing product is never set (only new products get the file's stock).",
        )

    def handle(self, *args, file: Path, if_empty: bool, update: bool, **options):
        document = self._document(file)
        try:
            result = catalogue_seed(
                categories=document.get("categories", []),
                products=document.get("products", []),
                update=update,
                image_folder=file.parent,
            )
        except CatalogueNotEmpty as error:
            if if_empty:
                self.stdout.write(
                    f"Catalogue already has {error.extra['products']} products: nothing seeded "
                    "(RESET_DB=1 make run starts over)."
                )
                return
            raise CommandError(
                f"{error.detail} Nothing was written: seeding would undo the shop's own prices "
                "and stock. --update upserts the file's products (never an existing product's "
                "stock); RESET_DB=1 make run starts over."
            ) from error
        except SeedFileInvalid as error:
            errors = error.extra["errors"]
            raise CommandError(
                f"{file}: nothing was written; {len(errors)} problem(s):\n  " + "\n  ".join(errors)
            ) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.products} products from {file}: {result.created} created, "
                f"{result.updated} updated, {result.unchanged} unchanged; opening stock of "
                f"{result.stocked} new products set."
            )
        )

    @staticmethod
    def _document(file: Path) -> dict:
        try:
            document = json.loads(file.read_text(encoding="utf-8"))
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        except json.JSONDecodeError as error:
            raise CommandError(f"{file} is not valid JSON: {error}") from error
        if not isinstance(document, dict):
            raise CommandError(f"{file}: expected an object with `categories` and `products`.")
        return document
