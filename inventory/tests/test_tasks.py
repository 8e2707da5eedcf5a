from io import StringIO
from unittest import mock

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError

from inventory import locking, tasks
from inventory.enums import ReservationStatus
from inventory.models import InventoryReservation, StockDrift, StockItem
from inventory.services import ReservationLineRequest, stock_reserve
from inventory.tests.helpers import available, clock_moved_by

pytestmark = pytest.mark.django_db


def test_beat_schedule_runs_expiry_and_reconciliation():
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert schedule["inventory-expire-reservations"] == {
        "task": "inventory.tasks.expire_reservations",
        "schedule": float(settings.RESERVATION_EXPIRY_INTERVAL_SECONDS),
    }
    assert schedule["inventory-reconcile-stock"]["task"] == "inventory.tasks.reconcile_stock"


def test_expire_reservations_task_marks_lapsed_reservations_expired_once(stocked):
    product = stocked(3)
    lapsed = stock_reserve(
        lines=[ReservationLineRequest(product.sku, 2)], reference="cart:1", ttl_seconds=2
    )
    live = stock_reserve(
        lines=[ReservationLineRequest(product.sku, 1)], reference="cart:2", ttl_seconds=600
    )

    with clock_moved_by(2):
        assert tasks.expire_reservations.apply().get() == 1
        assert tasks.expire_reservations.apply().get() == 0

    lapsed.refresh_from_db()
    live.refresh_from_db()
    assert (lapsed.status, live.status) == (ReservationStatus.EXPIRED, ReservationStatus.ACTIVE)
    assert StockItem.objects.get(product=product).reserved == 1
    assert available(product) == 2


def test_reservation_with_a_two_second_ttl_lapses_in_real_time(stocked):
    import time

    product = stocked(1)
    stock_reserve(lines=[ReservationLineRequest(product.sku, 1)], reference="cart:1", ttl_seconds=2)
    assert available(product) == 0

    time.sleep(2.05)

    assert available(product) == 1
    assert tasks.expire_reservations() == 1
    assert InventoryReservation.objects.get().status == ReservationStatus.EXPIRED


def test_expire_reservations_command_does_what_the_task_does(stocked):
    product = stocked(3)
    stock_reserve(lines=[ReservationLineRequest(product.sku, 3)], reference="c", ttl_seconds=5)
    output = StringIO()

    with clock_moved_by(6):
        call_command("expire_reservations", stdout=output)

    assert output.getvalue().strip() == "Expired 1 reservation(s)."
    assert StockItem.objects.get(product=product).reserved == 0


def test_reconcile_stock_records_drift_and_never_rewrites_stock(stocked, caplog):
    healthy, drifted = stocked(5), stocked(5)
    # Someone bypassed the services: on_hand no longer matches the ledger.
    StockItem.objects.filter(product=drifted).update(on_hand=7)

    assert tasks.reconcile_stock() == 1

    drift = StockDrift.objects.get()
    assert (drift.stock_item.product, drift.on_hand, drift.ledger_on_hand) == (drifted, 7, 5)
    assert StockItem.objects.get(product=drifted).on_hand == 7
    assert drifted.sku in caplog.text
    assert healthy.sku not in caplog.text


def test_reconcile_stock_finds_nothing_after_normal_trading(stocked):
    product = stocked(5)
    stock_reserve(lines=[ReservationLineRequest(product.sku, 2)], reference="cart:1")

    assert tasks.reconcile_stock() == 0
    assert not StockDrift.objects.exists()


def _deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def test_retry_on_deadlock_retries_a_detected_deadlock_then_succeeds():
    calls = []

    @locking.retry_on_deadlock
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise _deadlock()
        return "done"

    with mock.patch.object(locking.connection, "in_atomic_block", False):
        assert flaky() == "done"
    assert len(calls) == 3


def test_retry_on_deadlock_gives_up_after_a_bounded_number_of_attempts():
    calls = []

    @locking.retry_on_deadlock
    def always_deadlocked():
        calls.append(1)
        raise _deadlock()

    with (
        mock.patch.object(locking.connection, "in_atomic_block", False),
        pytest.raises(OperationalError),
    ):
        always_deadlocked()
    assert len(calls) == locking.MAX_ATTEMPTS


def test_retry_on_deadlock_leaves_other_errors_and_outer_transactions_alone():
    calls = []

    @locking.retry_on_deadlock
    def broken():
        calls.append(1)
        raise OperationalError("disk full")

    with (
        mock.patch.object(locking.connection, "in_atomic_block", False),
        pytest.raises(OperationalError),
    ):
        broken()
    # Inside a caller's transaction (as every test here is) a deadlock is not retried.
    with pytest.raises(OperationalError):
        locking.retry_on_deadlock(lambda: (calls.append(1), _raise(_deadlock())))()
    assert len(calls) == 2


def _raise(error):
    raise error
