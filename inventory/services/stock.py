"""Stock on hand: set, receive, adjust, return, reconcile."""

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory import locking
from inventory.enums import MovementReason
from inventory.errors import (
    InvalidStockRequest,
    StockBelowReserved,
    StockReturnConflict,
)
from inventory.models import (
    StockDrift,
    StockItem,
    StockMovement,
)
from inventory.selectors import stock_ledger_mismatches
from inventory.services.steps import (
    is_positive_int,
    ledger_note,
    move_stock,
    notify_stock_changed,
    reclaim_lapsed_holds,
    require_reference,
    stock_item_locked_for,
    stock_items_add_on_hand,
)
from yourlocalshop.db import bulk_written

logger = logging.getLogger(__name__)


# What a level set records: opening stock (`seed`) or a correction (`adjustment`, a count).
LEVEL_SET_KINDS = frozenset({MovementReason.SEED, MovementReason.ADJUSTMENT})


def _level_set_kind(kind: str) -> str:
    if kind not in LEVEL_SET_KINDS:
        raise InvalidStockRequest(
            f"A stock level is set as {' or '.join(sorted(LEVEL_SET_KINDS))}."
        )
    return kind


def _ensure_room_for_reserved(*, stock_item: StockItem, on_hand: int, now: datetime) -> None:
    if on_hand < stock_item.reserved:
        reclaim_lapsed_holds(stock_item=stock_item, now=now)
    if on_hand < stock_item.reserved:
        raise StockBelowReserved(
            f"{stock_item.product.sku}: {stock_item.reserved} units are reserved, so on hand "
            f"cannot go to {on_hand}.",
            sku=stock_item.product.sku,
            reserved=stock_item.reserved,
            requested_on_hand=on_hand,
        )


@locking.retry_on_deadlock
@transaction.atomic
def stock_set_on_hand(
    *,
    product,
    on_hand: int,
    kind: str = MovementReason.ADJUSTMENT,
    note: str = "",
    user=None,
) -> StockMovement | None:
    """Make on_hand equal `on_hand` with one movement of `kind` (`adjustment`, or `seed` for
    opening stock) and `note` for the difference (none when equal).

    Atomic, idempotent (the second call finds nothing to change); locks the stock row. Refuses
    to go below the reserved units (`StockBelowReserved`).
    """
    if not isinstance(on_hand, int) or isinstance(on_hand, bool) or on_hand < 0:
        raise InvalidStockRequest("On hand must be a whole number of at least 0.")
    kind = _level_set_kind(kind)
    stock_item = stock_item_locked_for(product=product)
    delta = on_hand - stock_item.on_hand
    if delta == 0:
        return None
    _ensure_room_for_reserved(stock_item=stock_item, on_hand=on_hand, now=timezone.now())
    movement = move_stock(
        stock_item=stock_item, kind=kind, delta=delta, quantity=abs(delta), user=user, note=note
    )
    notify_stock_changed([product.pk])
    return movement


@locking.retry_on_deadlock
@transaction.atomic
def stock_receive(*, product, quantity: int, note: str = "", user=None) -> StockMovement:
    """Add received units: one `receipt` movement with `note`. Atomic; locks the stock row. Not
    idempotent: every call is a delivery."""
    if not is_positive_int(quantity):
        raise InvalidStockRequest("A receipt needs a positive whole quantity.")
    stock_item = stock_item_locked_for(product=product)
    movement = move_stock(
        stock_item=stock_item,
        kind=MovementReason.RECEIPT,
        delta=quantity,
        quantity=quantity,
        user=user,
        note=note,
    )
    notify_stock_changed([product.pk])
    return movement


# Rows per `IN (...)` list and per insert: below SQLite's bound on query parameters.
BULK_CHUNK = 5_000


