"""Inventory's state gauges, read at scrape time (yourlocalshop.metrics); registered by
`InventoryConfig.ready()`. Reservations expiring are counted as they happen, by the state
machine (`shop_state_transitions_total{model="inventory.inventoryreservation",to="expired"}`)."""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from inventory.enums import ReservationStatus
from inventory.models import InventoryReservation, StockItem
from inventory.selectors import stock_ledger_mismatches
from yourlocalshop.metrics import register_state_gauge

STOCK_DRIFT_CACHE_KEY = "metrics:inventory:stock-drift"


def live_reservations() -> float:
    return InventoryReservation.objects.filter(
        status=ReservationStatus.ACTIVE, expires_at__gt=timezone.now()
    ).count()


def units_held() -> float:
    return StockItem.objects.aggregate(held=Sum("reserved"))["held"] or 0


def stock_drift_count() -> float:
    """Stock rows whose on-hand or reserved count disagrees with the ledger or the reservation
    lines. It reads every stock row, so a scrape reuses the count for a while."""
    drift = cache.get(STOCK_DRIFT_CACHE_KEY)
    if drift is None:
        drift = stock_ledger_mismatches().count()
        cache.set(STOCK_DRIFT_CACHE_KEY, drift, timeout=settings.METRICS_STOCK_DRIFT_SECONDS)
    return drift


def register() -> None:
    register_state_gauge(
        "shop_reservations_live",
        "Reservations holding stock for a checkout now (active, not past their expiry).",
        live_reservations,
    )
    register_state_gauge(
        "shop_stock_units_held",
        "Units held by reservations across every product (not sellable to anyone else).",
        units_held,
    )
    register_state_gauge(
        "shop_stock_drift_rows",
        "Stock rows whose counts disagree with their ledger or reservation lines (should be 0).",
        stock_drift_count,
    )
