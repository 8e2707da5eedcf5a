"""Cart writes. Every change of a cart locks the cart row first, releases any stock reservation
the cart holds (the reservation described the old contents) and checks the new quantity against
the per-line cap and what can be sold. Carts never reserve stock on add: only `cart_reserve`,
called by checkout, does."""

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from django.utils import timezone

from carts.enums import ALLOWED_TRANSITIONS, CartStatus, MergeCapReason
from carts.errors import (
    CartEmpty,
    CartItemNotFound,
    CartNotOpen,
    QuantityAboveLimit,
    TooManyActiveReservations,
)
from carts.models import CLIENT_ADDRESS_MAX_LENGTH, Cart, CartItem
from carts.selectors import (
    cart_id_from_cookie,
    cart_items_prefetch,
    cart_lines_for_add,
    cart_open_locked_with_items,
    carts_open_for_checkout,
)
from catalogue.errors import ProductNotFound
from catalogue.selectors import product_get_active
from inventory.enums import ReservationStatus
from inventory.errors import InsufficientStock, ReservationNotFound
from inventory.selectors import (
    available_by_product_id,
    reservation_get,
    reservations_live_count,
)
from inventory.services import ReservationLineRequest, reservation_release, stock_reserve
from yourlocalshop.api.throttling import client_address
from yourlocalshop.db import create_unless_duplicate, prefetched
from yourlocalshop.state_machine import illegal_transition, transition, transition_rows

# Ids beyond a signed 64-bit integer cannot exist; asking the database would be an error.
MAX_DATABASE_ID = 2**63 - 1


@dataclass(frozen=True)
class MergeCap:
    """One guest line that could not be merged in full."""

    sku: str
    requested: int
    quantity: int
    reason: MergeCapReason


@dataclass(frozen=True)
class CartMergeResult:
    cart: Cart
    merged: bool
    capped: list[MergeCap] = field(default_factory=list)


def cart_create_guest(*, client_address: str) -> Cart:
    """A new open cart without an owner (a guest's, found again through the cookie), recording
    the client address it came from for the per-address reservation cap."""
    return Cart.objects.create(client_address=client_address[:CLIENT_ADDRESS_MAX_LENGTH])


def cart_get_or_create_for_user(*, user) -> Cart:
    """The user's open cart, created when there is none.

    Safe under concurrency: the partial unique constraint allows one open cart per user, so a
    racing second create fails and reads the winner's cart instead.
    """
    cart = Cart.objects.filter(owner=user, status=CartStatus.OPEN).first()
    if cart is not None:
        return cart
    return create_unless_duplicate(Cart.objects, owner=user) or Cart.objects.get(
        owner=user, status=CartStatus.OPEN
    )


@transaction.atomic
def cart_item_add(*, cart: Cart, sku: str, quantity: int) -> CartItem:
    """Add `quantity` of the product to the cart, on top of a line it already has.

    Atomic; locks the cart, which must be open and still `cart.owner`'s (else `CartNotOpen`).
    Raises `ProductNotFound` for unknown or inactive SKUs, `QuantityAboveLimit` past
    `CART_MAX_QTY_PER_LINE`, `InsufficientStock` (with the available amount) past what can be
    sold. The line's price snapshot becomes today's price, the price the customer was shown
    when adding. Five statements with BEGIN and COMMIT for a cart holding no reservation.
    """
    _validate_quantity(quantity, minimum=1)
    return _line_add(cart=_cart_lock_for_write(cart), sku=sku, quantity=quantity)


def _line_add(*, cart: Cart, sku: str, quantity: int) -> CartItem:
    """`cart_item_add` for a caller holding the cart's lock (or the only one who knows it).
    The cart's lines after the add are kept as `cart.items` (prefetched), read with the product
    in the add's one query: the answer showing the cart reads nothing more."""
    product, lines = cart_lines_for_add(cart_id=cart.pk, sku=sku)
    if product is None:
        raise ProductNotFound(f"No product with SKU {sku!r} is on sale.", sku=sku)
    line = next((line for line in lines if line.pk == product.line_id), None)
    new_quantity = quantity + (line.quantity if line else 0)
    _check_sellable(product=product, quantity=new_quantity, available=product.available)
    now = timezone.now()
    if line is None:
        line = CartItem.objects.create(
            cart=cart,
            product=product,
            quantity=new_quantity,
            unit_price=product.price,
            price_snapshot_at=now,
        )
        lines.append(line)
    else:
        line.cart = cart
        line.quantity, line.unit_price, line.price_snapshot_at = new_quantity, product.price, now
        line.save(update_fields=["quantity", "unit_price", "price_snapshot_at"])
    prefetched(cart, "items", lines)
    return line


