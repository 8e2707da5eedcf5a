"""Hypothesis drives random sequences of reserve / release / commit / extend / expire / restock /
return / adjust / clock moves and checks, after every step, that `0 <= available <= on_hand`,
that on_hand matches both an independent count and the ledger, and that every call succeeded
exactly when the availability seen before it said it should."""

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason, ReservationStatus
from inventory.errors import InsufficientStock, StockBelowReserved
from inventory.models import InventoryReservation, StockItem
from inventory.selectors import available_by_product_id
from inventory.services import (
    ReservationLineRequest,
    reservation_commit,
    reservation_extend,
    reservation_release,
    reservations_expire_due,
    stock_adjust,
    stock_receive,
    stock_reserve,
    stock_return,
    stock_set_on_hand,
)
from inventory.tests.helpers import assert_stock_consistent
from yourlocalshop.errors import IllegalTransition

PRODUCT_COUNT = 3
product_index = st.integers(0, PRODUCT_COUNT - 1)
quantity = st.integers(1, 4)


class InventoryMachine(RuleBasedStateMachine):
    reservations = Bundle("reservations")

    def __init__(self):
        super().__init__()
        self.now = timezone.now()
        self.clock = mock.patch("django.utils.timezone.now", new=lambda: self.now)
        self.clock.start()
        self.products = [ProductFactory() for _ in range(PRODUCT_COUNT)]
        for product in self.products:
            stock_set_on_hand(product=product, on_hand=4, kind=MovementReason.SEED)
        self.expected_on_hand = {product.pk: 4 for product in self.products}

    def teardown(self):
        self.clock.stop()

    def available(self) -> dict[int, int]:
        return available_by_product_id(product_ids=self.expected_on_hand)

    def can_retake(self, reservation: InventoryReservation) -> bool:
        available = self.available()
        return all(
            line.is_held or line.quantity <= available[line.product_id]
            for line in reservation.lines.all()
        )

    @rule(
        target=reservations,
        picks=st.lists(st.tuples(product_index, quantity), min_size=1, max_size=3),
        ttl=st.integers(1, 60),
        threshold=st.sampled_from([0, 2, 1000]),
    )
    def reserve(self, picks, ttl, threshold):
        wanted: dict[int, int] = {}
        for index, amount in picks:
            wanted[index] = wanted.get(index, 0) + amount
        available = self.available()
        should_succeed = all(
            amount <= available[self.products[index].pk] for index, amount in wanted.items()
        )
        lines = [
            ReservationLineRequest(self.products[index].sku, amount) for index, amount in picks
        ]
        with override_settings(INVENTORY_PESSIMISTIC_THRESHOLD=threshold):
            try:
                with transaction.atomic():  # the service takes no savepoint of its own
                    reservation = stock_reserve(
                        lines=lines, reference=f"cart:{uuid.uuid4()}", ttl_seconds=ttl
                    )
            except InsufficientStock:
                assert not should_succeed
                return multiple()
        assert should_succeed
        return reservation.pk

    @rule(reservation_id=reservations)
    def release(self, reservation_id):
        reservation = InventoryReservation.objects.get(pk=reservation_id)
        try:
            reservation_release(reservation_id=reservation_id)
        except IllegalTransition:
            assert reservation.status == ReservationStatus.COMMITTED

    @rule(reservation_id=reservations)
    def commit(self, reservation_id):
        reservation = InventoryReservation.objects.get(pk=reservation_id)
        was_committed = reservation.status == ReservationStatus.COMMITTED
        should_succeed = was_committed or self.can_retake(reservation)
        try:
            with transaction.atomic():  # the service takes no savepoint of its own
                reservation_commit(reservation_id=reservation_id)
        except InsufficientStock:
            assert not should_succeed
            return
        assert should_succeed
        if not was_committed:
            for line in reservation.lines.all():
                self.expected_on_hand[line.product_id] -= line.quantity

    @rule(reservation_id=reservations, ttl=st.integers(1, 60))
    def extend(self, reservation_id, ttl):
        reservation = InventoryReservation.objects.get(pk=reservation_id)
        try:
            reservation_extend(reservation_id=reservation_id, ttl_seconds=ttl)
        except IllegalTransition:
            assert reservation.status in (ReservationStatus.RELEASED, ReservationStatus.COMMITTED)
        except InsufficientStock:
            assert reservation.status == ReservationStatus.EXPIRED
            assert not self.can_retake(reservation)

    @rule(seconds=st.integers(1, 90))
    def advance_clock(self, seconds):
        self.now += timedelta(seconds=seconds)

    @rule()
    def run_expiry_task(self):
        reservations_expire_due()

    @rule(index=product_index, amount=quantity)
    def restock(self, index, amount):
        product = self.products[index]
        stock_receive(product=product, quantity=amount, note="delivery")
        self.expected_on_hand[product.pk] += amount

    @rule(index=product_index, amount=quantity, resellable=st.booleans())
    def customer_return(self, index, amount, resellable):
        product = self.products[index]
        stock_return(
            product=product, quantity=amount, resellable=resellable, reference=str(uuid.uuid4())
        )
        if resellable:
            self.expected_on_hand[product.pk] += amount

    @rule(index=product_index, amount=quantity)
    def write_down(self, index, amount):
        product = self.products[index]
        should_succeed = amount <= self.available()[product.pk]
        try:
            stock_adjust(product=product, delta=-amount, note="breakage", user=None)
        except StockBelowReserved:
            assert not should_succeed
            return
        assert should_succeed
        self.expected_on_hand[product.pk] -= amount

    @invariant()
    def stock_adds_up(self):
        available = self.available()
        on_hand = dict(
            StockItem.objects.filter(product_id__in=self.expected_on_hand).values_list(
                "product_id", "on_hand"
            )
        )
        assert on_hand == self.expected_on_hand
        for product_id, units in on_hand.items():
            assert 0 <= available[product_id] <= units
        assert_stock_consistent()


@pytest.mark.django_db
def test_inventory_invariants_hold_for_any_sequence_of_operations():
    run_state_machine_as_test(
        InventoryMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
