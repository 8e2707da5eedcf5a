"""Real concurrency on PostgreSQL: threads, each with its own database connection.

Each test starts its contenders together behind a barrier and checks what a shop owner cares
about: no unit sold twice, no negative stock, the ledger still adds up, and callers only ever see
success or `InsufficientStock` (never a deadlock or a constraint error).
"""

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.models import InventoryReservation, StockItem, StockMovement
from inventory.services import (
    ReservationLineRequest,
    reservation_commit,
    reservation_release,
    stock_reserve,
)
from inventory.tests.factories import StockItemFactory
from inventory.tests.helpers import assert_stock_consistent, available
from yourlocalshop.testing import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run_together(task, arguments, *, workers: int) -> list[str]:
    """Each call's outcome, "ok" or the exception class name, in argument order."""
    return [
        type(outcome).__name__ if isinstance(outcome, Exception) else "ok"
        for outcome in run_concurrently(task, arguments, workers=workers)
    ]


def reserve_and_commit(product):
    def task(number):
        reservation = stock_reserve(
            lines=[ReservationLineRequest(product.sku, 1)], reference=f"order:{number}"
        )
        reservation_commit(reservation_id=reservation.pk)

    return task


@pytest.mark.parametrize("threshold", [5, 1000], ids=["default-threshold", "row-lock-only"])
def test_stock_reserve_fifty_contenders_for_ten_units_sell_exactly_ten(threshold):
    product = StockItemFactory(on_hand=10).product
    started = time.monotonic()

    with override_settings(INVENTORY_PESSIMISTIC_THRESHOLD=threshold):
        outcomes = run_together(reserve_and_commit(product), range(50), workers=50)

    assert Counter(outcomes) == {"ok": 10, "InsufficientStock": 40}
    stock = StockItem.objects.get(product=product)
    assert (stock.on_hand, stock.reserved, available(product)) == (0, 0, 0)
    assert StockMovement.objects.filter(stock_item=stock, reason="sale").count() == 10
    # The ledger never went below zero on the way down either.
    assert min(stock.movements.values_list("on_hand_after", flat=True)) == 0
    assert_stock_consistent()
    assert time.monotonic() - started < 30


def test_stock_reserve_guarded_update_three_hundred_contenders_for_a_hundred_units():
    product = StockItemFactory(on_hand=100).product

    def reserve(number):
        stock_reserve(lines=[ReservationLineRequest(product.sku, 1)], reference=f"cart:{number}")

    # Threshold 0: every reserve goes through the guarded conditional UPDATE, never a row lock.
    with override_settings(INVENTORY_PESSIMISTIC_THRESHOLD=0):
        outcomes = run_together(reserve, range(300), workers=30)

    assert Counter(outcomes) == {"ok": 100, "InsufficientStock": 200}
    stock = StockItem.objects.get(product=product)
    assert (stock.on_hand, stock.reserved, available(product)) == (100, 100, 0)
    assert InventoryReservation.objects.filter(status="active").count() == 100
    assert_stock_consistent()


