"""Every row lock inventory takes, in one place, so the lock order stays the same everywhere.

Order: a reservation row first, then stock rows in primary-key order. Reclaiming a lapsed
reservation while holding a stock row would invert that order, so it only takes reservation rows
that are free (`skip_locked`) and never waits for them.
"""

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection
from django.db.models import QuerySet

from inventory.models import InventoryReservation, InventoryReservationLine, StockItem

logger = logging.getLogger(__name__)

# deadlock_detected, serialization_failure: PostgreSQL aborted the transaction to break a cycle.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
MAX_ATTEMPTS = 5

P = ParamSpec("P")
R = TypeVar("R")


def stock_items_locked(*, product_ids: Iterable[int]) -> dict[int, StockItem]:
    """Lock the stock rows of these products in primary-key order; keyed by product id."""
    items = StockItem.objects.select_for_update().filter(product_id__in=set(product_ids))
    return {item.product_id: item for item in items.order_by("pk")}


def stock_item_locked(*, stock_item_id: int) -> StockItem:
    return StockItem.objects.select_for_update().get(pk=stock_item_id)


def reservation_lines_stock_locked(*, reservation_id) -> list[InventoryReservationLine]:
    """The reservation's lines, each with its product's stock row (`line.product.stock_item`)
    and the reservation, in one query that locks those stock rows in primary-key order. The
    caller holds the reservation's row lock already. A line whose product has no stock row is
    left out: only such a line cannot hold units."""
    return list(
        InventoryReservationLine.objects.filter(
            reservation_id=reservation_id, product__stock_item__isnull=False
        )
        .select_related("reservation", "product__stock_item")
        .select_for_update(of=("product__stock_item",))
        .order_by("product__stock_item")
    )


def reservation_locked(*, reservation_id) -> InventoryReservation | None:
    return InventoryReservation.objects.select_for_update().filter(pk=reservation_id).first()


def reservations_free_locked(*, reservation_ids: Iterable) -> QuerySet[InventoryReservation]:
    """Lock the reservations nobody else holds right now; skip the others without waiting."""
    return (
        InventoryReservation.objects.select_for_update(skip_locked=True)
        .filter(pk__in=set(reservation_ids))
        .order_by("pk")
    )


def _is_retryable(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in RETRYABLE_SQLSTATES


def retry_on_deadlock(function: Callable[P, R]) -> Callable[P, R]:
    """Run `function` (which opens its own transaction) again after a deadlock or serialization
    failure, a bounded number of times with a short random pause.

    Only the outermost transaction can be retried: inside a caller's `atomic()` the whole outer
    transaction is already aborted, so the error goes up to the caller unchanged.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connection.in_atomic_block:
            return function(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS):
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                if not _is_retryable(error):
                    raise
                logger.warning(
                    "inventory: %s retried after %s (attempt %d)",
                    function.__name__,
                    type(error.__cause__).__name__,
                    attempt,
                )
                time.sleep(random.uniform(0, 0.02 * attempt))
        return function(*args, **kwargs)

    return wrapper
