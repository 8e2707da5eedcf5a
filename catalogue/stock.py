"""What the catalogue shows about stock: a hint per product and the `in_stock` list filter.

Inventory counts stock and sits above the catalogue on the dependency ladder, so the catalogue
never imports it: inventory registers its count here when it loads (`InventoryConfig.ready`), as
outbox consumers register their handlers, and sends `catalogue.signals.stock_changed` after a
change so the catalogue drops cached hints.
"""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from catalogue.enums import StockHint

# Called as `reader(product_ids=...)`: units a customer can buy now, per product id (0 when none).
AvailabilityReader = Callable[..., dict[int, int]]
_availability_reader: AvailabilityReader | None = None


def availability_reader_register(reader: AvailabilityReader) -> None:
    global _availability_reader
    _availability_reader = reader


def available_by_product_id(*, product_ids: Iterable[int]) -> dict[int, int]:
    if _availability_reader is None:
        raise ImproperlyConfigured(
            "Nothing counts stock: inventory registers its reader in InventoryConfig.ready()."
        )
    return _availability_reader(product_ids=product_ids)


def stock_hint(available: int) -> str:
    """What the storefront may say about stock without revealing the exact count."""
    if available <= 0:
        return StockHint.OUT_OF_STOCK
    if available <= settings.CATALOGUE_LOW_STOCK_THRESHOLD:
        return StockHint.LOW_STOCK
    return StockHint.IN_STOCK