def cart_item_add_for_request(
    *, request: HttpRequest, sku: str, quantity: int
) -> tuple[CartItem, bool]:
    """`cart_item_add` to the cart this request writes to; returns the item (`item.cart` is that
    cart) and whether it is a guest cart whose cookie must be (re)set.

    The signed-in user's open cart (`cart_get_or_create_for_user`); else the cookie's guest
    cart, checked by the add's own lock (a cart that is not an open guest cart, someone else's
    or a closed one, reads as none); else a new guest cart, created in the add's transaction
    so that a refused add leaves none behind.
    """
    if request.user.is_authenticated:
        cart = cart_get_or_create_for_user(user=request.user)
        return cart_item_add(cart=cart, sku=sku, quantity=quantity), False
    cart_id = cart_id_from_cookie(request)
    if cart_id is not None:
        try:
            return cart_item_add(
                cart=Cart(pk=cart_id, owner=None), sku=sku, quantity=quantity
            ), True
        except CartNotOpen:
            pass
    _validate_quantity(quantity, minimum=1)
    with transaction.atomic():  # nobody else knows the new cart yet: nothing to lock
        cart = cart_create_guest(client_address=client_address(request))
        return _line_add(cart=cart, sku=sku, quantity=quantity), True


@transaction.atomic
def cart_item_update(*, cart: Cart, item_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity; 0 removes the line (returns None).

    Atomic; locks the cart. Raises `CartItemNotFound` for an item of any other cart. Raising a
    quantity is checked like an add (`ProductNotFound`, `InsufficientStock`); lowering it always
    works, even for a product no longer sold or short of stock.
    The price snapshot is kept: the customer did not look at the product again.
    """
    _validate_quantity(quantity, minimum=0)
    cart = _cart_lock_open(cart_id=cart.pk)
    item = _cart_item_get(cart=cart, item_id=item_id)
    _cart_reservation_drop(cart)
    if quantity == 0:
        item.delete()
        _cart_touch(cart)
        return None
    if quantity > item.quantity:
        # More of a product that was taken off sale is refused like adding it would be.
        product = product_get_active(sku=item.product.sku)
        available = available_by_product_id(product_ids=[product.pk])[product.pk]
        _check_sellable(product=product, quantity=quantity, available=available)
    item.quantity = quantity
    item.save(update_fields=["quantity"])
    _cart_touch(cart)
    return item


@transaction.atomic
def cart_item_remove(*, cart: Cart, item_id: int) -> None:
    """Remove a line. Atomic; locks the cart; `CartItemNotFound` for any other cart's item."""
    cart = _cart_lock_open(cart_id=cart.pk)
    item = _cart_item_get(cart=cart, item_id=item_id)
    _cart_reservation_drop(cart)
    item.delete()
    _cart_touch(cart)


@transaction.atomic
def cart_merge(*, source: Cart, target: Cart) -> CartMergeResult:
    """Move the guest cart `source` into the customer's open cart `target`.

    Atomic; locks both carts in primary-key order. Quantities of the same product are summed
    and then capped, first at `CART_MAX_QTY_PER_LINE`, then at what can be sold right now — but
    never below what the customer's own line already held, so a merge never takes away
    something the customer chose. Products no longer sold are left out. Every line not merged
    in full is reported in `capped`. The source ends `merged` (frozen, kept as a record).
    Idempotent: merging a source that is no longer open changes nothing (`merged=False`).
    """
    if source.pk == target.pk:
        return CartMergeResult(cart=target, merged=False)
    source, target = _carts_lock_pair(source=source, target=target)
    if target is None or target.status != CartStatus.OPEN:
        raise CartNotOpen()
    if source is None or source.status != CartStatus.OPEN:
        return CartMergeResult(cart=target, merged=False)

    _cart_reservation_drop(source)
    _cart_reservation_drop(target)
    capped = _cart_lines_merge(source=source, target=target)

    transition(source, to=CartStatus.MERGED, allowed=ALLOWED_TRANSITIONS)
    source.save(update_fields=["status", "status_changed_at", "updated_at"])
    _cart_touch(target)
    return CartMergeResult(cart=target, merged=True, capped=capped)


def _carts_lock_pair(*, source: Cart, target: Cart) -> tuple[Cart | None, Cart | None]:
    """Both carts re-read under their row locks, taken in primary-key order (no deadlock with a
    merge the other way round); None for a cart that is gone."""
    locked = {
        cart.pk: cart
        for cart in Cart.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    return locked.get(source.pk), locked.get(target.pk)


def _cart_lines_merge(*, source: Cart, target: Cart) -> list[MergeCap]:
    """Add each line of `source` to `target` by the merge rule; returns every line not merged in
    full."""
    source_items = list(source.items.select_related("product"))
    target_items = {item.product_id: item for item in target.items.all()}
    available = available_by_product_id(product_ids=[item.product_id for item in source_items])
    capped: list[MergeCap] = []
    for source_item in source_items:
        product = source_item.product
        existing = target_items.get(product.pk)
        existing_quantity = existing.quantity if existing else 0
        requested = existing_quantity + source_item.quantity
        if not product.is_active:
            capped.append(
                MergeCap(product.sku, requested, existing_quantity, MergeCapReason.UNAVAILABLE)
            )
            continue
        quantity, reason = _merged_quantity(
            requested=requested, kept=existing_quantity, available=available.get(product.pk, 0)
        )
        if reason is not None:
            capped.append(MergeCap(product.sku, requested, quantity, reason))
        if quantity == existing_quantity:
            continue
        if existing is None:
            CartItem.objects.create(
                cart=target,
                product=product,
                quantity=quantity,
                unit_price=source_item.unit_price,
                price_snapshot_at=source_item.price_snapshot_at,
            )
        else:
            existing.quantity = quantity
            existing.save(update_fields=["quantity"])
    return capped


def _merged_quantity(*, requested: int, kept: int, available: int) -> tuple[int, str | None]:
    """The merge rule for one product: `requested` capped at `CART_MAX_QTY_PER_LINE`, then at what
    can be sold now, but never below `kept` (what the customer's own line held); with the reason
    of the cap that applied last, or None."""
    quantity, reason = requested, None
    if quantity > settings.CART_MAX_QTY_PER_LINE:
        quantity, reason = settings.CART_MAX_QTY_PER_LINE, MergeCapReason.LINE_LIMIT
    if quantity > available:
        quantity, reason = available, MergeCapReason.INSUFFICIENT_STOCK
    return max(quantity, kept), reason


def cart_merge_on_login(*, user, guest_cart_id: uuid.UUID | None) -> CartMergeResult | None:
    """Merge the guest cart a signed-in user brought along (from the `cart_id` cookie).

    Called by every login path (API login, registration, the storefront login page). Returns
    None when there is nothing to merge: no id, an unknown id, or a cart that is not an open
    guest cart (someone else's cart is never merged). Atomic and idempotent like `cart_merge`.
    """
    if guest_cart_id is None:
        return None
    guest_cart = Cart.objects.filter(
        pk=guest_cart_id, status=CartStatus.OPEN, owner__isnull=True
    ).first()
    if guest_cart is None:
        return None
    with transaction.atomic():
        target = cart_get_or_create_for_user(user=user)
        return cart_merge(source=guest_cart, target=target)


def cart_reserve(*, cart: Cart, ttl_seconds: int | None = None):
    """Reserve stock for every line of the cart (reference `cart:<id>`); returns the
    `InventoryReservation`.

    Atomic and all-or-nothing (`InsufficientStock` names every short line); locks the cart.
    Idempotent: calling it again for an unchanged cart refreshes the same reservation, and any
    later change of the cart releases it. A customer holds one live reservation at most (one open
    cart); the guest carts created from one client address at most
    `MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS` (`TooManyActiveReservations`, 429).
    """
    with transaction.atomic():
        cart = _cart_lock_open(cart_id=cart.pk)
        prefetch_related_objects([cart], cart_items_prefetch())
        return cart_reserve_locked(cart=cart, ttl_seconds=ttl_seconds)


def cart_open_locked_for_checkout(
    *, user_id: int | None, guest_cart_id: uuid.UUID | None
) -> Cart | None:
    """The open cart a checkout pays for, as `carts.selectors.cart_open_locked_with_items` reads
    it (row locked until the caller's transaction ends; items, products and their stock rows
    read under that lock), for `cart_reserve_locked`; None when there is none.

    A cart that holds no reservation, the common case, is locked by one conditional update
    that already records the id of the reservation `cart_reserve_locked` then makes, and its
    items are read with it in one query: two statements instead of a locking read, the items
    and the cart's write after the reservation. Its `reservation_to_make` is that id, so the
    caller's transaction must reserve (`cart_reserve_locked`) or roll back.
    """
    reservation_id = uuid.uuid4()
    carts = carts_open_for_checkout(user_id=user_id, guest_cart_id=guest_cart_id)
    marked = Cart.objects.filter(
        pk__in=carts.values("pk")[:1], status=CartStatus.OPEN, reservation_id__isnull=True
    ).update(reservation_id=reservation_id)
    if not marked:  # no open cart, or one that holds a reservation
        return cart_open_locked_with_items(user_id=user_id, guest_cart_id=guest_cart_id)
    items = list(
        CartItem.objects.select_related("cart", "product__stock_item").filter(
            cart__in=carts.filter(reservation_id=reservation_id)
        )
    )
    cart = items[0].cart if items else carts.get(reservation_id=reservation_id)
    for item in items:
        item.cart = cart
    prefetched(cart, "items", items)
    cart.reservation_to_make = reservation_id
    return cart


def cart_reserve_locked(*, cart: Cart, ttl_seconds: int | None = None):
    """`cart_reserve` for a caller that already holds the cart's row lock in its own transaction
    and read the cart and its items under it (`cart_open_locked_for_checkout`,
    `carts.selectors.cart_open_locked_with_items`), so nothing is read twice. Same guarantees;
    an error leaves the caller's transaction to roll back."""
    if cart.status != CartStatus.OPEN:
        raise CartNotOpen()
    items = sorted(cart.items.all(), key=lambda item: item.product_id)
    if not items:
        raise CartEmpty()
    _check_reservation_cap(cart)
    # The id the cart already records for the reservation, when it was locked by recording it.
    to_make = getattr(cart, "reservation_to_make", None)
    reservation = stock_reserve(
        lines=[
            ReservationLineRequest(
                sku=item.product.sku, quantity=item.quantity, product=item.product
            )
            for item in items
        ],
        reference=f"cart:{cart.pk}",
        ttl_seconds=ttl_seconds,
        # Only a cart's own reservations use its reference, and a cart keeps the id of the last
        # one until a change releases it: without one, none of them can be active.
        new_reference=to_make is not None or cart.reservation_id is None,
        reservation_id=to_make,
    )
    if to_make is None:
        cart.reservation_id = reservation.id
        cart.save(update_fields=["reservation_id"])
    return reservation


def cart_mark_checked_out(*, cart_id: uuid.UUID) -> None:
    """Freeze the cart after its order was placed. Idempotent for a cart already checked out;
    `IllegalTransition` for one that can no longer be (a merged cart). The reservation id is
    kept: the order now owns that reservation.

    Orders calls this inside its own transaction, as the last step of a paid checkout, so the
    move is one conditional update (its row lock lasts until that transaction ends) rather than a
    locking read and a write; the status is read only when no row moved.
    """
    carts = Cart.objects.filter(pk=cart_id)
    checked_out = CartStatus.CHECKED_OUT
    if transition_rows(
        carts, to=checked_out, allowed=ALLOWED_TRANSITIONS, updated_at=timezone.now()
    ):
        return
    current = carts.values_list("status", flat=True).first()
    if current != checked_out:
        raise illegal_transition(Cart, current=current, to=checked_out)


def carts_abandoned_delete(*, older_than_days: int | None = None) -> int:
    """Delete guest carts (open or merged) untouched for `CART_TTL_DAYS`; returns how many.

    Idempotent. Customers' carts stay (they are theirs), and checked-out carts stay as the
    record behind an order. Stock still held by an abandoned cart is released first.
    """
    days = settings.CART_TTL_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    abandoned = Cart.objects.filter(
        owner__isnull=True,
        status__in=[CartStatus.OPEN, CartStatus.MERGED],
        updated_at__lt=cutoff,
    )
    deleted = 0
    for cart_id in abandoned.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            cart = abandoned.select_for_update().filter(pk=cart_id).first()
            if cart is None:
                continue
            _cart_reservation_drop(cart, save=False)
            cart.delete()
            deleted += 1
    return deleted


def _validate_quantity(quantity: int, *, minimum: int) -> None:
    # Services are called from forms and other apps too, not only through the API serializers.
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < minimum:
        raise ValidationError(
            {"quantity": [f"Quantity must be a whole number of at least {minimum}."]}
        )
    if quantity > settings.CART_MAX_QTY_PER_LINE:
        raise QuantityAboveLimit(
            f"At most {settings.CART_MAX_QTY_PER_LINE} of one product fit in a cart line.",
            maxQuantity=settings.CART_MAX_QTY_PER_LINE,
        )


def _check_sellable(*, product, quantity: int, available: int) -> None:
    if quantity > settings.CART_MAX_QTY_PER_LINE:
        raise QuantityAboveLimit(
            f"At most {settings.CART_MAX_QTY_PER_LINE} of one product fit in a cart line.",
            maxQuantity=settings.CART_MAX_QTY_PER_LINE,
        )
    if quantity > available:
        raise InsufficientStock(
            f"Only {available} of {product.name} can be sold right now.",
            availability=[{"sku": product.sku, "requested": quantity, "available": available}],
        )


def _check_reservation_cap(cart: Cart) -> None:
    """Refuse a guest cart's reservation beyond the cap of the client address it came from.

    Customers need no count: a customer has one open cart (a database constraint), and only an
    open cart holds a reservation (checkout commits it before closing the cart, a merge releases
    it), so they hold one live reservation at most whatever they send. A guest can make a new
    cart with every cookie jar, hence the cap per address. The caller holds the cart's row lock.
    """
    if cart.owner_id is not None or not cart.client_address:
        return  # a customer's, or a guest cart created before addresses were recorded
    limit = settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS
    _guest_address_lock(cart.client_address)
    # Only an open guest cart can still hold stock (a checked-out one committed its reservation, a
    # merged one released it), so the list stays short however many guest orders an address has
    # placed.
    holders = Cart.objects.filter(
        owner__isnull=True, status=CartStatus.OPEN, client_address=cart.client_address
    )
    # An open cart keeps the id of its last reservation, which may have expired or been released:
    # inventory says which still hold stock.
    other_reservation_ids = list(
        holders.filter(reservation_id__isnull=False)
        .exclude(pk=cart.pk)
        .values_list("reservation_id", flat=True)
    )
    if not other_reservation_ids:
        return
    live = reservations_live_count(reservation_ids=other_reservation_ids)
    if live >= limit:
        raise TooManyActiveReservations(
            "Finish or abandon an earlier checkout before starting another one.",
            maxActiveReservations=limit,
        )


def _guest_address_lock(address: str) -> None:
    """Serialize the reservations of one guest address until the transaction ends, as the cart
    lock does a customer's: guests' carts are many, so two of them from one address would
    otherwise each count the other's reservation as not there yet. There is no row to lock, so
    PostgreSQL locks the address's name (taken after the cart lock, as everywhere). SQLite has
    no concurrent writers to serialize."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"carts.guest_address:{address}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)]
        )


def _cart_lock_open(*, cart_id: uuid.UUID) -> Cart:
    cart = Cart.objects.select_for_update().filter(pk=cart_id).first()
    if cart is None or cart.status != CartStatus.OPEN:
        raise CartNotOpen()
    return cart


def _cart_lock_for_write(cart: Cart) -> Cart:
    """Lock the open cart of `cart.owner` for a change of its lines, mark it changed and drop
    the reservation it holds; `CartNotOpen` when there is no such cart.

    A cart holding no reservation (the common case) is locked and marked by one conditional
    update, without reading it: its row says nothing else the change needs."""
    now = timezone.now()
    mine = Cart.objects.filter(pk=cart.pk, owner_id=cart.owner_id, status=CartStatus.OPEN)
    if mine.filter(reservation_id__isnull=True).update(updated_at=now):
        cart.status, cart.reservation_id, cart.updated_at = CartStatus.OPEN, None, now
        return cart
    locked = mine.select_for_update().first()
    if locked is None:
        raise CartNotOpen()
    _cart_reservation_drop(locked)
    _cart_touch(locked)
    return locked


def _cart_item_get(*, cart: Cart, item_id: int) -> CartItem:
    if not 0 < item_id <= MAX_DATABASE_ID:
        raise CartItemNotFound()
    item = CartItem.objects.select_related("product").filter(cart=cart, pk=item_id).first()
    if item is None:
        raise CartItemNotFound()
    return item


def _cart_reservation_drop(cart: Cart, *, save: bool = True) -> None:
    if cart.reservation_id is None:
        return
    try:
        reservation = reservation_get(reservation_id=cart.reservation_id)
    except ReservationNotFound:
        reservation = None
    # A committed reservation already became an order's sale: it is no longer the cart's to give
    # back (orders marks the cart checked out in the same step; this covers a crash in between).
    if reservation is not None and reservation.status != ReservationStatus.COMMITTED:
        reservation_release(reservation_id=cart.reservation_id)
    cart.reservation_id = None
    if save:
        cart.save(update_fields=["reservation_id"])


def _cart_touch(cart: Cart) -> None:
    cart.save(update_fields=["updated_at"])
