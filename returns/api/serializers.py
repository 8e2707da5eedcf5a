from datetime import timedelta

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from returns.enums import ReturnLineCondition, ReturnReason, ReturnStatus

MAX_LINES = 100


class ReturnLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    reason = serializers.ChoiceField(choices=ReturnReason.choices)


class ReturnCreateInputSerializer(serializers.Serializer):
    """Either `orderId` (signed in, your own order) or `orderNumber` + `email` (any customer,
    the way guests prove an order is theirs)."""

    orderId = serializers.UUIDField(
        source="order_id", required=False, help_text="Your order's id, when signed in."
    )
    orderNumber = serializers.CharField(
        source="order_number",
        max_length=20,
        required=False,
        help_text="The order number (e.g. YLS-7K3M9QXR2D), with `email`: for guest orders.",
    )
    email = serializers.EmailField(
        max_length=254, required=False, help_text="The email address the order was placed with."
    )
    lines = ReturnLineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_lines(self, lines):
        skus = [line["sku"] for line in lines]
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError("Each SKU may appear once; add the quantities up.")
        return lines

    def validate(self, attrs):
        by_number = "order_number" in attrs or "email" in attrs
        if "order_id" in attrs and by_number:
            raise serializers.ValidationError(
                {"orderId": ["Give either orderId or orderNumber + email, not both."]}
            )
        if "order_id" not in attrs:
            missing = {
                field: ["This field is required without orderId."]
                for field, source in (("orderNumber", "order_number"), ("email", "email"))
                if source not in attrs
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class GuestOrderQuerySerializer(serializers.Serializer):
    orderNumber = serializers.CharField(source="order_number", max_length=20, required=False)
    email = serializers.EmailField(max_length=254, required=False)

    def validate(self, attrs):
        if ("order_number" in attrs) != ("email" in attrs):
            raise serializers.ValidationError(
                {"orderNumber": ["Give orderNumber and email together."]}
            )
        return attrs


class ReturnLineOutputSerializer(serializers.Serializer):
    lineId = serializers.IntegerField(source="pk")
    sku = serializers.CharField()
    name = serializers.CharField(source="order_line.name")
    quantity = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    condition = serializers.ChoiceField(
        choices=ReturnLineCondition.choices,
        allow_blank=True,
        help_text="Set when the goods arrive; empty before.",
    )
    refundAmount = serializers.DecimalField(
        source="refund_amount",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="Fixed when the goods arrive; null before.",
    )


class ReturnOutputSerializer(serializers.Serializer):
    rmaId = serializers.UUIDField(source="pk")
    rmaNumber = serializers.CharField(source="rma_number")
    orderId = serializers.UUIDField(source="order_id")
    orderNumber = serializers.CharField(source="order.number")
    status = serializers.ChoiceField(choices=ReturnStatus.choices)
    note = serializers.CharField()
    rejectionReason = serializers.CharField(source="rejection_reason")
    lines = ReturnLineOutputSerializer(many=True)
    currency = serializers.CharField(source="order.currency")
    refundAmount = serializers.DecimalField(
        source="refund_amount",
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="The total refunded (lines plus shipping); null until the goods arrive.",
    )
    shippingRefund = serializers.DecimalField(
        source="shipping_refund", max_digits=12, decimal_places=2
    )
    creditNoteNumber = serializers.CharField(
        source="credit_note.number", allow_null=True, default=None
    )
    returnableUntil = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    statusChangedAt = serializers.DateTimeField(source="status_changed_at")
    approvedAt = serializers.DateTimeField(source="approved_at", allow_null=True)
    rejectedAt = serializers.DateTimeField(source="rejected_at", allow_null=True)
    cancelledAt = serializers.DateTimeField(source="cancelled_at", allow_null=True)
    receivedAt = serializers.DateTimeField(source="received_at", allow_null=True)
    refundedAt = serializers.DateTimeField(source="refunded_at", allow_null=True)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_returnableUntil(self, return_request):
        return (
            return_request.window_starts_at + timedelta(days=settings.RETURN_WINDOW_DAYS)
        ).isoformat()


class StaffReturnOutputSerializer(ReturnOutputSerializer):
    customerEmail = serializers.EmailField(source="order.email")
    refundFailure = serializers.CharField(
        source="refund_failure", help_text="Why the last refund attempt failed; empty otherwise."
    )
    refundAttempts = serializers.IntegerField(source="refund_attempts")
    refundAttemptedAt = serializers.DateTimeField(source="refund_attempted_at", allow_null=True)
    providerRefundId = serializers.CharField(
        source="refund.provider_refund_id", allow_null=True, default=None
    )
    decidedBy = serializers.EmailField(source="decided_by.email", allow_null=True, default=None)
    receivedBy = serializers.EmailField(source="received_by.email", allow_null=True, default=None)


class StaffReturnListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ReturnStatus.choices, required=False)


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Shown to the customer.")


class ReceiveLineInputSerializer(serializers.Serializer):
    lineId = serializers.IntegerField(source="line_id", min_value=1)
    condition = serializers.ChoiceField(choices=ReturnLineCondition.choices)


class ReceiveInputSerializer(serializers.Serializer):
    lines = ReceiveLineInputSerializer(many=True, min_length=1, max_length=MAX_LINES)

    def validate_lines(self, lines):
        line_ids = [line["line_id"] for line in lines]
        if len(set(line_ids)) != len(line_ids):
            raise serializers.ValidationError("Each line may appear once.")
        return lines
