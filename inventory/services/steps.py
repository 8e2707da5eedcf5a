"""Steps the reservation and stock services share: validation, holds, ledger writes."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, F, Q, Subquery, When
from django.utils import timezone

from catalogue.signals import stock_changed
from inventory import locking
from inventory.enums import RESERVATION_TRANSITIONS, MovementReason, ReservationStatus
from inventory.errors import (
    InsufficientStock,
    InvalidStockRequest,
    ReservationNotFound,
)
from inventory.models import (
    InventoryReservation,
    InventoryReservationLine,
    StockItem,
    StockMovement,
)
from yourlocalshop.state_machine import transition


def is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def expiry(ttl_seconds: int | None) -> datetime:
    ttl = settings.RESERVATION_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    if not is_positive_int(ttl):
        raise InvalidStockRequest("The reservation time-to-live must be a positive number.")
    return timezone.now() + timedelta(seconds=ttl)


def require_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise InvalidStockRequest("A reference of 1 to 100 characters is required.")
    return reference


def notify_stock_changed(product_ids: Iterable[int]) -> None:
    product_ids = sorted(set(product_ids))
    if product_ids:

        def send_stock_changed() -> None:
            stock_changed.send(sender=StockItem, product_ids=product_ids)

        # Robust: a cache that cannot drop its hints is logged, never an error of the change
        # that already committed (the hints expire by themselves).
        transaction.on_commit(send_stock_changed, robust=True)


def insufficient(shortages: dict[str, tuple[int | None, int]]) -> InsufficientStock:
    """`shortages` maps SKU to (product id or None for an unknown SKU, requested quantity).

    Reports the units free right now (`on_hand - reserved` after reclaiming lapsed holds): a
    lapsed reservation that another connection is settling still holds its units until it is
    done, so the error never claims more than a retry could get.
    """
    rows = StockItem.objects.filter(
        product_id__in=[product_id for product_id, _ in shortages.values()]
    ).values_list("product_id", F("on_hand") - F("reserved"), "product__name")
    available = {product_id: units for product_id, units, _ in rows}
    names = {product_id: name for product_id, _, name in rows}
    availability = [
        {
            "sku": sku,
            "requested": requested,
            "available": max(available.get(product_id, 0), 0),
        }
        for sku, (product_id, requested) in sorted(shortages.items())
    ]
    # Customers read this (checkout page, API detail): products by name, as on the shelf.
    listed = "; ".join(
        f"{names.get(product_id, sku)}: {entry['available']} of {entry['requested']} left"
        for entry, (sku, (product_id, _)) in zip(
            availability, sorted(shortages.items()), strict=True
        )
    )
    return InsufficientStock(f"Not enough stock. {listed}.", availability=availability)


def save_status(reservation: InventoryReservation, *, to: str) -> None:
    transition(reservation, to=to, allowed=RESERVATION_TRANSITIONS)
    reservation.save(update_fields=["status", "status_changed_at", "updated_at"])


def reclaim_lapsed_holds(*, stock_item: StockItem, now: datetime) -> int:
    """Release this product's units still held by reservations past expiry (marking those
    `expired`) or no longer active. The caller holds the stock row lock. Reservations locked by
    someone else are skipped, not waited for. Returns the units freed."""
    reservation_ids = list(
        InventoryReservationLine.objects.filter(product_id=stock_item.product_id, is_held=True)
        .filter(
            ~Q(reservation__status=ReservationStatus.ACTIVE) | Q(reservation__expires_at__lte=now)
        )
        .values_list("reservation_id", flat=True)
        .distinct()
    )
    if not reservation_ids:
        return 0
    freed = 0
    for reservation in locking.reservations_free_locked(reservation_ids=reservation_ids):
        if reservation.status == ReservationStatus.ACTIVE:
            if reservation.expires_at > now:  # extended since we looked
                continue
            save_status(reservation, to=ReservationStatus.EXPIRED)
        lines = list(reservation.lines.filter(product_id=stock_item.product_id, is_held=True))
        InventoryReservationLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            is_held=False
        )
        freed += sum(line.quantity for line in lines)
    if freed:
        StockItem.objects.filter(pk=stock_item.pk).update(reserved=F("reserved") - freed)
        stock_item.reserved -= freed
    return freed


def _guarded_hold(*, stock_item_id: int, quantity: int) -> bool:
    return bool(
        StockItem.objects.filter(pk=stock_item_id, on_hand__gte=F("reserved") + quantity).update(
            reserved=F("reserved") + quantity, updated_at=timezone.now()
        )
    )


def hold(*, stock_item: StockItem, quantity: int, now: datetime) -> bool:
    """Add `quantity` to the item's reserved units if they are free; True when it did.

    `stock_item` may be a stale read: it only chooses the locking path.
    """
    if stock_item.on_hand - stock_item.reserved <= settings.INVENTORY_PESSIMISTIC_THRESHOLD:
        locked = locking.stock_item_locked(stock_item_id=stock_item.pk)
        if locked.on_hand - locked.reserved < quantity:
            reclaim_lapsed_holds(stock_item=locked, now=now)
        if locked.on_hand - locked.reserved < quantity:
            return False
        return _guarded_hold(stock_item_id=locked.pk, quantity=quantity)
    if _guarded_hold(stock_item_id=stock_item.pk, quantity=quantity):
        return True
    # Short on the fast path: lock the row and free what lapsed reservations still hold.
    locked = locking.stock_item_locked(stock_item_id=stock_item.pk)
    if not reclaim_lapsed_holds(stock_item=locked, now=now):
        return False
    return _guarded_hold(stock_item_id=locked.pk, quantity=quantity)


def release_holds(*, reservation: InventoryReservation) -> list[int]:
    """Give back every unit the (locked) reservation still holds; returns the product ids."""
    held = list(reservation.lines.filter(is_held=True))
    if not held:
        return []
    items = locking.stock_items_locked(product_ids=[line.product_id for line in held])
    for line in held:
        StockItem.objects.filter(pk=items[line.product_id].pk).update(
            reserved=F("reserved") - line.quantity, updated_at=timezone.now()
        )
    InventoryReservationLine.objects.filter(pk__in=[line.pk for line in held]).update(is_held=False)
    return [line.product_id for line in held]


def retake_lost_holds(
    *, lines: list[InventoryReservationLine], items: dict[int, StockItem], now: datetime
) -> list[int]:
    """Hold again the lines that lost their hold (expiry, release), all or none; returns the
    product ids held again (their availability changed).

    The caller has locked every stock row of `lines` (`items`), so this keeps the lock order.
    """
    lost = [line for line in lines if not line.is_held]
    shortages = {}
    for line in lost:
        item = items.get(line.product_id)
        if item is None or not hold(stock_item=item, quantity=line.quantity, now=now):
            shortages[line.sku] = (line.product_id, line.quantity)
    if shortages:
        raise insufficient(shortages)
    InventoryReservationLine.objects.filter(pk__in=[line.pk for line in lost]).update(is_held=True)
    for line in lost:
        line.is_held = True
    return [line.product_id for line in lost]


def ledger_note(note: str) -> str:
    """A movement's note as the ledger keeps it: the text staff gave, trimmed, at most 500
    characters."""
    return (note or "").strip()[:500]


def move_stock(
    *,
    stock_item: StockItem,
    kind: str,
    delta: int,
    quantity: int,
    reserved_delta: int = 0,
    reference: str = "",
    reservation: InventoryReservation | None = None,
    user=None,
    note: str = "",
) -> StockMovement:
    """Change on_hand (and reserved) of a locked stock row and write its ledger row: a movement
    of `kind` (a `MovementReason`, the ledger's `reason`), with `note` the free text staff gave."""
    stock_item.on_hand, stock_item.reserved = _stock_item_add(
        stock_item_id=stock_item.pk, on_hand=delta, reserved=reserved_delta
    )
    return StockMovement.objects.create(
        stock_item=stock_item,
        reason=kind,
        delta=delta,
        quantity=quantity,
        on_hand_after=stock_item.on_hand,
        reference=reference,
        reservation=reservation,
        user=user if user is not None and user.is_authenticated else None,
        note=ledger_note(note),
    )


def _stock_item_add(*, stock_item_id: int, on_hand: int, reserved: int) -> tuple[int, int]:
    """Add to a stock row's on_hand and reserved; returns their new values, read by the same
    statement (`UPDATE ... RETURNING`, which the ORM's update() cannot say), so the ledger's
    `on_hand_after` is the database's own figure without a second query under the row lock.
    The table's check constraints still refuse a negative or over-reserved row."""
    quote = connection.ops.quote_name
    table = quote(StockItem._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {quote('on_hand')} = {quote('on_hand')} + %s, "
            f"{quote('reserved')} = {quote('reserved')} + %s, {quote('updated_at')} = %s "
            f"WHERE {quote('id')} = %s RETURNING {quote('on_hand')}, {quote('reserved')}",
            [
                on_hand,
                reserved,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                stock_item_id,
            ],
        )
        return cursor.fetchone()


def stock_items_add_on_hand(*, deltas: dict[int, int]) -> dict[int, int]:
    """`_stock_item_add` for many locked rows (on_hand only): one `UPDATE ... FROM (VALUES ...)
    RETURNING` per 1,000 rows; returns each row's new on_hand by stock item id."""
    quote = connection.ops.quote_name
    table = quote(StockItem._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    items = sorted(deltas.items())
    new_on_hand = {}
    with connection.cursor() as cursor:
        for start in range(0, len(items), 1_000):
            batch = items[start : start + 1_000]
            values = ", ".join(["(%s, %s)"] * len(batch))
            cursor.execute(
                f"WITH deltas (id, delta) AS (VALUES {values}) "
                f"UPDATE {table} SET {quote('on_hand')} = {quote('on_hand')} + deltas.delta, "
                f"{quote('updated_at')} = %s FROM deltas WHERE {table}.{quote('id')} = deltas.id "
                f"RETURNING {table}.{quote('id')}, {table}.{quote('on_hand')}",
                [value for item in batch for value in item] + [now],
            )
            new_on_hand.update(cursor.fetchall())
    return new_on_hand


def sell_held(
    *,
    reservation: InventoryReservation,
    lines: list[InventoryReservationLine],
    items: dict[int, StockItem],
) -> None:
    """Sell the held units of `lines`: each stock row (`items`, keyed by product id) loses them
    from on_hand and reserved and gets its `sale` movement, in two statements for any number of
    lines, without reading the rows first.

    The update locks its rows in primary-key order (the order of `inventory.locking`; rows the
    caller locked already are its own), and each movement's `on_hand_after` is read from its row
    by the insert itself, after that update in the same transaction: the database's own figure,
    under the row lock. The rows in `items` are left as they were read.
    """
    now = timezone.now()
    sold = sorted(
        ((items[line.product_id], line.quantity) for line in lines), key=lambda sale: sale[0].pk
    )
    in_lock_order = (
        StockItem.objects.filter(pk__in=[item.pk for item, _ in sold])
        .order_by("pk")
        .select_for_update()
        .values("pk")
    )
    StockItem.objects.filter(pk__in=Subquery(in_lock_order)).update(
        on_hand=Case(*(When(pk=item.pk, then=F("on_hand") - quantity) for item, quantity in sold)),
        reserved=Case(
            *(When(pk=item.pk, then=F("reserved") - quantity) for item, quantity in sold)
        ),
        updated_at=now,
    )
    StockMovement.objects.bulk_create(
        StockMovement(
            stock_item=item,
            reason=MovementReason.SALE,
            delta=-quantity,
            quantity=quantity,
            on_hand_after=Subquery(StockItem.objects.filter(pk=item.pk).values("on_hand")),
            reference=reservation.reference,
            reservation=reservation,
        )
        for item, quantity in sold
    )


def stock_item_locked_for(*, product) -> StockItem:
    stock_item, _ = StockItem.objects.get_or_create(product=product)
    return locking.stock_item_locked(stock_item_id=stock_item.pk)


def reservation_locked(reservation_id) -> InventoryReservation:
    try:
        reservation = locking.reservation_locked(reservation_id=reservation_id)
    except (ValueError, TypeError, ValidationError):
        reservation = None
    if reservation is None:
        raise ReservationNotFound(reservation_id=str(reservation_id))
    return reservation
