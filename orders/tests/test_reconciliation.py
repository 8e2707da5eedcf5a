"""Payment reconciliation against the provider (the mock's ledger)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from mockproviders.models import MockCharge, MockRefund
from orders.enums import OrderStatus
from orders.models import Order, Payment
from orders.services.reconciliation import (
    MismatchKind,
    payments_reconcile,
    payments_reconciliation_last,
)
from orders.tasks import reconcile_payments_task
from orders.tests.conftest import add_to_cart, captured_behind_a_timeout, checkout, new_key

pytestmark = pytest.mark.django_db


def settled() -> None:
    """Make every charge and payment older than the checkout's own settling time."""
    past = timezone.now() - timedelta(hours=1)
    MockCharge.objects.update(created_at=past)
    Payment.objects.update(created_at=past)


def kinds(report) -> list[str]:
    return [mismatch.kind for mismatch in report.mismatches]


def test_payments_reconcile_paid_and_compensated_checkouts_match(customer_client, product):
    add_to_cart(customer_client, product)
    assert checkout(customer_client, key=new_key()).status_code == 201
    settled()

    report = payments_reconcile()

    assert report.charges_checked == 1
    assert report.payments_checked == 1
    assert report.mismatches == []
    assert payments_reconciliation_last().unresolved == 0


def test_payments_reconcile_refunds_a_charge_whose_order_was_never_paid(customer_client, product):
    add_to_cart(customer_client, product)
    assert checkout(customer_client, key=new_key(), token="tok_down").status_code == 503
    order = Order.objects.get()
    captured_behind_a_timeout(order)  # and nobody settled it
    settled()

    found = payments_reconcile()
    repaired = payments_reconcile(repair=True)
    again = payments_reconcile(repair=True)

    assert kinds(found) == [MismatchKind.CHARGE_WITHOUT_PAID_ORDER]
    assert not found.mismatches[0].repaired
    assert repaired.mismatches[0].repaired and repaired.unresolved == []
    assert MockRefund.objects.get().amount == order.total
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert again.mismatches == []


def test_payments_reconcile_reports_a_refund_the_shop_never_recorded(customer_client, product):
    add_to_cart(customer_client, product)
    checkout(customer_client, key=new_key())
    charge = MockCharge.objects.get()
    MockRefund.objects.create(id="re_dashboard", charge=charge, idempotency_key="k", amount=1)
    settled()

    report = reconcile_payments_task.apply().get()

    assert report == 1
    last = payments_reconciliation_last()
    assert [m["kind"] for m in last.mismatches] == [MismatchKind.REFUND_NOT_RECORDED]
    assert Order.objects.get().status == OrderStatus.PAID  # a person decides


def test_payments_reconcile_report_survives_a_cache_flush(customer_client, product):
    add_to_cart(customer_client, product)
    checkout(customer_client, key=new_key())
    MockRefund.objects.create(
        id="re_dashboard", charge=MockCharge.objects.get(), idempotency_key="k", amount=1
    )
    settled()
    payments_reconcile()

    cache.clear()  # a Redis restart, an eviction, an operator's FLUSHDB
    last = payments_reconciliation_last()

    assert last is not None
    assert last.unresolved == 1
    assert [m["kind"] for m in last.mismatches] == [MismatchKind.REFUND_NOT_RECORDED]


def test_payments_reconcile_reports_a_payment_the_provider_does_not_know(customer_client, product):
    add_to_cart(customer_client, product)
    checkout(customer_client, key=new_key())
    settled()
    Payment.objects.update(provider_charge_id="ch_unknown")

    report = payments_reconcile()

    assert MismatchKind.PAYMENT_UNKNOWN_TO_PROVIDER in kinds(report)


def test_reconcile_payments_command_exits_1_while_differences_remain(customer_client, product):
    add_to_cart(customer_client, product)
    checkout(customer_client, key=new_key())
    MockRefund.objects.create(
        id="re_dashboard", charge=MockCharge.objects.get(), idempotency_key="k", amount=1
    )
    settled()
    out = StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("reconcile_payments", "--repair", stdout=out, stderr=StringIO())

    assert exited.value.code == 1
    assert "UNRESOLVED: refund_not_recorded" in out.getvalue()


# Committed: the health detail reads the last run on its own connection.
@pytest.mark.django_db(transaction=True)
def test_health_detail_shows_payments_mismatch(health_monitor, customer_client, product):
    assert health_monitor.get("/api/health").json()["payments"] == "unknown"
    add_to_cart(customer_client, product)
    checkout(customer_client, key=new_key())
    settled()
    payments_reconcile()
    assert health_monitor.get("/api/health").json()["payments"] == "ok"

    MockRefund.objects.create(
        id="re_dashboard", charge=MockCharge.objects.get(), idempotency_key="k", amount=1
    )
    payments_reconcile()
    health = health_monitor.get("/api/health").json()

    assert health["payments"] == "mismatch"
    assert health["status"] == "degraded"