@pytest.mark.parametrize("threshold", [0, 1000], ids=["guarded-update", "row-lock"])
def test_stock_reserve_contenders_reclaim_lapsed_reservations_exactly_once(threshold):
    product = StockItemFactory(on_hand=10).product
    lapsed = [
        stock_reserve(lines=[ReservationLineRequest(product.sku, 2)], reference=f"old:{number}")
        for number in range(5)
    ]
    InventoryReservation.objects.filter(pk__in=[r.pk for r in lapsed]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    def reserve(number):
        stock_reserve(lines=[ReservationLineRequest(product.sku, 1)], reference=f"new:{number}")

    with override_settings(INVENTORY_PESSIMISTIC_THRESHOLD=threshold):
        outcomes = run_together(reserve, range(30), workers=30)

    assert Counter(outcomes) == {"ok": 10, "InsufficientStock": 20}
    assert set(
        InventoryReservation.objects.filter(pk__in=[r.pk for r in lapsed]).values_list(
            "status", flat=True
        )
    ) == {"expired"}
    assert available(product) == 0
    assert_stock_consistent()


def test_stock_reserve_multi_sku_in_opposite_orders_never_surfaces_a_deadlock():
    products = [StockItemFactory(on_hand=40).product for _ in range(4)]
    randomness = random.Random(4)
    baskets = []
    for _ in range(60):
        chosen = randomness.sample(products, k=randomness.randint(2, 4))
        baskets.append(
            (
                [ReservationLineRequest(p.sku, randomness.randint(1, 3)) for p in chosen],
                randomness.choice(["commit", "release", "keep"]),
            )
        )
    # Half the baskets list the same SKUs reversed: the classic deadlock shape.
    baskets += [(list(reversed(lines)), then) for lines, then in baskets[:30]]

    def shop(numbered_basket):
        number, (lines, then) = numbered_basket
        reservation = stock_reserve(lines=lines, reference=f"cart:{number}")
        if then == "commit":
            reservation_commit(reservation_id=reservation.pk)
        elif then == "release":
            reservation_release(reservation_id=reservation.pk)

    outcomes = run_together(shop, list(enumerate(baskets)), workers=24)

    assert set(outcomes) <= {"ok", "InsufficientStock"}, Counter(outcomes)
    assert outcomes.count("ok") > 0
    for product in products:
        stock = StockItem.objects.get(product=product)
        sold = -sum(stock.movements.filter(reason="sale").values_list("delta", flat=True))
        assert stock.on_hand == 40 - sold >= 0
        assert 0 <= available(product) <= stock.on_hand
    assert_stock_consistent()


def test_reservation_commit_and_release_racing_on_one_reservation_settle_once():
    product = StockItemFactory(on_hand=5).product
    reservations = [
        stock_reserve(lines=[ReservationLineRequest(product.sku, 1)], reference=f"order:{n}")
        for n in range(5)
    ]
    actions = [(r.pk, action) for r in reservations for action in ("commit", "release")] * 2

    def act(argument):
        reservation_id, action = argument
        if action == "commit":
            reservation_commit(reservation_id=reservation_id)
        else:
            reservation_release(reservation_id=reservation_id)

    outcomes = run_together(act, actions, workers=20)

    # Release after commit is refused; commit after release re-takes the (still free) unit.
    assert set(outcomes) <= {"ok", "IllegalTransition"}
    stock = StockItem.objects.get(product=product)
    committed = InventoryReservation.objects.filter(status="committed").count()
    assert stock.on_hand == 5 - committed
    assert stock.movements.filter(reason="sale").count() == committed
    with pytest.raises(InsufficientStock):
        stock_reserve(lines=[ReservationLineRequest(product.sku, 6 - committed)], reference="x")
    assert_stock_consistent()


def test_stock_reserve_same_reference_from_many_connections_reserves_once():
    product = StockItemFactory(on_hand=10).product

    def reserve(_):
        stock_reserve(lines=[ReservationLineRequest(product.sku, 3)], reference="cart:double-click")

    outcomes = run_together(reserve, range(12), workers=12)

    assert outcomes == ["ok"] * 12
    assert InventoryReservation.objects.filter(reference="cart:double-click").count() == 1
    assert available(product) == 7
    assert_stock_consistent()


def test_stock_reserve_skips_a_lapsed_reservation_another_connection_is_settling():
    """Reclaiming never waits for a reservation row while holding a stock row (that wait is
    how deadlocks start): a lapsed reservation locked elsewhere is skipped, not waited for."""
    product = StockItemFactory(on_hand=2).product
    lapsed = stock_reserve(lines=[ReservationLineRequest(product.sku, 2)], reference="order:1")
    InventoryReservation.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    locked, finish = threading.Event(), threading.Event()

    def hold_the_reservation_row():
        from django.db import transaction

        try:
            with transaction.atomic():
                InventoryReservation.objects.select_for_update().get(pk=lapsed.pk)
                locked.set()
                finish.wait(timeout=10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_reservation_row)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        started = time.monotonic()
        with pytest.raises(InsufficientStock) as raised:
            stock_reserve(lines=[ReservationLineRequest(product.sku, 1)], reference="cart:2")
        assert time.monotonic() - started < 2
        assert raised.value.extra["availability"][0]["available"] == 0
    finally:
        finish.set()
        holder.join()

    # Once the other connection is done, the lapsed units are reclaimed.
    stock_reserve(lines=[ReservationLineRequest(product.sku, 2)], reference="cart:2")
    lapsed.refresh_from_db()
    assert lapsed.status == "expired"
    assert_stock_consistent()
