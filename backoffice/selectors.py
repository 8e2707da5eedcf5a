"""What the owner's overview shows: each figure read through the owning app's selectors, with
the admin list that shows the rows behind it."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince

from fulfilment import selectors as fulfilment_selectors
from inventory import selectors as inventory_selectors
from orders import selectors as orders_selectors
from orders.services.reconciliation import payments_reconciliation_last
from returns import selectors as returns_selectors
from yourlocalshop.beat import periodic_tasks_late
from yourlocalshop.outbox import outbox_backlog
from yourlocalshop.templatetags.shop import money

DRIFT_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class Figure:
    """One number of the overview, what it means, and where its rows are listed."""

    label: str
    value: str
    url: str
    detail: str = ""
    attention: bool = False


def _admin_list(name: str, **filters) -> str:
    url = reverse(f"admin:{name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def today_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """Midnight to midnight of today, in the shop's time zone."""
    now = timezone.localtime(now)
    start = timezone.make_aware(datetime.combine(now.date(), time.min))
    return start, start + timedelta(days=1)


def _age(moment: datetime | None, now: datetime) -> str:
    return f"oldest waiting {timesince(moment, now)}" if moment else ""


def owner_overview(*, now: datetime | None = None) -> list[Figure]:
    """The figures that answer "what needs me today", in the order the owner reads them."""
    now = now or timezone.now()
    start, end = today_bounds(now)
    sales = orders_selectors.sales_summary(start=start, end=end)
    packing = fulfilment_selectors.packing_backlog()
    returns = returns_selectors.returns_waiting_counts()
    out_of_stock = inventory_selectors.stock_items_out_of_stock().count()
    to_reorder = inventory_selectors.stock_items_to_reorder().count()
    drift = inventory_selectors.stock_drifts_since(since=now - DRIFT_LOOKBACK).count()
    outbox = outbox_backlog()
    return [
        Figure(
            "Orders paid today",
            str(sales["orders"]),
            _admin_list(
                "orders_order",
                paid_at__gte=start.isoformat(),
                paid_at__lt=end.isoformat(),
            ),
            f"revenue {money(sales['revenue'])}",
        ),
        Figure(
            "Waiting to be packed",
            str(packing["count"]),
            reverse("admin:fulfilment_packingtask_station"),
            _age(packing["oldest_paid_at"], now),
            attention=packing["count"] > 0
            and packing["oldest_paid_at"] is not None
            and now - packing["oldest_paid_at"] > timedelta(days=1),
        ),
        Figure(
            "Returns to decide",
            str(returns["to_decide"]),
            _admin_list("returns_returnrequest", status__exact="requested"),
        ),
        Figure(
            "Refunds that failed",
            str(returns["refund_failed"]),
            _admin_list("returns_returnrequest", status__exact="received"),
            "retried automatically; look if it stays",
            attention=returns["refund_failed"] > 0,
        ),
        Figure(
            "Out of stock",
            str(out_of_stock),
            _admin_list("inventory_stockitem", level="out"),
            attention=out_of_stock > 0,
        ),
        Figure(
            "At or below reorder level",
            str(to_reorder),
            _admin_list("inventory_stockitem", level="reorder"),
        ),
        Figure(
            "Stock ledger drift",
            str(drift),
            _admin_list("inventory_stockdrift"),
            "found by the reconcile task in the last 24 hours",
            attention=drift > 0,
        ),
        Figure(
            "Outbox backlog",
            str(outbox["count"]),
            _admin_list("yourlocalshop_outboxevent", pending="yes"),
            _age(outbox["oldest_created_at"], now)
            or "emails and packing tasks waiting for the worker",
            attention=outbox["oldest_created_at"] is not None
            and now - outbox["oldest_created_at"] > timedelta(minutes=10),
        ),
        _payment_differences_figure(now),
        _late_tasks_figure(now),
    ]


def _payment_differences_figure(now: datetime) -> Figure:
    """The last payment reconciliation: its differences that need a person, and whether it ran
    recently enough to be believed (two intervals)."""
    last = payments_reconciliation_last()
    if last is None:
        return Figure(
            "Payment differences",
            "?",
            _admin_list("orders_paymentreconciliation"),
            "never checked against the provider: is the worker running?",
            attention=True,
        )
    stale = now - last.checked_at > timedelta(
        seconds=2 * settings.PAYMENT_RECONCILE_INTERVAL_SECONDS
    )
    return Figure(
        "Payment differences",
        str(last.unresolved),
        reverse("admin:orders_paymentreconciliation_change", args=[last.pk]),
        f"checked against the provider {timesince(last.checked_at, now)} ago"
        + (": late, is the worker running?" if stale else ""),
        attention=bool(last.unresolved) or stale,
    )


def _late_tasks_figure(now: datetime) -> Figure:
    late = periodic_tasks_late(now=now)
    return Figure(
        "Late periodic tasks",
        str(len(late)),
        _admin_list("django_celery_beat_periodictask", enabled__exact="1"),
        ", ".join(
            f"{name} {timesince(now - timedelta(seconds=seconds), now)} late"
            for name, seconds in sorted(late.items())
        )
        + ": restart beat"
        if late
        else "expiry, sweeps and reconciliation run on time",
        attention=bool(late),
    )