@transaction.atomic
def stock_set_on_hand_many(
    *,
    levels: Sequence[tuple[Any, int]],
    kind: str = MovementReason.ADJUSTMENT,
    note: str = "",
    user=None,
) -> int:
    """`stock_set_on_hand` for many products at once (seeding, a stock count): (product, on
    hand) pairs, one movement of `kind` with `note` per product whose level changes; returns how
    many changed.

    All or nothing; locks the stock rows (by primary key, as every stock writer does) and
    refuses with `StockBelowReserved` a level under what customers hold.
    """
    for _, on_hand in levels:
        if not isinstance(on_hand, int) or isinstance(on_hand, bool) or on_hand < 0:
            raise InvalidStockRequest("On hand must be a whole number of at least 0.")
    kind = _level_set_kind(kind)
    targets = {product.pk: (product, on_hand) for product, on_hand in levels}
    return _stock_move_many(
        products=[product for product, _ in targets.values()],
        delta_for=lambda stock_item: targets[stock_item.product_id][1] - stock_item.on_hand,
        kind=kind,
        note=note,
        user=user,
    )


@transaction.atomic
def stock_receive_many(*, quantities: Sequence[tuple[Any, int]], note: str = "", user=None) -> int:
    """`stock_receive` for a whole delivery: (product, quantity received) pairs, one `receipt`
    movement each with `note`; returns how many. All or nothing; locks the stock rows
    by primary key. Not idempotent: every call is a delivery."""
    received: dict[int, tuple[Any, int]] = {}
    for product, quantity in quantities:
        if not is_positive_int(quantity):
            raise InvalidStockRequest("A receipt needs a positive whole quantity.")
        previous = received.get(product.pk, (product, 0))[1]
        received[product.pk] = (product, previous + quantity)
    return _stock_move_many(
        products=[product for product, _ in received.values()],
        delta_for=lambda stock_item: received[stock_item.product_id][1],
        kind=MovementReason.RECEIPT,
        note=note,
        user=user,
    )


def _stock_move_many(*, products, delta_for, kind: str, note: str, user) -> int:
    """Move the stock of many products in the caller's transaction: a product without a stock
    row gets one created at its new level (one insert for them all), the others are changed
    under their row locks by one UPDATE per 1,000 rows; then every ledger row in one insert."""
    product_ids = [product.pk for product in products]
    existing: dict[int, StockItem] = {}
    for chunk in _chunks(sorted(product_ids)):
        existing.update(
            (stock_item.product_id, stock_item)
            for stock_item in StockItem.objects.select_for_update()
            .filter(product_id__in=chunk)
            .order_by("pk")
        )
    existing_by_id = {stock_item.pk: stock_item for stock_item in existing.values()}
    now = timezone.now()
    moved: list[tuple[StockItem, int]] = []
    created, changed = [], {}
    for product in products:
        stock_item = existing.get(product.pk)
        if stock_item is None:
            stock_item = StockItem(product=product, on_hand=0)
            delta = delta_for(stock_item)
            stock_item.on_hand = delta
            created.append(stock_item)
        else:
            delta = delta_for(stock_item)
            if delta == 0:
                continue
            new_on_hand = stock_item.on_hand + delta
            _ensure_room_for_reserved(stock_item=stock_item, on_hand=new_on_hand, now=now)
            changed[stock_item.pk] = delta
        if delta != 0:
            moved.append((stock_item, delta))
    # The database's own figures for the ledger's on_hand_after (the rows are locked).
    for stock_item_id, on_hand in stock_items_add_on_hand(deltas=changed).items():
        existing_by_id[stock_item_id].on_hand = on_hand
    # A concurrent writer creating one of these rows makes this insert fail: all or nothing.
    StockItem.objects.bulk_create(created, batch_size=BULK_CHUNK)
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                stock_item=stock_item,
                reason=kind,
                delta=delta,
                quantity=abs(delta),
                on_hand_after=stock_item.on_hand,
                user=user if user is not None and user.is_authenticated else None,
                note=ledger_note(note),
            )
            for stock_item, delta in moved
        ],
        batch_size=BULK_CHUNK,
    )
    bulk_written(StockItem, StockMovement, rows=len(moved))
    notify_stock_changed(stock_item.product_id for stock_item, _ in moved)
    return len(moved)


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), BULK_CHUNK):
        yield values[start : start + BULK_CHUNK]


