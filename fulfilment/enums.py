"""Statuses of packing tasks and shipments, with the moves each one allows."""

from django.db import models


class PackingTaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PICKING = "picking", "Picking"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"


PACKING_TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    PackingTaskStatus.PENDING: frozenset({PackingTaskStatus.PICKING}),
    PackingTaskStatus.PICKING: frozenset({PackingTaskStatus.PACKED}),
    # A packed task waits here until the courier booking succeeds.
    PackingTaskStatus.PACKED: frozenset({PackingTaskStatus.SHIPPED}),
    PackingTaskStatus.SHIPPED: frozenset(),
}


class ShipmentStatus(models.TextChoices):
    BOOKING_PENDING = "booking_pending", "Booking pending"
    BOOKING_FAILED = "booking_failed", "Booking failed"
    BOOKED = "booked", "Booked"
    IN_TRANSIT = "in_transit", "In transit"
    DELIVERED = "delivered", "Delivered"


SHIPMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    ShipmentStatus.BOOKING_PENDING: frozenset(
        {ShipmentStatus.BOOKED, ShipmentStatus.BOOKING_FAILED}
    ),
    ShipmentStatus.BOOKING_FAILED: frozenset({ShipmentStatus.BOOKED}),
    # Couriers do not always report "in transit" before "delivered".
    ShipmentStatus.BOOKED: frozenset({ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED}),
    ShipmentStatus.IN_TRANSIT: frozenset({ShipmentStatus.DELIVERED}),
    ShipmentStatus.DELIVERED: frozenset(),
}

# Statuses a courier webhook may report, in the order a parcel goes through them.
COURIER_TRACKING_STATUSES = (ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED)
