from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings

from catalogue.signals import stock_changed
from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason, ReservationStatus
from inventory.errors import (
    InsufficientStock,
    InvalidStockRequest,
    ReservationNotFound,
    ReservationReferenceConflict,
    StockBelowReserved,
    StockReturnConflict,
)
from inventory.models import InventoryReservation, StockItem, StockMovement
from inventory.services import (
    ReservationLineRequest,
    reservation_commit,
    reservation_extend,
    reservation_release,
    stock_adjust,
    stock_receive,
    stock_reserve,
    stock_return,
    stock_set_on_hand,
    stock_set_on_hand_many,
)
from inventory.tests.helpers import assert_stock_consistent, available, clock_at, clock_moved_by
from yourlocalshop.errors import IllegalTransition

pytestmark = pytest.mark.django_db


def line(product, quantity=1):
    return ReservationLineRequest(sku=product.sku, quantity=quantity)


def on_hand(product) -> int:
    return StockItem.objects.get(product=product).on_hand


# --- reserve -------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, 1000], ids=["guarded-update", "row-lock"])
def test_stock_reserve_lowers_available_on_either_locking_path(stocked, threshold):
    product = stocked(10)
    with override_settings(INVENTORY_PESSIMISTIC_THRESHOLD=threshold):
        reservation = stock_reserve(lines=[line(product, 3)], reference="cart:1")

    assert reservation.status == ReservationStatus.ACTIVE
    assert [(row.sku, row.quantity) for row in reservation.lines.all()] == [(product.sku, 3)]
    assert available(product) == 7
    assert on_hand(product) == 10
    assert_stock_consistent()


@pytest.mark.parametrize("threshold", [0, 1000], ids=["guarded-update", "row-lock"])
def test_stock_reserve_refuses_more_than_available(stocked, threshold):
    product = stocked(2)
    with override_settings(INVENTORY_PESSIMISTIC_THRESHOLD=threshold):
        stock_reserve(lines=[line(product, 2)], reference="cart:1")
        with pytest.raises(InsufficientStock) as raised, transaction.atomic():
            stock_reserve(lines=[line(product, 1)], reference="cart:2")

    assert raised.value.extra == {
        "availability": [{"sku": product.sku, "requested": 1, "available": 0}]
    }
    assert available(product) == 0


def test_stock_reserve_is_all_or_nothing_and_names_each_short_sku(stocked):
    plenty, scarce, also_scarce = stocked(10), stocked(1), stocked(0)

    with pytest.raises(InsufficientStock) as raised, transaction.atomic():
        stock_reserve(
            lines=[line(plenty, 2), line(scarce, 2), line(also_scarce, 1)], reference="cart:1"
        )

    assert raised.value.status == 409
    assert raised.value.code == "insufficient_stock"
    assert raised.value.extra["availability"] == sorted(
        [
            {"sku": scarce.sku, "requested": 2, "available": 1},
            {"sku": also_scarce.sku, "requested": 1, "available": 0},
        ],
        key=lambda entry: entry["sku"],
    )
    assert f"{scarce.name}: 1 of 2 left" in raised.value.detail  # by name, as customers know it
    assert f"{also_scarce.name}: 0 of 1 left" in raised.value.detail
    assert available(plenty) == 10
    assert not InventoryReservation.objects.exists()
    assert_stock_consistent()


def test_stock_reserve_counts_unknown_inactive_and_stockless_skus_as_unavailable(stocked):
    inactive = stocked(5)
    inactive.is_active = False
    inactive.save()
    never_stocked = ProductFactory()
    StockItem.objects.filter(product=never_stocked).delete()

    with pytest.raises(InsufficientStock) as raised, transaction.atomic():
        stock_reserve(
            lines=[
                ReservationLineRequest("NO-SUCH-SKU", 1),
                line(inactive, 1),
                line(never_stocked, 1),
            ],
            reference="cart:1",
        )

    assert {entry["sku"]: entry["available"] for entry in raised.value.extra["availability"]} == {
        "NO-SUCH-SKU": 0,
        inactive.sku: 0,
        never_stocked.sku: 0,
    }
    assert not InventoryReservation.objects.exists()


