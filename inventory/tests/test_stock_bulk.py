"""Stock of many products in one call (seeding, a supplier delivery): the same ledger as one by
one, all or nothing."""

import pytest
from django.db.models import Sum

from catalogue.tests.factories import ProductFactory
from inventory import services
from inventory.enums import MovementReason
from inventory.errors import InvalidStockRequest, StockBelowReserved
from inventory.models import StockItem, StockMovement

pytestmark = pytest.mark.django_db


def ledger(product) -> tuple[int, int, list[tuple[str, int, int]]]:
    """(on hand, sum of the ledger, [(reason, delta, on_hand_after)] oldest first)."""
    stock_item = StockItem.objects.get(product=product)
    movements = StockMovement.objects.filter(stock_item=stock_item).order_by("id")
    total = movements.aggregate(total=Sum("delta"))["total"] or 0
    return (
        stock_item.on_hand,
        total,
        list(movements.values_list("reason", "delta", "on_hand_after")),
    )


def test_set_on_hand_many_creates_rows_and_writes_one_movement_per_change(
    django_capture_on_commit_callbacks,
):
    fresh, stocked, untouched = ProductFactory.create_batch(3)
    services.stock_set_on_hand(product=stocked, on_hand=5, kind=MovementReason.SEED)
    services.stock_set_on_hand(product=untouched, on_hand=7, kind=MovementReason.SEED)

    with django_capture_on_commit_callbacks() as callbacks:
        changed = services.stock_set_on_hand_many(
            levels=[(fresh, 12), (stocked, 2), (untouched, 7)], kind=MovementReason.SEED
        )

    assert changed == 2
    assert ledger(fresh) == (12, 12, [("seed", 12, 12)])
    assert ledger(stocked) == (2, 2, [("seed", 5, 5), ("seed", -3, 2)])
    assert ledger(untouched) == (7, 7, [("seed", 7, 7)])
    assert len(callbacks) == 1  # one stock_changed for the whole call
    assert (
        services.stock_set_on_hand_many(
            levels=[(fresh, 12), (stocked, 2)], kind=MovementReason.SEED
        )
        == 0
    )


def test_set_on_hand_many_refuses_a_level_below_the_reserved_units_and_writes_nothing():
    held, other = ProductFactory.create_batch(2)
    services.stock_set_on_hand(product=held, on_hand=5, kind=MovementReason.SEED)
    services.stock_reserve(
        lines=[services.ReservationLineRequest(sku=held.sku, quantity=4)], reference="cart:1"
    )

    with pytest.raises(StockBelowReserved):
        services.stock_set_on_hand_many(levels=[(other, 9), (held, 3)], note="count")

    assert not StockItem.objects.filter(product=other).exists()
    assert ledger(held)[0] == 5


def test_receive_many_adds_a_receipt_per_product_summing_repeated_lines():
    known, new = ProductFactory.create_batch(2)
    services.stock_set_on_hand(product=known, on_hand=3, kind=MovementReason.SEED)

    received = services.stock_receive_many(
        quantities=[(known, 10), (new, 4), (known, 2)], note="Delivery 42"
    )

    assert received == 2
    assert ledger(known) == (15, 15, [("seed", 3, 3), ("receipt", 12, 15)])
    assert ledger(new) == (4, 4, [("receipt", 4, 4)])
    assert StockMovement.objects.filter(reason="receipt").first().note == "Delivery 42"


@pytest.mark.parametrize("quantity", [0, -1, 2.5, True, "3"])
def test_receive_many_refuses_a_bad_quantity_and_writes_nothing(quantity):
    good, bad = ProductFactory.create_batch(2)

    with pytest.raises(InvalidStockRequest):
        services.stock_receive_many(quantities=[(good, 1), (bad, quantity)], note="delivery")

    assert not StockMovement.objects.exists()
