from django.conf import settings
from rest_framework import serializers

from carts.enums import MergeCapReason
from yourlocalshop.api.serializers import StrictSerializer


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: no "3", no 1.5, no 3.0, no true."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def _quantity_field(*, min_value: int, help_text: str) -> StrictIntegerField:
    return StrictIntegerField(
        min_value=min_value, max_value=settings.CART_MAX_QTY_PER_LINE, help_text=help_text
    )


class CartItemAddInputSerializer(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = _quantity_field(
        min_value=1, help_text="Added to the line's quantity when the SKU is already in the cart."
    )


class CartItemUpdateInputSerializer(StrictSerializer):
    quantity = _quantity_field(min_value=0, help_text="The line's new quantity; 0 removes it.")


class CartWarningSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=["price_changed", "product_unavailable"])
    sku = serializers.CharField()
    detail = serializers.CharField()


class CartLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="item.id")
    sku = serializers.CharField(source="item.product.sku")
    name = serializers.CharField(source="item.product.name")
    quantity = serializers.IntegerField(source="item.quantity")
    unitPrice = serializers.DecimalField(
        source="current_price",
        max_digits=12,
        decimal_places=2,
        help_text="Today's catalogue price: the price checkout charges.",
    )
    previousUnitPrice = serializers.DecimalField(
        source="item.unit_price",
        max_digits=12,
        decimal_places=2,
        help_text="The price when the line was added (differs when priceChanged).",
    )
    lineTotal = serializers.DecimalField(source="line_total", max_digits=12, decimal_places=2)
    priceChanged = serializers.BooleanField(source="price_changed")


class CartOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(
        source="cart.id", allow_null=True, help_text="Null until the first item is added."
    )
    items = CartLineOutputSerializer(source="lines", many=True)
    itemCount = serializers.IntegerField(source="item_count")
    subtotal = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The lines at today's prices."
    )
    shipping = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="Delivery estimated for SHOP_COUNTRY; checkout charges the address's country.",
    )
    freeDeliveryRemaining = serializers.DecimalField(
        source="quote.delivery.free_delivery_remaining",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="What the subtotal still lacks for free delivery (0: free); null: no threshold.",
    )
    tax = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="VAT in the lines and shipping (included in them when prices include VAT).",
    )
    total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        help_text="What checkout charges now: the expectedTotal of POST /api/orders.",
    )
    currency = serializers.CharField()
    warnings = CartWarningSerializer(many=True)


class MergeCapSerializer(serializers.Serializer):
    sku = serializers.CharField()
    requested = serializers.IntegerField(help_text="The summed quantity of both carts.")
    quantity = serializers.IntegerField(help_text="The quantity the line now holds.")
    reason = serializers.ChoiceField(choices=MergeCapReason.choices)


class CartMergeSummarySerializer(serializers.Serializer):
    merged = serializers.BooleanField(help_text="False when there was no guest cart to merge.")
    capped = MergeCapSerializer(many=True)


class CartMergeOutputSerializer(CartMergeSummarySerializer):
    cart = CartOutputSerializer()