def test_stock_reserve_adds_up_repeated_skus(stocked):
    product = stocked(5)

    reservation = stock_reserve(lines=[line(product, 2), line(product, 3)], reference="cart:1")

    assert reservation.lines.get().quantity == 5
    assert available(product) == 0


def test_stock_reserve_is_idempotent_on_reference_and_refreshes_expiry(stocked):
    product = stocked(5)
    first = stock_reserve(lines=[line(product, 2)], reference="cart:1", ttl_seconds=60)

    with clock_moved_by(30):
        again = stock_reserve(lines=[line(product, 2)], reference="cart:1", ttl_seconds=60)

    assert again.pk == first.pk
    assert again.expires_at > first.expires_at
    assert InventoryReservation.objects.count() == 1
    assert available(product) == 3


def test_stock_reserve_refuses_other_lines_under_an_active_reference(stocked):
    product = stocked(5)
    stock_reserve(lines=[line(product, 2)], reference="cart:1")

    with pytest.raises(ReservationReferenceConflict), transaction.atomic():
        stock_reserve(lines=[line(product, 3)], reference="cart:1")

    assert available(product) == 3


def test_stock_reserve_makes_a_new_reservation_once_the_reference_was_released(stocked):
    product = stocked(5)
    first = stock_reserve(lines=[line(product, 2)], reference="cart:1")
    reservation_release(reservation_id=first.pk)

    second = stock_reserve(lines=[line(product, 4)], reference="cart:1")

    assert second.pk != first.pk
    assert available(product) == 1


def test_stock_reserve_replaces_a_lapsed_reservation_of_the_same_reference(stocked):
    product = stocked(5)
    first = stock_reserve(lines=[line(product, 5)], reference="cart:1", ttl_seconds=10)

    with clock_moved_by(11):
        second = stock_reserve(lines=[line(product, 5)], reference="cart:1", ttl_seconds=10)

    first.refresh_from_db()
    assert first.status == ReservationStatus.EXPIRED
    assert second.pk != first.pk
    assert_stock_consistent()


@pytest.mark.parametrize(
    "lines",
    [[], [ReservationLineRequest("X", 0)], [ReservationLineRequest("X", -1)], [("X", 1.5)]],
    ids=["empty", "zero", "negative", "not-a-line"],
)
def test_stock_reserve_rejects_nonsense_lines(stocked, lines):
    if lines and isinstance(lines[0], tuple):
        lines = [ReservationLineRequest(*lines[0])]
    with pytest.raises(InvalidStockRequest):
        stock_reserve(lines=lines, reference="cart:1")


def test_stock_reserve_rejects_a_non_positive_ttl(stocked):
    product = stocked(5)
    with pytest.raises(InvalidStockRequest):
        stock_reserve(lines=[line(product)], reference="cart:1", ttl_seconds=0)


def test_stock_reserve_announces_the_change_after_commit(
    stocked, django_capture_on_commit_callbacks
):
    product = stocked(5)
    received = []
    stock_changed.connect(
        lambda **kwargs: received.append(kwargs["product_ids"]), weak=False, dispatch_uid="t"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            stock_reserve(lines=[line(product)], reference="cart:1")
    finally:
        stock_changed.disconnect(dispatch_uid="t")

    assert received == [[product.pk]]


def test_stock_reserve_announces_nothing_when_refused(stocked, django_capture_on_commit_callbacks):
    product = stocked(0)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InsufficientStock):
        stock_reserve(lines=[line(product)], reference="cart:1")
    assert callbacks == []


# --- TTL -----------------------------------------------------------------------------------


def test_stock_reserve_stops_counting_once_the_ttl_has_passed(stocked):
    product = stocked(3)
    reservation = stock_reserve(lines=[line(product, 3)], reference="cart:1", ttl_seconds=2)

    # Just before expiry by the reservation's own clock, so a slow machine cannot cross it.
    with clock_at(reservation.expires_at - timedelta(milliseconds=100)):
        assert available(product) == 0
    with clock_at(reservation.expires_at):
        assert available(product) == 3
        # A new customer gets the units although the expiry task has not run.
        stock_reserve(lines=[line(product, 3)], reference="cart:2")

    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.EXPIRED
    assert available(product) == 0
    assert_stock_consistent()


