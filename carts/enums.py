from django.db import models


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    MERGED = "merged", "Merged into a customer's cart"
    CHECKED_OUT = "checked_out", "Checked out"


# A merged or checked-out cart is frozen: it is kept only as a record of what happened.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    CartStatus.OPEN: frozenset({CartStatus.MERGED, CartStatus.CHECKED_OUT}),
    CartStatus.MERGED: frozenset(),
    CartStatus.CHECKED_OUT: frozenset(),
}


class MergeCapReason(models.TextChoices):
    LINE_LIMIT = "line_limit", "Capped at the per-line limit"
    INSUFFICIENT_STOCK = "insufficient_stock", "Capped at the quantity in stock"
    UNAVAILABLE = "unavailable", "The product is no longer sold"
