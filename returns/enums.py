"""Statuses of a return (RMA), the moves allowed between them, and the choices on its lines."""

from django.db import models


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    RECEIVED = "received", "Received"
    REFUNDED = "refunded", "Refunded"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


RETURN_ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.APPROVED, ReturnStatus.REJECTED}),
    ReturnStatus.APPROVED: frozenset({ReturnStatus.RECEIVED, ReturnStatus.CANCELLED}),
    # The refund is a separate step after receipt, so a failed refund leaves the goods received.
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.REFUNDED}),
    ReturnStatus.REFUNDED: frozenset(),
    ReturnStatus.REJECTED: frozenset(),
    ReturnStatus.CANCELLED: frozenset(),
}

# Units on a return in these statuses can no longer be returned again; rejected or cancelled
# returns give their units back to the customer's returnable quantity.
RETURN_STATUSES_HOLDING_UNITS: frozenset[str] = frozenset(
    {
        ReturnStatus.REQUESTED,
        ReturnStatus.APPROVED,
        ReturnStatus.RECEIVED,
        ReturnStatus.REFUNDED,
    }
)

# Returns whose goods are back and whose refund amount is therefore fixed.
RETURN_STATUSES_RECEIVED: frozenset[str] = frozenset({ReturnStatus.RECEIVED, ReturnStatus.REFUNDED})


class ReturnReason(models.TextChoices):
    DEFECTIVE = "defective", "Defective or not working"
    DAMAGED_IN_TRANSIT = "damaged_in_transit", "Damaged in transit"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
    OTHER = "other", "Other"


class ReturnLineCondition(models.TextChoices):
    RESELLABLE = "resellable", "Resellable"
    DAMAGED = "damaged", "Damaged"
