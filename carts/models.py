import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from carts.enums import CartStatus

# Holds an IPv6 address with room to spare; a longer client address comes from a forged
# X-Forwarded-For, and cutting it only merges such clients.
CLIENT_ADDRESS_MAX_LENGTH = 64


class Cart(models.Model):
    """A customer's or a guest's cart. Guests find theirs through the `cart_id` cookie."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="carts",
    )
    status = models.CharField(max_length=20, choices=CartStatus.choices, default=CartStatus.OPEN)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # The inventory reservation holding this cart's stock during checkout; any change of the
    # cart releases it and clears this field.
    reservation_id = models.UUIDField(null=True, blank=True)
    # The address a guest cart was created from: live reservations are capped per address for
    # guests as they are per customer (blank for customers' carts and older guest carts).
    client_address = models.CharField(max_length=CLIENT_ADDRESS_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(status=CartStatus.OPEN, owner__isnull=False),
                name="carts_cart_one_open_per_owner",
            ),
        ]
        indexes = [
            # The abandoned-guest-cart sweep filters by owner, then age.
            models.Index(fields=["owner", "updated_at"], name="carts_owner_updated_idx"),
            # The per-address reservation cap counts the open guest carts holding a reservation.
            models.Index(
                fields=["client_address"],
                condition=Q(
                    owner__isnull=True, status=CartStatus.OPEN, reservation_id__isnull=False
                ),
                name="carts_guest_reserving_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Cart {self.id} ({self.status})"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "catalogue.Product", on_delete=models.CASCADE, related_name="cart_items"
    )
    quantity = models.PositiveIntegerField()
    # The price the customer saw when adding the line; reading the cart compares it with the
    # catalogue's current price, and checkout always charges the current one.
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    price_snapshot_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="carts_item_unique_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="carts_item_quantity_gte_1"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="carts_item_unit_price_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id} in {self.cart_id}"


class DeliveryZone(models.Model):
    """Where the shop delivers and what it charges: a flat `rate` per order to the zone's
    countries, free from `free_above` (the subtotal) when set. Amounts are shelf amounts, with
    VAT included or added as the shop's prices are. No zone at all means free delivery
    everywhere; once zones exist, a country outside every active zone cannot be delivered to."""

    name = models.CharField(max_length=100, unique=True)
    countries = CountryField(multiple=True)
    rate = models.DecimalField(max_digits=12, decimal_places=2)
    free_above = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Orders whose subtotal reaches this amount are delivered free. Empty: never.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0), name="delivery_zone_rate_gte_0"),
            models.CheckConstraint(
                condition=Q(free_above__isnull=True) | Q(free_above__gte=0),
                name="delivery_zone_free_above_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return self.name