# --- release -------------------------------------------------------------------------------


def test_reservation_release_restores_available_and_is_idempotent(stocked):
    product = stocked(4)
    reservation = stock_reserve(lines=[line(product, 3)], reference="cart:1")

    reservation_release(reservation_id=reservation.pk)
    released = reservation_release(reservation_id=reservation.pk)

    assert released.status == ReservationStatus.RELEASED
    assert available(product) == 4
    assert on_hand(product) == 4
    assert_stock_consistent()


def test_reservation_release_of_a_committed_reservation_is_refused(stocked):
    product = stocked(4)
    reservation = stock_reserve(lines=[line(product, 3)], reference="cart:1")
    reservation_commit(reservation_id=reservation.pk)

    with pytest.raises(IllegalTransition):
        reservation_release(reservation_id=reservation.pk)

    assert on_hand(product) == 1


@pytest.mark.parametrize("reservation_id", ["not-a-uuid", "0b8f9c1e-2f6a-4c7e-9d1a-2b3c4d5e6f70"])
def test_reservation_release_of_an_unknown_reservation_is_not_found(reservation_id):
    with pytest.raises(ReservationNotFound) as raised:
        reservation_release(reservation_id=reservation_id)
    assert raised.value.status == 404


# --- commit --------------------------------------------------------------------------------


def test_reservation_commit_lowers_on_hand_with_sale_movements_and_is_idempotent(stocked):
    first, second = stocked(5), stocked(7)
    reservation = stock_reserve(lines=[line(first, 2), line(second, 7)], reference="order:1")

    reservation_commit(reservation_id=reservation.pk)
    committed = reservation_commit(reservation_id=reservation.pk)

    assert committed.status == ReservationStatus.COMMITTED
    assert (on_hand(first), available(first)) == (3, 3)
    assert (on_hand(second), available(second)) == (0, 0)
    sales = StockMovement.objects.filter(reason=MovementReason.SALE)
    assert sorted(sales.values_list("delta", "reference")) == [(-7, "order:1"), (-2, "order:1")]
    assert_stock_consistent()


def test_reservation_commit_of_a_released_reservation_retakes_free_stock(stocked):
    product = stocked(5)
    reservation = stock_reserve(lines=[line(product, 2)], reference="order:1")
    reservation_release(reservation_id=reservation.pk)

    committed = reservation_commit(reservation_id=reservation.pk)

    assert committed.status == ReservationStatus.COMMITTED
    assert on_hand(product) == 3
    assert_stock_consistent()


def test_reservation_commit_of_an_expired_reservation_fails_when_the_stock_is_gone(stocked):
    product = stocked(2)
    reservation = stock_reserve(lines=[line(product, 2)], reference="order:1", ttl_seconds=5)
    with clock_moved_by(6):
        stock_reserve(lines=[line(product, 1)], reference="cart:2")

    with pytest.raises(InsufficientStock) as raised, transaction.atomic():
        reservation_commit(reservation_id=reservation.pk)

    assert raised.value.extra["availability"] == [
        {"sku": product.sku, "requested": 2, "available": 1}
    ]
    reservation.refresh_from_db()
    assert reservation.status == ReservationStatus.EXPIRED
    assert on_hand(product) == 2
    assert_stock_consistent()


def test_reservation_commit_past_expiry_keeps_units_nobody_else_took(stocked):
    product = stocked(2)
    reservation = stock_reserve(lines=[line(product, 2)], reference="order:1", ttl_seconds=5)

    with clock_moved_by(6):
        reservation_commit(reservation_id=reservation.pk)

    assert on_hand(product) == 0
    assert_stock_consistent()


@pytest.fixture
def announced(django_capture_on_commit_callbacks):
    """Runs a service call and returns the product ids it announced through `stock_changed`."""
    received = []

    def record(**kwargs):
        received.extend(kwargs["product_ids"])

    stock_changed.connect(record, weak=False, dispatch_uid="announced")

    def run(call) -> list[int]:
        received.clear()
        with django_capture_on_commit_callbacks(execute=True):
            call()
        return sorted(received)

    yield run
    stock_changed.disconnect(dispatch_uid="announced")


