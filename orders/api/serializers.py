from django.conf import settings
from django_countries import countries
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.enums import OrderStatus
from orders.models import Order, OrderLine
from yourlocalshop.api.serializers import StrictSerializer


class ShippingAddressSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    postcode = serializers.CharField(max_length=20)
    country = serializers.CharField(
        min_length=2,
        max_length=2,
        required=False,
        help_text="ISO 3166 code (any case); the shop's country (SHOP_COUNTRY) when left out.",
    )

    def validate_country(self, value: str) -> str:
        country = countries.alpha2(value) if value.isalpha() else ""
        if not country:
            raise serializers.ValidationError("Use a two-letter ISO 3166 country code.")
        return country

    def validate(self, attrs):
        attrs.setdefault("country", settings.SHOP_COUNTRY)
        return attrs


class OrderCreateInputSerializer(StrictSerializer):
    email = serializers.EmailField(required=False)
    shippingAddress = ShippingAddressSerializer(source="shipping_address")
    paymentToken = serializers.CharField(source="payment_token", max_length=64)
    expectedTotal = serializers.DecimalField(
        source="expected_total", max_digits=12, decimal_places=2, required=False
    )

    def validate(self, attrs):
        user = self.context["request"].user
        if not attrs.get("email"):
            if not user.is_authenticated:
                raise serializers.ValidationError({"email": ["Guests must give an email."]})
            attrs["email"] = user.email
        return attrs


class OrderLookupInputSerializer(StrictSerializer):
    orderNumber = serializers.CharField(source="number", max_length=20)
    email = serializers.EmailField()


def _max_length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


# Declared field by field, not a ModelSerializer: a ModelSerializer derives its fields from the
# model again for every instance, once per order answered. Numeric bounds are not taken from the
# model: those depend on the database backend and would make the exported schema differ
# between SQLite and PostgreSQL.
class OrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=_max_length(OrderLine, "sku"))
    name = serializers.CharField(max_length=_max_length(OrderLine, "name"))
    quantity = serializers.IntegerField()
    unitPrice = serializers.DecimalField(source="unit_price", max_digits=12, decimal_places=2)
    lineTotal = serializers.DecimalField(source="line_total", max_digits=12, decimal_places=2)
    tax = serializers.DecimalField(max_digits=12, decimal_places=2)


class ShippingAddressOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(required=False)
    city = serializers.CharField()
    postcode = serializers.CharField()
    country = serializers.CharField()


MONEY = {"max_digits": 12, "decimal_places": 2}


# Inline enum: other apps' `status` enums would otherwise collide in the schema's component names.
@extend_schema_field({"type": "string", "enum": OrderStatus.values})
class OrderStatusField(serializers.CharField):
    pass


class OrderSerializer(serializers.Serializer):
    orderId = serializers.UUIDField(source="id")
    orderNumber = serializers.CharField(source="number")
    status = OrderStatusField()
    email = serializers.EmailField(max_length=_max_length(Order, "email"))
    currency = serializers.CharField(max_length=_max_length(Order, "currency"))
    subtotal = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(**MONEY)
    shipping = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)
    refundedAmount = serializers.DecimalField(source="refunded_amount", **MONEY)
    shippingAddress = ShippingAddressOutputSerializer(source="shipping_address")
    invoiceId = serializers.SerializerMethodField()
    invoiceNumber = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True)
    createdAt = serializers.DateTimeField(source="created_at")
    paidAt = serializers.DateTimeField(source="paid_at", allow_null=True)

    def _invoice(self, order):
        invoices = getattr(order, "sales_invoices", None)
        if invoices is None:
            invoices = [i for i in order.invoices.all() if i.kind == "invoice"]
        return invoices[0] if invoices else None

    def get_invoiceId(self, order) -> int | None:
        invoice = self._invoice(order)
        return invoice.pk if invoice else None

    def get_invoiceNumber(self, order) -> str | None:
        invoice = self._invoice(order)
        return invoice.number if invoice else None


class CheckoutLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unitPrice = serializers.DecimalField(**MONEY)
    lineTotal = serializers.DecimalField(**MONEY)


class CheckoutSerializer(serializers.Serializer):
    checkoutId = serializers.UUIDField()
    reservationId = serializers.UUIDField()
    expiresAt = serializers.DateTimeField()
    lines = CheckoutLineSerializer(many=True)
    subtotal = serializers.DecimalField(**MONEY)
    shipping = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(
        **MONEY, help_text="What POST /api/orders charges (send it as expectedTotal)."
    )
    currency = serializers.CharField(default=settings.SHOP_CURRENCY)
