import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from inventory.enums import MovementReason, ReservationStatus


class StockItem(models.Model):
    """Physical stock of one product.

    `reserved` counts the units held by reservation lines (`InventoryReservationLine.is_held`),
    including lines of reservations past their expiry that nobody has reclaimed yet. It is what
    the guarded `UPDATE … WHERE on_hand - reserved >= quantity` checks against; what a customer
    can buy (`available`) is computed from the live lines by `inventory.selectors`, so it is right
    even when the expiry task has not run.
    """

    product = models.OneToOneField(
        "catalogue.Product", on_delete=models.PROTECT, related_name="stock_item"
    )
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    # Where the units are kept (shelf, bin), shown on pick lists; empty when not recorded.
    location = models.CharField(max_length=64, blank=True)
    # Reorder when what can be sold falls to this level; 0 means "only when out of stock".
    reorder_level = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(on_hand__gte=0), name="inventory_stockitem_on_hand_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="inventory_stockitem_reserved_gte_0"
            ),
            # The database itself refuses to hold more units than exist.
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")),
                name="inventory_stockitem_reserved_lte_on_hand",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} ({self.on_hand} on hand)"


class InventoryReservation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Caller's idempotency key, e.g. `cart:<uuid>` or `order:<uuid>`. Unique among active
    # reservations only: a cart releases its reservation on change and reserves again later.
    reference = models.CharField(max_length=100)
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(status=ReservationStatus.ACTIVE),
                name="inventory_reservation_one_active_per_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="inventory_res_status_exp_idx"),
            models.Index(fields=["reference"], name="inventory_res_reference_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.status})"


class InventoryReservationLine(models.Model):
    reservation = models.ForeignKey(
        InventoryReservation, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey("catalogue.Product", on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    # True while the line's units are counted in `StockItem.reserved`.
    is_held = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "product"], name="inventory_resline_one_per_product"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="inventory_resline_quantity_gt_0"
            ),
        ]
        indexes = [
            models.Index(
                fields=["product"], condition=Q(is_held=True), name="inventory_resline_held_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class StockMovement(models.Model):
    """The stock ledger: `StockItem.on_hand` always equals the sum of its movements' `delta`."""

    stock_item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="movements")
    reason = models.CharField(max_length=20, choices=MovementReason.choices)
    # Change of on_hand (0 for a written-off return: the unit never came back on the shelf).
    delta = models.IntegerField()
    # Units the movement is about, always positive.
    quantity = models.PositiveIntegerField()
    on_hand_after = models.IntegerField()
    reference = models.CharField(max_length=100, blank=True)
    reservation = models.ForeignKey(
        InventoryReservation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(on_hand_after__gte=0), name="inventory_movement_on_hand_after_gte_0"
            ),
            # A return is recorded once per product, disposition and reference.
            models.UniqueConstraint(
                fields=["stock_item", "reason", "reference"],
                condition=Q(
                    reason__in=[MovementReason.RETURN_RESTOCK, MovementReason.RETURN_WRITE_OFF]
                ),
                name="inventory_movement_return_once",
            ),
        ]
        indexes = [
            models.Index(fields=["stock_item", "created_at"], name="inventory_mov_item_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.delta:+d}"


class StockDrift(models.Model):
    """A reconciliation finding: stock that disagrees with its ledger or its held lines."""

    stock_item = models.ForeignKey(StockItem, on_delete=models.CASCADE, related_name="drifts")
    on_hand = models.IntegerField()
    ledger_on_hand = models.IntegerField()
    reserved = models.IntegerField()
    held_reserved = models.IntegerField()
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stock_item.product}: on hand {self.on_hand} vs ledger {self.ledger_on_hand}"