def test_reservation_commit_under_live_holds_announces_nothing(stocked, announced):
    """Availability is on_hand minus live holds: the sale lowers both by the same units."""
    product = stocked(5)
    reservation = stock_reserve(lines=[line(product, 2)], reference="order:1")
    before = available(product)

    assert announced(lambda: reservation_commit(reservation_id=reservation.pk)) == []
    assert available(product) == before == 3


def test_reservation_commit_announces_what_was_not_live_held(stocked, announced):
    released, lapsed, live = stocked(5), stocked(5), stocked(5)
    taken_again = stock_reserve(lines=[line(released, 2)], reference="order:1")
    reservation_release(reservation_id=taken_again.pk)
    past_expiry = stock_reserve(lines=[line(lapsed, 2)], reference="order:2", ttl_seconds=5)
    unexpired = stock_reserve(lines=[line(live, 2)], reference="order:3", ttl_seconds=60)

    assert announced(lambda: reservation_commit(reservation_id=taken_again.pk)) == [released.pk]
    with clock_moved_by(6):
        assert available(lapsed) == 5  # its hold stopped counting at expiry
        assert announced(lambda: reservation_commit(reservation_id=past_expiry.pk)) == [lapsed.pk]
        assert announced(lambda: reservation_commit(reservation_id=unexpired.pk)) == []
    assert [available(product) for product in (released, lapsed, live)] == [3, 3, 3]


# --- extend --------------------------------------------------------------------------------


def test_reservation_extend_moves_the_expiry(stocked):
    product = stocked(2)
    reservation = stock_reserve(lines=[line(product, 2)], reference="cart:1", ttl_seconds=5)

    extended = reservation_extend(reservation_id=reservation.pk, ttl_seconds=600)

    assert extended.expires_at > reservation.expires_at
    with clock_moved_by(60):
        assert available(product) == 0


def test_reservation_extend_brings_back_an_expired_reservation_when_stock_is_free(stocked):
    product = stocked(2)
    reservation = stock_reserve(lines=[line(product, 2)], reference="cart:1", ttl_seconds=5)
    with clock_moved_by(6):
        from inventory.services import reservations_expire_due

        assert reservations_expire_due() == 1

    extended = reservation_extend(reservation_id=reservation.pk, ttl_seconds=600)

    assert extended.status == ReservationStatus.ACTIVE
    assert available(product) == 0
    assert_stock_consistent()


def test_reservation_extend_of_a_released_reservation_is_refused(stocked):
    product = stocked(2)
    reservation = stock_reserve(lines=[line(product, 2)], reference="cart:1")
    reservation_release(reservation_id=reservation.pk)

    with pytest.raises(IllegalTransition):
        reservation_extend(reservation_id=reservation.pk, ttl_seconds=60)
    assert available(product) == 2


# --- stock ---------------------------------------------------------------------------------


def test_stock_set_on_hand_writes_one_movement_and_nothing_when_equal(db):
    product = ProductFactory()

    first = stock_set_on_hand(product=product, on_hand=12, kind=MovementReason.SEED)
    second = stock_set_on_hand(product=product, on_hand=12, kind=MovementReason.SEED)
    lowered = stock_set_on_hand(product=product, on_hand=9, note="Counted the shelf")

    assert (first.reason, first.delta) == (MovementReason.SEED, 12)
    assert second is None
    assert (lowered.reason, lowered.delta, lowered.note) == (
        MovementReason.ADJUSTMENT,
        -3,
        "Counted the shelf",
    )
    assert on_hand(product) == 9
    assert StockMovement.objects.count() == 2
    assert_stock_consistent()


@pytest.mark.parametrize("kind", [MovementReason.RECEIPT, MovementReason.SALE, "Counted"])
def test_stock_set_on_hand_records_only_a_seed_or_an_adjustment(db, kind):
    product = ProductFactory()

    with pytest.raises(InvalidStockRequest):
        stock_set_on_hand(product=product, on_hand=3, kind=kind)
    with pytest.raises(InvalidStockRequest):
        stock_set_on_hand_many(levels=[(product, 3)], kind=kind)
    assert not StockMovement.objects.exists()


