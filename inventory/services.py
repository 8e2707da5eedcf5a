"""Every write to stock and reservations.

Invariants every function here keeps (the database enforces the first three):
- `0 <= StockItem.reserved <= StockItem.on_hand`;
- `StockItem.on_hand` == the sum of its `StockMovement.delta` (each change writes one movement);
- `StockItem.reserved` == the units of its `InventoryReservationLine`s with `is_held`.

Locks are taken as `inventory.locking` describes (reservation row, then stock rows by primary
key). A SKU whose free stock is at most `INVENTORY_PESSIMISTIC_THRESHOLD` is reserved under a row
lock (`SELECT … FOR UPDATE`); above it, with a guarded `UPDATE … WHERE on_hand - reserved >= q`
whose row count says whether it worked. Units held by reservations past their expiry are
reclaimed for a SKU only when it is short, so availability never depends on the expiry task.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalogue.selectors import products_active_by_sku
from catalogue.signals import stock_changed
from inventory import locking
from inventory.enums import RESERVATION_TRANSITIONS, MovementReason, ReservationStatus
from inventory.errors import (
    InsufficientStock,
    InvalidStockRequest,
    ReservationNotFound,
    ReservationReferenceConflict,
    StockBelowReserved,
    StockReturnConflict,
)
from inventory.models import (
    InventoryReservation,
    InventoryReservationLine,
    StockDrift,
    StockItem,
    StockMovement,
)
from inventory.selectors import stock_ledger_mismatches
from yourlocalshop.state_machine import transition

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReservationLineRequest:
    sku: str
    quantity: int


# --- small steps ---------------------------------------------------------------------------


def _is_positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _requested_quantities(lines: Sequence[ReservationLineRequest]) -> dict[str, int]:
    """Validated `{sku: quantity}`; the same SKU on several lines is added up."""
    if not lines:
        raise InvalidStockRequest("A reservation needs at least one line.")
    quantities: dict[str, int] = {}
    for line in lines:
        if not line.sku or not _is_positive_int(line.quantity):
            raise InvalidStockRequest(
                f"Each line needs a SKU and a positive whole quantity (got {line!r})."
            )
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return quantities


def _expiry(ttl_seconds: int | None) -> datetime:
    ttl = settings.RESERVATION_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    if not _is_positive_int(ttl):
        raise InvalidStockRequest("The reservation time-to-live must be a positive number.")
    return timezone.now() + timedelta(seconds=ttl)


def _require_reference(reference: str) -> str:
    reference = (reference or "").strip()
    if not reference or len(reference) > 100:
        raise InvalidStockRequest("A reference of 1 to 100 characters is required.")
    return reference


def _kind_and_note(reason: str, *, kinds: frozenset[str], default: str) -> tuple[str, str]:
    """`reason` names the movement kind when it is one of `kinds`; otherwise it is the note."""
    reason = (reason or "").strip()
    if reason in kinds:
        return reason, ""
    return default, reason


def _notify_stock_changed(product_ids: Iterable[int]) -> None:
    product_ids = sorted(set(product_ids))
    if product_ids:
        transaction.on_commit(
            partial(stock_changed.send, sender=StockItem, product_ids=product_ids)
        )


def _insufficient(shortages: dict[str, tuple[int | None, int]]) -> InsufficientStock:
    """`shortages` maps SKU to (product id or None for an unknown SKU, requested quantity).

    Reports the units free right now (`on_hand - reserved` after reclaiming lapsed holds): a
    lapsed reservation that another connection is settling still holds its units until it is
    done, so the error never claims more than a retry could get.
    """
    available = dict(
        StockItem.objects.filter(
            product_id__in=[product_id for product_id, _ in shortages.values()]
        ).values_list("product_id", F("on_hand") - F("reserved"))
    )
    availability = [
        {
            "sku": sku,
            "requested": requested,
            "available": max(available.get(product_id, 0), 0),
        }
        for sku, (product_id, requested) in sorted(shortages.items())
    ]
    listed = ", ".join(
        f"{entry['sku']} ({entry['available']} of {entry['requested']} available)"
        for entry in availability
    )
    return InsufficientStock(f"Not enough stock for {listed}.", availability=availability)


def _save_status(reservation: InventoryReservation, *, to: str) -> None:
    transition(reservation, to=to, allowed=RESERVATION_TRANSITIONS)
    reservation.save(update_fields=["status", "status_changed_at", "updated_at"])


def _reclaim_lapsed_holds(*, stock_item: StockItem, now: datetime) -> int:
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
            _save_status(reservation, to=ReservationStatus.EXPIRED)
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


def _hold(*, stock_item: StockItem, quantity: int, now: datetime) -> bool:
    """Add `quantity` to the item's reserved units if they are free; True when it did.

    `stock_item` may be a stale read: it only chooses the locking path.
    """
    if stock_item.on_hand - stock_item.reserved <= settings.INVENTORY_PESSIMISTIC_THRESHOLD:
        locked = locking.stock_item_locked(stock_item_id=stock_item.pk)
        if locked.on_hand - locked.reserved < quantity:
            _reclaim_lapsed_holds(stock_item=locked, now=now)
        if locked.on_hand - locked.reserved < quantity:
            return False
        return _guarded_hold(stock_item_id=locked.pk, quantity=quantity)
    if _guarded_hold(stock_item_id=stock_item.pk, quantity=quantity):
        return True
    # Short on the fast path: lock the row and free what lapsed reservations still hold.
    locked = locking.stock_item_locked(stock_item_id=stock_item.pk)
    if not _reclaim_lapsed_holds(stock_item=locked, now=now):
        return False
    return _guarded_hold(stock_item_id=locked.pk, quantity=quantity)


def _release_holds(*, reservation: InventoryReservation) -> list[int]:
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


def _retake_lost_holds(
    *, lines: list[InventoryReservationLine], items: dict[int, StockItem], now: datetime
) -> None:
    """Hold again the lines that lost their hold (expiry, release), all or none.

    The caller has locked every stock row of `lines` (`items`), so this keeps the lock order.
    """
    lost = [line for line in lines if not line.is_held]
    shortages = {}
    for line in lost:
        item = items.get(line.product_id)
        if item is None or not _hold(stock_item=item, quantity=line.quantity, now=now):
            shortages[line.sku] = (line.product_id, line.quantity)
    if shortages:
        raise _insufficient(shortages)
    InventoryReservationLine.objects.filter(pk__in=[line.pk for line in lost]).update(is_held=True)
    for line in lost:
        line.is_held = True


def _move_stock(
    *,
    stock_item: StockItem,
    reason: str,
    delta: int,
    quantity: int,
    reserved_delta: int = 0,
    reference: str = "",
    reservation: InventoryReservation | None = None,
    user=None,
    note: str = "",
) -> StockMovement:
    """Change on_hand (and reserved) of a locked stock row and write its ledger row."""
    StockItem.objects.filter(pk=stock_item.pk).update(
        on_hand=F("on_hand") + delta,
        reserved=F("reserved") + reserved_delta,
        updated_at=timezone.now(),
    )
    stock_item.refresh_from_db(fields=["on_hand", "reserved"])
    return StockMovement.objects.create(
        stock_item=stock_item,
        reason=reason,
        delta=delta,
        quantity=quantity,
        on_hand_after=stock_item.on_hand,
        reference=reference,
        reservation=reservation,
        user=user if user is not None and user.is_authenticated else None,
        note=note[:500],
    )


def _stock_item_locked_for(*, product) -> StockItem:
    stock_item, _ = StockItem.objects.get_or_create(product=product)
    return locking.stock_item_locked(stock_item_id=stock_item.pk)


def _reservation_locked(reservation_id) -> InventoryReservation:
    try:
        reservation = locking.reservation_locked(reservation_id=reservation_id)
    except (ValueError, TypeError, ValidationError):
        reservation = None
    if reservation is None:
        raise ReservationNotFound(reservation_id=str(reservation_id))
    return reservation


# --- reservations --------------------------------------------------------------------------


def _refresh_existing(
    reservation: InventoryReservation, *, quantities: dict[str, int], expires_at: datetime
) -> InventoryReservation:
    existing = {line.sku: line.quantity for line in reservation.lines.all()}
    if existing != quantities:
        raise ReservationReferenceConflict(
            f"Reference {reservation.reference!r} already reserves other lines; release it first.",
            reservation_id=str(reservation.pk),
        )
    reservation.expires_at = expires_at
    reservation.save(update_fields=["expires_at", "updated_at"])
    return reservation


@locking.retry_on_deadlock
@transaction.atomic
def stock_reserve(
    *, lines: Sequence[ReservationLineRequest], reference: str, ttl_seconds: int | None = None
) -> InventoryReservation:
    """Hold stock for every line, or for none.

    Atomic. Idempotent on `reference`: while a reservation for it is active (and not past its
    expiry) the same reservation comes back with its expiry moved to now + TTL; asking for
    different lines under that reference raises `ReservationReferenceConflict`. A lapsed one is
    expired and a new reservation made. Raises `InsufficientStock` naming every short SKU
    (unknown and inactive SKUs count as 0 available). Locks: see the module docstring.
    """
    quantities = _requested_quantities(lines)
    reference = _require_reference(reference)
    expires_at = _expiry(ttl_seconds)
    now = timezone.now()
    products = products_active_by_sku(skus=quantities)
    items = StockItem.objects.filter(
        product_id__in=[product.pk for product in products.values()]
    ).in_bulk(field_name="product_id")

    existing = (
        InventoryReservation.objects.select_for_update()
        .filter(reference=reference, status=ReservationStatus.ACTIVE)
        .first()
    )
    changed_product_ids: list[int] = []
    if existing is not None:
        if existing.expires_at > now:
            return _refresh_existing(existing, quantities=quantities, expires_at=expires_at)
        _save_status(existing, to=ReservationStatus.EXPIRED)
        changed_product_ids += _release_holds(reservation=existing)

    try:
        with transaction.atomic():
            reservation = InventoryReservation.objects.create(
                reference=reference, expires_at=expires_at
            )
    except IntegrityError:
        # A concurrent call with the same reference committed first: that one is ours too.
        concurrent = (
            InventoryReservation.objects.select_for_update()
            .filter(reference=reference, status=ReservationStatus.ACTIVE)
            .first()
        )
        if concurrent is None:  # and it was already released again
            raise ReservationReferenceConflict(
                f"Reference {reference!r} changed while reserving; try again."
            ) from None
        return _refresh_existing(concurrent, quantities=quantities, expires_at=expires_at)

    # Lines first, not yet held: the stock rows are then locked only for the holds and the
    # commit, and a refusal reports availability without this reservation's own lines.
    InventoryReservationLine.objects.bulk_create(
        InventoryReservationLine(
            reservation=reservation,
            product=product,
            sku=sku,
            quantity=quantities[sku],
            is_held=False,
        )
        for sku, product in products.items()
    )
    shortages: dict[str, tuple[int | None, int]] = {
        sku: (None, quantity) for sku, quantity in quantities.items() if sku not in products
    }
    for sku, product in sorted(
        products.items(), key=lambda pair: getattr(items.get(pair[1].pk), "pk", 0)
    ):
        item = items.get(product.pk)
        if item is None or not _hold(stock_item=item, quantity=quantities[sku], now=now):
            shortages[sku] = (product.pk, quantities[sku])
    if shortages:
        raise _insufficient(shortages)
    reservation.lines.update(is_held=True)
    _notify_stock_changed(changed_product_ids + [product.pk for product in products.values()])
    return reservation


@locking.retry_on_deadlock
@transaction.atomic
def reservation_release(*, reservation_id) -> InventoryReservation:
    """Give the reservation's units back. Atomic, idempotent: releasing a released or expired
    reservation only frees what it may still hold. A committed one cannot be released
    (`IllegalTransition`). Locks the reservation, then its stock rows by primary key."""
    reservation = _reservation_locked(reservation_id)
    if reservation.status in (ReservationStatus.ACTIVE, ReservationStatus.COMMITTED):
        _save_status(reservation, to=ReservationStatus.RELEASED)
    _notify_stock_changed(_release_holds(reservation=reservation))
    return reservation


@locking.retry_on_deadlock
@transaction.atomic
def reservation_commit(*, reservation_id) -> InventoryReservation:
    """Turn the reservation into sales: one `sale` movement per line, on_hand lowered.

    Atomic, idempotent (a committed reservation is returned unchanged). An expired or released
    reservation first re-takes its units, all or none, else `InsufficientStock`. Locks the
    reservation, then all its stock rows by primary key.
    """
    reservation = _reservation_locked(reservation_id)
    if reservation.status == ReservationStatus.COMMITTED:
        return reservation
    lines = list(reservation.lines.all())
    items = locking.stock_items_locked(product_ids=[line.product_id for line in lines])
    _retake_lost_holds(lines=lines, items=items, now=timezone.now())
    for line in sorted(lines, key=lambda line: items[line.product_id].pk):
        _move_stock(
            stock_item=items[line.product_id],
            reason=MovementReason.SALE,
            delta=-line.quantity,
            quantity=line.quantity,
            reserved_delta=-line.quantity,
            reference=reservation.reference,
            reservation=reservation,
        )
    InventoryReservationLine.objects.filter(reservation=reservation).update(is_held=False)
    _save_status(reservation, to=ReservationStatus.COMMITTED)
    _notify_stock_changed(items)
    return reservation


@locking.retry_on_deadlock
@transaction.atomic
def reservation_extend(*, reservation_id, ttl_seconds: int) -> InventoryReservation:
    """Move the expiry to now + `ttl_seconds`.

    Atomic, idempotent. An expired reservation comes back to `active` when its units are still
    free (all or none, else `InsufficientStock`); a released or committed one cannot be extended
    (`IllegalTransition`). Locks the reservation, then its stock rows by primary key.
    """
    expires_at = _expiry(ttl_seconds)
    reservation = _reservation_locked(reservation_id)
    lines = list(reservation.lines.all())
    if reservation.status != ReservationStatus.ACTIVE:
        transition(reservation, to=ReservationStatus.ACTIVE, allowed=RESERVATION_TRANSITIONS)
        items = locking.stock_items_locked(product_ids=[line.product_id for line in lines])
        _retake_lost_holds(lines=lines, items=items, now=timezone.now())
        _notify_stock_changed(items)
    reservation.expires_at = expires_at
    try:
        with transaction.atomic():
            reservation.save(
                update_fields=["status", "status_changed_at", "expires_at", "updated_at"]
            )
    except IntegrityError:
        raise ReservationReferenceConflict(
            f"Reference {reservation.reference!r} has a newer active reservation.",
            reservation_id=str(reservation.pk),
        ) from None
    return reservation


@locking.retry_on_deadlock
@transaction.atomic
def reservation_expire(*, reservation_id) -> bool:
    """Mark a reservation past its expiry `expired` and free what it (or an earlier expired
    one) still holds. Atomic, idempotent; skips a reservation someone else has locked (the next
    sweep gets it). True when it expired the reservation now."""
    reservation = (
        InventoryReservation.objects.select_for_update(skip_locked=True)
        .filter(pk=reservation_id)
        .first()
    )
    if reservation is None:
        return False
    expired_now = False
    if reservation.status == ReservationStatus.ACTIVE:
        if reservation.expires_at > timezone.now():
            return False
        _save_status(reservation, to=ReservationStatus.EXPIRED)
        expired_now = True
    _notify_stock_changed(_release_holds(reservation=reservation))
    return expired_now


def reservations_expire_due(*, limit: int = 1000) -> int:
    """Expire every reservation past its expiry, each in its own short transaction (so stock
    rows are locked in order per reservation). Idempotent. Returns how many it expired."""
    due = (
        InventoryReservation.objects.filter(
            Q(status=ReservationStatus.ACTIVE, expires_at__lte=timezone.now())
            | Q(status=ReservationStatus.EXPIRED, lines__is_held=True)
        )
        .values_list("pk", flat=True)
        .distinct()[:limit]
    )
    return sum(reservation_expire(reservation_id=reservation_id) for reservation_id in list(due))


# --- stock ---------------------------------------------------------------------------------


def _ensure_room_for_reserved(*, stock_item: StockItem, on_hand: int, now: datetime) -> None:
    if on_hand < stock_item.reserved:
        _reclaim_lapsed_holds(stock_item=stock_item, now=now)
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
def stock_set_on_hand(*, product, on_hand: int, reason: str, user=None) -> StockMovement | None:
    """Make on_hand equal `on_hand` with one movement for the difference (none when equal).

    `reason` `seed` records a `seed` movement; any other text is the note of an `adjustment`.
    Atomic, idempotent (the second call finds nothing to change); locks the stock row. Refuses
    to go below the reserved units (`StockBelowReserved`).
    """
    if not isinstance(on_hand, int) or isinstance(on_hand, bool) or on_hand < 0:
        raise InvalidStockRequest("On hand must be a whole number of at least 0.")
    kind, note = _kind_and_note(
        reason,
        kinds=frozenset({MovementReason.SEED, MovementReason.ADJUSTMENT}),
        default=MovementReason.ADJUSTMENT,
    )
    stock_item = _stock_item_locked_for(product=product)
    delta = on_hand - stock_item.on_hand
    if delta == 0:
        return None
    _ensure_room_for_reserved(stock_item=stock_item, on_hand=on_hand, now=timezone.now())
    movement = _move_stock(
        stock_item=stock_item, reason=kind, delta=delta, quantity=abs(delta), user=user, note=note
    )
    _notify_stock_changed([product.pk])
    return movement


@locking.retry_on_deadlock
@transaction.atomic
def stock_receive(*, product, quantity: int, reason: str, user=None) -> StockMovement:
    """Add received units: one `receipt` movement (`reason` is its note). Atomic; locks the
    stock row. Not idempotent: every call is a delivery."""
    if not _is_positive_int(quantity):
        raise InvalidStockRequest("A receipt needs a positive whole quantity.")
    _, note = _kind_and_note(
        reason, kinds=frozenset({MovementReason.RECEIPT}), default=MovementReason.RECEIPT
    )
    stock_item = _stock_item_locked_for(product=product)
    movement = _move_stock(
        stock_item=stock_item,
        reason=MovementReason.RECEIPT,
        delta=quantity,
        quantity=quantity,
        user=user,
        note=note,
    )
    _notify_stock_changed([product.pk])
    return movement


@locking.retry_on_deadlock
@transaction.atomic
def stock_adjust(*, product, delta: int, reason: str, user) -> StockMovement:
    """Correct on_hand by `delta` (a count, breakage, theft) with a required reason: one
    `adjustment` movement recording the staff user. Atomic; locks the stock row. Refuses to go
    below the reserved units or zero (`StockBelowReserved`)."""
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise InvalidStockRequest("An adjustment needs a non-zero whole number of units.")
    if not (reason or "").strip():
        raise InvalidStockRequest("An adjustment needs a reason.")
    stock_item = _stock_item_locked_for(product=product)
    new_on_hand = stock_item.on_hand + delta
    if new_on_hand < 0:
        raise StockBelowReserved(
            f"{product.sku}: only {stock_item.on_hand} on hand, cannot remove {-delta}.",
            sku=product.sku,
            reserved=stock_item.reserved,
            requested_on_hand=new_on_hand,
        )
    _ensure_room_for_reserved(stock_item=stock_item, on_hand=new_on_hand, now=timezone.now())
    movement = _move_stock(
        stock_item=stock_item,
        reason=MovementReason.ADJUSTMENT,
        delta=delta,
        quantity=abs(delta),
        user=user,
        note=reason.strip(),
    )
    _notify_stock_changed([product.pk])
    return movement


@locking.retry_on_deadlock
@transaction.atomic
def stock_return(*, product, quantity: int, resellable: bool, reference: str) -> StockMovement:
    """Record returned units: resellable ones go back on the shelf (`return_restock`, on_hand
    raised); damaged ones are written off (`return_write_off`, on_hand unchanged).

    Atomic; locks the stock row. Idempotent on (product, disposition, `reference`): a repeat
    returns the first movement; a repeat with another quantity raises `StockReturnConflict`.
    """
    if not _is_positive_int(quantity):
        raise InvalidStockRequest("A return needs a positive whole quantity.")
    reference = _require_reference(reference)
    reason = MovementReason.RETURN_RESTOCK if resellable else MovementReason.RETURN_WRITE_OFF
    stock_item = _stock_item_locked_for(product=product)
    recorded = StockMovement.objects.filter(
        stock_item=stock_item, reason=reason, reference=reference
    ).first()
    if recorded is not None:
        if recorded.quantity != quantity:
            raise StockReturnConflict(
                f"Return {reference!r} of {product.sku} was recorded with {recorded.quantity} "
                f"units, not {quantity}.",
                reference=reference,
            )
        return recorded
    movement = _move_stock(
        stock_item=stock_item,
        reason=reason,
        delta=quantity if resellable else 0,
        quantity=quantity,
        reference=reference,
    )
    if resellable:
        _notify_stock_changed([product.pk])
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
