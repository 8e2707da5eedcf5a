"""The mock providers' own ledgers: they stand in for a payment provider's and a courier's
databases, so they have no relation to the shop's tables."""

from django.db import models
from django.utils import timezone

from mockproviders.enums import MockChargeStatus
from orders.models import MONEY


class MockCharge(models.Model):
    """The mock payment provider's own ledger (stands in for the provider's database)."""

    id = models.CharField(primary_key=True, max_length=64)
    idempotency_key = models.CharField(max_length=255, unique=True)
    token = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=20, choices=MockChargeStatus.choices, default=MockChargeStatus.PENDING
    )
    transient_failures = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class MockRefund(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    charge = models.ForeignKey(MockCharge, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id


class MockCourierBooking(models.Model):
    """The mock courier's own ledger of collections (stands in for the courier's database)."""

    idempotency_key = models.CharField(max_length=255, unique=True)
    tracking_number = models.CharField(max_length=64, unique=True)
    label_url = models.URLField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.tracking_number
