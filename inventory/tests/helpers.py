from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

from django.utils import timezone

from inventory.selectors import available_by_product_id, stock_ledger_mismatches


@contextmanager
def clock_at(moment):
    """Run the block at `moment` (every `timezone.now()` call sees it)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def clock_moved_by(seconds: float):
    """Run the block `seconds` in the future."""
    return clock_at(timezone.now() + timedelta(seconds=seconds))


def available(product) -> int:
    return available_by_product_id(product_ids=[product.pk])[product.pk]


def assert_stock_consistent() -> None:
    """on_hand equals the ledger sum and reserved equals the held lines, for every product."""
    drifted = list(stock_ledger_mismatches())
    assert drifted == [], [
        (item.product.sku, item.on_hand, item.ledger_on_hand, item.reserved, item.held_reserved)
        for item in drifted
    ]
