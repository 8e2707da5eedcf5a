from rest_framework import serializers

from fulfilment.api.schema import PackingTaskStatusField, ShipmentStatusField
from fulfilment.enums import COURIER_TRACKING_STATUSES


class PackingTaskListQuerySerializer(serializers.Serializer):
    status = PackingTaskStatusField(required=False)


class PackingTaskLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    pickedQuantity = serializers.IntegerField(source="picked_quantity")


class ShipmentEventSerializer(serializers.Serializer):
    status = ShipmentStatusField()
    description = serializers.CharField()
    occurredAt = serializers.DateTimeField(source="occurred_at")


class ShipmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    carrier = serializers.CharField()
    status = ShipmentStatusField()
    trackingNumber = serializers.CharField(source="tracking_number", allow_null=True)
    labelUrl = serializers.CharField(source="label_url", allow_blank=True)
    bookingAttempts = serializers.IntegerField(source="booking_attempts")
    bookingError = serializers.CharField(source="booking_error", allow_blank=True)
    bookedAt = serializers.DateTimeField(source="booked_at", allow_null=True)
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)


class CustomerShipmentSerializer(serializers.Serializer):
    """What the customer sees: where the parcel is, never the courier's internals."""

    id = serializers.UUIDField()
    carrier = serializers.CharField()
    status = ShipmentStatusField()
    trackingNumber = serializers.CharField(source="tracking_number", allow_null=True)
    bookedAt = serializers.DateTimeField(source="booked_at", allow_null=True)
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    events = ShipmentEventSerializer(many=True)


class PackingTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    orderId = serializers.UUIDField(source="order_id")
    orderNumber = serializers.CharField(source="order.number")
    status = PackingTaskStatusField()
    assigneeEmail = serializers.EmailField(source="assignee.email", allow_null=True, default=None)
    batchId = serializers.IntegerField(source="batch_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    packedAt = serializers.DateTimeField(source="packed_at", allow_null=True)
    shippedAt = serializers.DateTimeField(source="shipped_at", allow_null=True)
    pickOverrideAt = serializers.DateTimeField(
        source="pick_override_at",
        allow_null=True,
        help_text="When the task was packed before every unit was scanned (null: all scanned).",
    )
    lines = PackingTaskLineSerializer(many=True)
    shipment = ShipmentSerializer(allow_null=True)


class ParcelSerializer(serializers.Serializer):
    weightGrams = serializers.IntegerField(min_value=1, max_value=100_000)


class PackedInputSerializer(serializers.Serializer):
    parcels = ParcelSerializer(
        many=True,
        allow_empty=False,
        max_length=20,
        required=False,
        help_text="Omitted: one parcel weighing the products of the order.",
    )


class ScanInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)


class PackedOutputSerializer(serializers.Serializer):
    packingTaskId = serializers.IntegerField()
    status = PackingTaskStatusField()
    shipment = ShipmentSerializer()


class BatchCreateInputSerializer(serializers.Serializer):
    # Bounded by the id column's range: a larger number is a 400, not a database overflow.
    packingTaskIds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=False,
        max_length=200,
    )


class PickListLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    orderNumbers = serializers.ListField(child=serializers.CharField(), source="order_numbers")


class BatchPackingTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    orderNumber = serializers.CharField(source="order.number")
    status = PackingTaskStatusField()


class FulfilmentBatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    createdAt = serializers.DateTimeField(source="created_at")
    createdByEmail = serializers.EmailField(source="created_by.email")
    packingTasks = BatchPackingTaskSerializer(many=True, source="packing_tasks.all")
    pickList = PickListLineSerializer(many=True, source="pick_list")


class CourierEventInputSerializer(serializers.Serializer):
    eventId = serializers.CharField(max_length=100)
    trackingNumber = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(
        choices=[(status, status) for status in COURIER_TRACKING_STATUSES]
    )
    occurredAt = serializers.DateTimeField()
    description = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )


class CourierEventOutputSerializer(serializers.Serializer):
    shipmentId = serializers.UUIDField()
    status = ShipmentStatusField()
    duplicate = serializers.BooleanField(help_text="True when this event id was already applied.")