def test_stock_set_on_hand_refuses_to_go_below_reserved(stocked):
    product = stocked(5)
    stock_reserve(lines=[line(product, 3)], reference="cart:1")

    with pytest.raises(StockBelowReserved):
        stock_set_on_hand(product=product, on_hand=2, note="recount")
    assert on_hand(product) == 5


def test_stock_receive_adds_units_with_a_receipt(stocked, staff_user):
    product = stocked(1)

    movement = stock_receive(product=product, quantity=4, note="Delivery 42", user=staff_user)

    assert (movement.reason, movement.delta, movement.on_hand_after) == ("receipt", 4, 5)
    assert (movement.user, movement.note) == (staff_user, "Delivery 42")
    assert available(product) == 5


def test_stock_adjust_records_the_staff_user_and_reason(stocked, staff_user):
    product = stocked(5)

    movement = stock_adjust(product=product, delta=-2, note="Broken in the shop", user=staff_user)

    assert (movement.reason, movement.delta, movement.user, movement.note) == (
        MovementReason.ADJUSTMENT,
        -2,
        staff_user,
        "Broken in the shop",
    )
    assert on_hand(product) == 3
    assert_stock_consistent()


def test_stock_adjust_never_goes_below_reserved_or_zero(stocked, staff_user):
    product = stocked(5)
    stock_reserve(lines=[line(product, 4)], reference="cart:1")

    with pytest.raises(StockBelowReserved) as below_reserved:
        stock_adjust(product=product, delta=-2, note="count", user=staff_user)
    with pytest.raises(StockBelowReserved):
        stock_adjust(product=product, delta=-6, note="count", user=staff_user)

    assert below_reserved.value.extra["reserved"] == 4
    assert on_hand(product) == 5


def test_stock_adjust_can_take_units_held_by_a_lapsed_reservation(stocked, staff_user):
    product = stocked(5)
    stock_reserve(lines=[line(product, 4)], reference="cart:1", ttl_seconds=5)

    with clock_moved_by(6):
        stock_adjust(product=product, delta=-5, note="flood", user=staff_user)

    assert on_hand(product) == 0
    assert_stock_consistent()


@pytest.mark.parametrize(("delta", "reason"), [(0, "count"), (2, " ")])
def test_stock_adjust_needs_a_change_and_a_reason(stocked, staff_user, delta, reason):
    product = stocked(5)
    with pytest.raises(InvalidStockRequest):
        stock_adjust(product=product, delta=delta, note=reason, user=staff_user)


def test_stock_return_restocks_resellable_units_once(stocked):
    product = stocked(0)

    first = stock_return(product=product, quantity=2, resellable=True, reference="return:7")
    again = stock_return(product=product, quantity=2, resellable=True, reference="return:7")

    assert again.pk == first.pk
    assert (first.reason, first.delta) == (MovementReason.RETURN_RESTOCK, 2)
    assert available(product) == 2
    assert_stock_consistent()


def test_stock_return_writes_off_damaged_units_without_restocking(stocked):
    product = stocked(1)

    movement = stock_return(product=product, quantity=3, resellable=False, reference="return:8")
    stock_return(product=product, quantity=3, resellable=False, reference="return:8")

    assert (movement.reason, movement.delta, movement.quantity) == (
        MovementReason.RETURN_WRITE_OFF,
        0,
        3,
    )
    assert on_hand(product) == 1
    assert StockMovement.objects.filter(reason=MovementReason.RETURN_WRITE_OFF).count() == 1


def test_stock_return_repeated_with_another_quantity_is_a_conflict(stocked):
    product = stocked(0)
    stock_return(product=product, quantity=2, resellable=True, reference="return:7")

    with pytest.raises(StockReturnConflict):
        stock_return(product=product, quantity=3, resellable=True, reference="return:7")
    assert on_hand(product) == 2


def test_stock_item_on_hand_cannot_go_negative_in_the_database(stocked):
    product = stocked(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockItem.objects.filter(product=product).update(on_hand=-1)
