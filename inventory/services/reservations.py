"""Reservations: reserve, release, commit, extend, expire.

`stock_reserve` and `reservation_commit` are the checkout's steps: inside a caller's transaction
they take no savepoint of their own (two statements fewer per order), so an error they raise
rolls back the caller's whole transaction. A caller that goes on after such an error wraps the
call in its own `transaction.atomic()`.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalogue.models import Product
from catalogue.selectors import products_on_sale
from inventory import locking
from inventory.enums import RESERVATION_TRANSITIONS, ReservationStatus
from inventory.errors import (
    InvalidStockRequest,
    ReservationReferenceConflict,
)
from inventory.models import (
    InventoryReservation,
    InventoryReservationLine,
    StockItem,
)
from inventory.services.steps import (
    expiry,
    hold,
    insufficient,
    is_positive_int,
    notify_stock_changed,
    release_holds,
    require_reference,
    reservation_locked,
    retake_lost_holds,
    save_status,
    sell_held,
)
from yourlocalshop.db import prefetched, prefetched_rows
from yourlocalshop.state_machine import transition, transition_rows


@dataclass(frozen=True)
class ReservationLineRequest:
    sku: str
    quantity: int
    # The product of `sku` as the caller read it in this transaction, with its stock row
    # (`select_related("product__stock_item")`): the reservation then reads neither again.
    product: Product | None = None


def _requested_quantities(lines: Sequence[ReservationLineRequest]) -> dict[str, int]:
    """Validated `{sku: quantity}`; the same SKU on several lines is added up."""
    if not lines:
        raise InvalidStockRequest("A reservation needs at least one line.")
    quantities: dict[str, int] = {}
    for line in lines:
        if not line.sku or not is_positive_int(line.quantity):
            raise InvalidStockRequest(
                f"Each line needs a SKU and a positive whole quantity (got {line!r})."
            )
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    return quantities


def _stock_items_on_sale(lines: Sequence[ReservationLineRequest]) -> dict[str, StockItem]:
    """The stock rows of the lines' products on sale, with their products, keyed by SKU: as the
    caller read them when every line brings its product with its stock row (a stale row only
    chooses the locking path of `hold`), else in one query."""
    products = [line.product for line in lines]
    if not all(
        product is not None and Product.stock_item.is_cached(product) for product in products
    ):
        return {
            item.product.sku: item
            for item in StockItem.objects.select_related("product").filter(
                product__in=products_on_sale(skus={line.sku for line in lines})
            )
        }
    items = {}
    for line, product in zip(lines, products, strict=True):
        item = getattr(product, "stock_item", None)  # None: the product has no stock row
        if product.is_active and product.sku == line.sku and item is not None:
            items[line.sku] = item
    return items


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
@transaction.atomic(savepoint=False)
def stock_reserve(
    *,
    lines: Sequence[ReservationLineRequest],
    reference: str,
    ttl_seconds: int | None = None,
    new_reference: bool = False,
    reservation_id: uuid.UUID | None = None,
) -> InventoryReservation:
    """Hold stock for every line, or for none.

    Atomic. Idempotent on `reference`: while a reservation for it is active (and not past its
    expiry) the same reservation comes back with its expiry moved to now + TTL; asking for
    different lines under that reference raises `ReservationReferenceConflict`. A lapsed one is
    expired and a new reservation made. Raises `InsufficientStock` naming every short SKU
    (unknown and inactive SKUs count as 0 available). Locks: see the module docstring.
    `new_reference`: the caller knows that no active reservation holds `reference` (a cart
    that holds none), so the reservation is inserted without looking; were there one after all,
    its unique constraint fails the caller's transaction. `reservation_id` (with
    `new_reference`): the id the new reservation gets, one the caller has already recorded.
    """
    if reservation_id is not None and not new_reference:
        raise InvalidStockRequest("Only a new reference's reservation can be given its id.")
    quantities = _requested_quantities(lines)
    reference = require_reference(reference)
    expires_at = expiry(ttl_seconds)
    now = timezone.now()
    items = _stock_items_on_sale(lines)
    claim = _reference_claim(
        InventoryReservation(
            id=reservation_id or uuid.uuid4(), reference=reference, expires_at=expires_at
        ),
        now=now,
        new_reference=new_reference,
    )
    if claim.live is not None:
        return _refresh_existing(claim.live, quantities=quantities, expires_at=expires_at)
    _hold_every_line(items=items, quantities=quantities, now=now)
    # Written once every hold succeeded, already marked held, in the holds' transaction: one
    # insert instead of an insert and an update while the stock rows are locked.
    reservation = claim.reservation
    lines = InventoryReservationLine.objects.bulk_create(
        InventoryReservationLine(
            reservation=reservation,
            product=item.product,
            sku=sku,
            quantity=quantities[sku],
            is_held=True,
        )
        for sku, item in items.items()
    )
    prefetched(reservation, "lines", lines)  # `reservation_commit(reserved=)` reads none again
    notify_stock_changed(
        [*claim.released_product_ids, *(item.product_id for item in items.values())]
    )
    return reservation


@dataclass(frozen=True)
class _ReferenceClaim:
    """The reservation `stock_reserve` fills (new, holding nothing yet), or the `live` one
    already holding the reference; `released_product_ids`: the products whose units a lapsed
    reservation of the reference gave back on the way."""

    reservation: InventoryReservation
    live: InventoryReservation | None = None
    released_product_ids: tuple[int, ...] = ()


def _reference_claim(
    reservation: InventoryReservation, *, now: datetime, new_reference: bool
) -> _ReferenceClaim:
    """Claim the reference of the unsaved `reservation`: insert it, or find the reference's
    active one (row locked) and either keep it while live or expire it and insert a new one."""
    # The common case, a reference without an active reservation, is one insert that the
    # database skips when the reference has one (the partial unique constraint arbitrates, and a
    # concurrent insert is waited for): the read that follows, which locks the reference's
    # active reservation, finds either this one or the one to refresh or replace.
    if new_reference:
        reservation.save(force_insert=True)
        return _ReferenceClaim(reservation=reservation)
    InventoryReservation.objects.bulk_create([reservation], ignore_conflicts=True)
    existing = (
        InventoryReservation.objects.select_for_update()
        .filter(reference=reservation.reference, status=ReservationStatus.ACTIVE)
        .first()
    )
    if existing is None:  # ours lost to a concurrent one that was released again since
        raise ReservationReferenceConflict(
            f"Reference {reservation.reference!r} changed while reserving; try again."
        )
    if existing.pk == reservation.pk:
        return _ReferenceClaim(reservation=reservation)
    if existing.expires_at > now:
        return _ReferenceClaim(reservation=existing, live=existing)
    save_status(existing, to=ReservationStatus.EXPIRED)
    released = release_holds(reservation=existing)
    return _ReferenceClaim(
        reservation=_create(reference=reservation.reference, expires_at=reservation.expires_at),
        released_product_ids=tuple(released),
    )


def _hold_every_line(*, items: dict[str, StockItem], quantities: dict[str, int], now) -> None:
    """Hold each line's units (stock rows locked in primary-key order, as every stock writer
    does), or raise `InsufficientStock` naming every short SKU: unknown, inactive and stockless
    SKUs have no units to sell."""
    shortages: dict[str, tuple[int | None, int]] = {
        sku: (None, quantity) for sku, quantity in quantities.items() if sku not in items
    }
    for sku, item in sorted(items.items(), key=lambda pair: pair[1].pk):
        if not hold(stock_item=item, quantity=quantities[sku], now=now):
            shortages[sku] = (item.product_id, quantities[sku])
    if shortages:
        raise insufficient(shortages)


def _create(*, reference: str, expires_at: datetime) -> InventoryReservation:
    """A new active reservation under `reference`, whose lapsed one the caller has just
    expired (holding its row lock): the one insert of the reference that can still race."""
    try:
        with transaction.atomic():
            return InventoryReservation.objects.create(reference=reference, expires_at=expires_at)
    except IntegrityError:
        raise ReservationReferenceConflict(
            f"Reference {reference!r} changed while reserving; try again."
        ) from None


@locking.retry_on_deadlock
@transaction.atomic
def reservation_release(*, reservation_id) -> InventoryReservation:
    """Give the reservation's units back. Atomic, idempotent: releasing a released or expired
    reservation only frees what it may still hold. A committed one cannot be released
    (`IllegalTransition`). Locks the reservation, then its stock rows by primary key."""
    reservation = reservation_locked(reservation_id)
    if reservation.status in (ReservationStatus.ACTIVE, ReservationStatus.COMMITTED):
        save_status(reservation, to=ReservationStatus.RELEASED)
    notify_stock_changed(release_holds(reservation=reservation))
    return reservation


@locking.retry_on_deadlock
@transaction.atomic(savepoint=False)
def reservation_commit(
    *, reservation_id, reserved: InventoryReservation | None = None
) -> InventoryReservation:
    """Turn the reservation into sales: one `sale` movement per line, on_hand lowered.

    Atomic, idempotent (a committed reservation is returned unchanged). An expired or released
    reservation first re-takes its units, all or none, else `InsufficientStock`. Locks the
    reservation, then all its stock rows by primary key.
    `reserved`: this reservation as `stock_reserve` returned it to the caller in this process,
    when it made it: a reservation still active has the lines it was made with, so they are
    not read again.
    """
    now = timezone.now()
    if _commit_if_active(reservation_id, now=now):
        # Still `active` when its row was locked, so every line still holds its units (a
        # reservation loses holds only on leaving `active`, under that same row lock): the
        # sale needs no check. Four statements whatever the number of lines, three when the
        # caller has the lines.
        lines = _lines_written(reserved, reservation_id=reservation_id)
        if lines is None:
            lines = locking.reservation_lines_stock_locked(reservation_id=reservation_id)
            reservation = lines[0].reservation
        else:
            reservation = reserved
            reservation.status = ReservationStatus.COMMITTED
        items = {line.product_id: line.product.stock_item for line in lines}
        held_again: list[int] = []
    else:
        reservation = reservation_locked(reservation_id)
        if reservation.status == ReservationStatus.COMMITTED:
            return reservation
        lines = list(reservation.lines.all())
        items = locking.stock_items_locked(product_ids=[line.product_id for line in lines])
        held_again = retake_lost_holds(lines=lines, items=items, now=now)
        save_status(reservation, to=ReservationStatus.COMMITTED)
    sell_held(reservation=reservation, lines=lines, items=items)
    InventoryReservationLine.objects.filter(reservation=reservation).update(is_held=False)
    # Selling units under a live hold lowers on_hand and the live holds alike, so availability
    # moves only for units that were not live-held: a hold taken again, or every line once the
    # reservation is past its expiry (its holds stopped counting then). Announcing every sale
    # would orphan every cached catalogue body (the stock version) once more per order.
    notify_stock_changed(items if reservation.expires_at <= now else held_again)
    return reservation


def _lines_written(
    reserved: InventoryReservation | None, *, reservation_id
) -> list[InventoryReservationLine] | None:
    """The lines `stock_reserve` wrote for `reserved` (each with its product's stock row), or
    None when `reserved` is not the reservation `reservation_id` as `stock_reserve` made it."""
    if reserved is None or str(reserved.pk) != str(reservation_id):
        return None
    return prefetched_rows(reserved, "lines")


def _commit_if_active(reservation_id, *, now) -> bool:
    """Move an `active` reservation to `committed` in one conditional update, which also takes
    its row lock; False (nothing changed) for any other status, an unknown or malformed id."""
    try:
        reservations = InventoryReservation.objects.filter(
            pk=reservation_id, status=ReservationStatus.ACTIVE
        )
        return bool(
            transition_rows(
                reservations,
                to=ReservationStatus.COMMITTED,
                allowed=RESERVATION_TRANSITIONS,
                updated_at=now,
            )
        )
    except (ValueError, TypeError, ValidationError):
        return False


@locking.retry_on_deadlock
@transaction.atomic
def reservation_extend(*, reservation_id, ttl_seconds: int) -> InventoryReservation:
    """Move the expiry to now + `ttl_seconds`.

    Atomic, idempotent. An expired reservation comes back to `active` when its units are still
    free (all or none, else `InsufficientStock`); a released or committed one cannot be extended
    (`IllegalTransition`). Locks the reservation, then its stock rows by primary key.
    """
    expires_at = expiry(ttl_seconds)
    reservation = reservation_locked(reservation_id)
    lines = list(reservation.lines.all())
    if reservation.status != ReservationStatus.ACTIVE:
        transition(reservation, to=ReservationStatus.ACTIVE, allowed=RESERVATION_TRANSITIONS)
        items = locking.stock_items_locked(product_ids=[line.product_id for line in lines])
        retake_lost_holds(lines=lines, items=items, now=timezone.now())
        notify_stock_changed(items)
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
        save_status(reservation, to=ReservationStatus.EXPIRED)
        expired_now = True
    notify_stock_changed(release_holds(reservation=reservation))
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
