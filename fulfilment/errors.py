"""Fulfilment's domain errors, each with a stable code for the problem-details API."""

from yourlocalshop.errors import DomainError


class PackingTaskNotFound(DomainError):
    code = "packing_task_not_found"
    status = 404
    title = "Packing task not found."


class FulfilmentBatchNotFound(DomainError):
    code = "fulfilment_batch_not_found"
    status = 404
    title = "Fulfilment batch not found."


class ShipmentNotFound(DomainError):
    code = "shipment_not_found"
    status = 404
    title = "Shipment not found."


class PackingTasksNotBatchable(DomainError):
    """Only pending tasks that are not yet in a batch can be grouped."""

    code = "packing_tasks_not_batchable"
    status = 409
    title = "These packing tasks cannot be put in a batch."


class OrderNotPackable(DomainError):
    """The order left the paid path (cancelled, refunded) after its packing task was created."""

    code = "order_not_packable"
    status = 409
    title = "This order is no longer to be packed."


class ShipmentBookingInProgress(DomainError):
    """Another attempt is booking the courier for this shipment right now."""

    code = "shipment_booking_in_progress"
    status = 409
    title = "The courier is being booked for this shipment; try again in a moment."


class ScannedSkuNotInTask(DomainError):
    code = "scanned_sku_not_in_task"
    status = 409
    title = "The scanned product is not part of this order."


class ScannedTooMany(DomainError):
    code = "scanned_too_many"
    status = 409
    title = "Every unit of the scanned product is already picked."


class InvalidWebhookSignature(DomainError):
    # 403, not 401: a signature is not an HTTP authentication scheme, so there is no challenge to
    # send, and RFC 9110 requires WWW-Authenticate on every 401.
    code = "invalid_webhook_signature"
    status = 403
    title = "The webhook signature is missing or wrong."


class CourierError(Exception):
    """The courier could not book a shipment; the booking is retried later."""


class InvalidParcels(DomainError):
    code = "invalid_parcels"
    status = 400
    title = "At least one parcel with a positive weight is needed."