@locking.retry_on_deadlock
@transaction.atomic
def stock_adjust(*, product, delta: int, note: str, user) -> StockMovement:
    """Correct on_hand by `delta` (a count, breakage, theft) with a required `note` saying why:
    one `adjustment` movement recording the staff user. Atomic; locks the stock row. Refuses to go
    below the reserved units or zero (`StockBelowReserved`)."""
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidStockRequest("An adjustment needs a non-zero whole number of units.")
    if not ledger_note(note):
        raise InvalidStockRequest("An adjustment needs a reason.")
    stock_item = stock_item_locked_for(product=product)
    new_on_hand = stock_item.on_hand + delta
    if new_on_hand < 0:
        raise StockBelowReserved(
            f"{product.sku}: only {stock_item.on_hand} on hand, cannot remove {-delta}.",
            sku=product.sku,
            reserved=stock_item.reserved,
            requested_on_hand=new_on_hand,
        )
    _ensure_room_for_reserved(stock_item=stock_item, on_hand=new_on_hand, now=timezone.now())
    movement = move_stock(
        stock_item=stock_item,
        kind=MovementReason.ADJUSTMENT,
        delta=delta,
        quantity=abs(delta),
        user=user,
        note=note,
    )
    notify_stock_changed([product.pk])
    return movement


@locking.retry_on_deadlock
@transaction.atomic
def stock_return(
    *, product, quantity: int, resellable: bool, reference: str, user=None
) -> StockMovement:
    """Record returned units: resellable ones go back on the shelf (`return_restock`, on_hand
    raised); damaged ones are written off (`return_write_off`, on_hand unchanged). The movement
    records `user`, the member of staff who received them.

    Atomic; locks the stock row. Idempotent on (product, disposition, `reference`): a repeat
    returns the first movement; a repeat with another quantity raises `StockReturnConflict`.
    """
    if not is_positive_int(quantity):
        raise InvalidStockRequest("A return needs a positive whole quantity.")
    reference = require_reference(reference)
    kind = MovementReason.RETURN_RESTOCK if resellable else MovementReason.RETURN_WRITE_OFF
    stock_item = stock_item_locked_for(product=product)
    recorded = StockMovement.objects.filter(
        stock_item=stock_item, reason=kind, reference=reference
    ).first()
    if recorded is not None:
        if recorded.quantity != quantity:
            raise StockReturnConflict(
                f"Return {reference!r} of {product.sku} was recorded with {recorded.quantity} "
                f"units, not {quantity}.",
                reference=reference,
            )
        return recorded
    movement = move_stock(
        stock_item=stock_item,
        kind=kind,
        delta=quantity if resellable else 0,
        quantity=quantity,
        reference=reference,
        user=user,
    )
    if resellable:
        notify_stock_changed([product.pk])
    return movement


def stock_reconcile() -> list[StockDrift]:
    """Compare every stock row with its ledger and its held reservation lines; log and record
    each disagreement for the admin. Never changes stock: a person decides what is true."""
    drifts = []
    for stock_item in stock_ledger_mismatches():
        logger.error(
            "inventory drift: %s on_hand=%d ledger=%d reserved=%d held=%d",
            stock_item.product.sku,
            stock_item.on_hand,
            stock_item.ledger_on_hand,
            stock_item.reserved,
            stock_item.held_reserved,
        )
        drifts.append(
            StockDrift.objects.create(
                stock_item=stock_item,
                on_hand=stock_item.on_hand,
                ledger_on_hand=stock_item.ledger_on_hand,
                reserved=stock_item.reserved,
                held_reserved=stock_item.held_reserved,
            )
        )
    return drifts


def stock_item_set_shelf(*, stock_item_id: int, location: str, reorder_level: int) -> None:
    """Where a product is kept and when to reorder it. Changes only those two columns (one
    UPDATE), so it never races with the stock levels, which only the movements change."""
    if not isinstance(reorder_level, int) or reorder_level < 0:
        raise InvalidStockRequest("A reorder level is a whole number of at least 0.")
    StockItem.objects.filter(pk=stock_item_id).update(
        location=location.strip()[:64], reorder_level=reorder_level, updated_at=timezone.now()
    )
