from django.db import models


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMMITTED = "committed", "Committed"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"


# An expired reservation can come back (commit or extend re-take its stock when still
# available); a released one only through a commit, which re-takes its stock the same way.
RESERVATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ReservationStatus.ACTIVE: frozenset(
        {ReservationStatus.COMMITTED, ReservationStatus.RELEASED, ReservationStatus.EXPIRED}
    ),
    ReservationStatus.EXPIRED: frozenset({ReservationStatus.COMMITTED, ReservationStatus.ACTIVE}),
    ReservationStatus.RELEASED: frozenset({ReservationStatus.COMMITTED}),
    ReservationStatus.COMMITTED: frozenset(),
}


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SALE = "sale", "Sale"
    RETURN_RESTOCK = "return_restock", "Return restocked"
    RETURN_WRITE_OFF = "return_write_off", "Return written off"
    ADJUSTMENT = "adjustment", "Adjustment"
    SEED = "seed", "Seed"
