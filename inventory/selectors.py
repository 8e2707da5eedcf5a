"""Reads of stock and reservations.

`available` = `on_hand` minus the units held by reservations that are active *and* not past
their expiry, computed from the lines at read time: a reservation whose TTL ran out stops
counting the moment it expires, whether or not the expiry task has marked it yet.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.enums import ReservationStatus
from inventory.errors import ReservationNotFound
from inventory.models import (
    InventoryReservation,
    InventoryReservationLine,
    StockDrift,
    StockItem,
    StockMovement,
)


def _live_held_lines() -> QuerySet[InventoryReservationLine]:
    return InventoryReservationLine.objects.filter(
        is_held=True,
        reservation__status=ReservationStatus.ACTIVE,
        reservation__expires_at__gt=timezone.now(),
    )


def _sum_per_outer_row(rows: QuerySet, *, key: str, outer_key: str, field: str) -> Coalesce:
    """The sum of `field` over the `rows` whose `key` equals the outer row's `outer_key` (0 when
    there are none), as a subquery: one statement, one snapshot."""
    return Coalesce(
        Subquery(
            rows.filter(**{key: OuterRef(outer_key)})
            .order_by()
            .values(key)
            .annotate(total=Sum(field))
            .values("total")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def _live_held_units() -> Coalesce:
    """The units live holds take of the outer stock row's product (0 when none)."""
    return _sum_per_outer_row(
        _live_held_lines(), key="product_id", outer_key="product_id", field="quantity"
    )


def available_by_product_id(*, product_ids: Iterable[int]) -> dict[int, int]:
    """Units a customer can still buy, per product id; a product without a stock row has 0.
    One query (the live holds are summed in a subquery), so on hand and held come from the same
    snapshot."""
    product_ids = set(product_ids)
    available = dict(
        StockItem.objects.filter(product_id__in=product_ids)
        .annotate(available=F("on_hand") - _live_held_units())
        .values_list("product_id", "available")
    )
    return {product_id: available.get(product_id, 0) for product_id in product_ids}


def available_units(*, product_ref: str = "pk") -> Coalesce:
    """`available` (the rule of `available_by_product_id`) of the product `product_ref` names
    in an outer query of another app, as a subquery expression: 0 without a stock row."""
    return Coalesce(
        Subquery(
            StockItem.objects.filter(product_id=OuterRef(product_ref))
            .annotate(available=F("on_hand") - _live_held_units())
            .values("available")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def stock_items_with_availability() -> QuerySet[StockItem]:
    """Stock rows annotated with `available` (the same rule as `available_by_product_id`)."""
    return StockItem.objects.select_related("product").annotate(
        available=F("on_hand") - _live_held_units()
    )


def stock_items_out_of_stock() -> QuerySet[StockItem]:
    """Stock rows of active products with nothing left to sell."""
    return stock_items_with_availability().filter(product__is_active=True, available__lte=0)


def stock_items_to_reorder() -> QuerySet[StockItem]:
    """Stock rows of active products still selling but down to their reorder level."""
    return stock_items_with_availability().filter(
        product__is_active=True, available__gt=0, available__lte=F("reorder_level")
    )


def stock_drifts_since(*, since) -> QuerySet[StockDrift]:
    """What the reconcile task found wrong since `since` (ledger or held units disagreeing)."""
    return StockDrift.objects.filter(detected_at__gte=since)


def stock_valuation() -> QuerySet[StockItem]:
    """Every stock row with its product and `value` = on hand x today's selling price (the shop
    records no cost price), by SKU."""
    return (
        StockItem.objects.select_related("product")
        .annotate(
            value=ExpressionWrapper(
                F("on_hand") * F("product__price"),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            )
        )
        .order_by("product__sku")
    )


def stock_movements_between(*, start, end) -> QuerySet[StockMovement]:
    """The ledger's rows of [start, end), oldest first, with product and user."""
    return (
        StockMovement.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("stock_item__product", "user")
        .order_by("created_at", "pk")
    )


def stock_locations_by_sku(*, skus: Iterable[str]) -> dict[str, str]:
    """Where each SKU is kept, for the SKUs whose location is recorded."""
    return dict(
        StockItem.objects.filter(product__sku__in=list(skus))
        .exclude(location="")
        .values_list("product__sku", "location")
    )


def stock_ledger_mismatches() -> QuerySet[StockItem]:
    """Stock rows whose `on_hand` differs from their ledger sum, or whose `reserved` counter
    differs from the units their reservation lines hold; annotated with both recomputed values.

    One statement, so it reads one snapshot: a concurrent change is seen whole or not at all.
    """
    ledger = _sum_per_outer_row(
        StockMovement.objects.all(), key="stock_item_id", outer_key="pk", field="delta"
    )
    held = _sum_per_outer_row(
        InventoryReservationLine.objects.filter(is_held=True),
        key="product_id",
        outer_key="product_id",
        field="quantity",
    )
    return (
        StockItem.objects.select_related("product")
        .annotate(ledger_on_hand=ledger, held_reserved=held)
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(reserved=F("held_reserved")))
        .order_by("pk")
    )


def reservation_get(*, reservation_id) -> InventoryReservation:
    """The reservation with its lines; `ReservationNotFound` otherwise."""
    try:
        reservation = (
            InventoryReservation.objects.prefetch_related("lines").filter(pk=reservation_id).first()
        )
    except ValidationError:  # not a UUID at all
        reservation = None
    if reservation is None:
        raise ReservationNotFound(reservation_id=str(reservation_id))
    return reservation


def reservations_live_count(*, reservation_ids: Iterable) -> int:
    """How many of these reservations still hold stock (active and not past expiry); one query.
    Ids of reservations that no longer exist count as not live."""
    return InventoryReservation.objects.filter(
        pk__in=set(reservation_ids),
        status=ReservationStatus.ACTIVE,
        expires_at__gt=timezone.now(),
    ).count()
