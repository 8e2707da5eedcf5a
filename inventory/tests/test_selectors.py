from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalogue.tests.factories import ProductFactory
from inventory.models import InventoryReservation
from inventory.selectors import available_by_product_id, reservations_live_count
from inventory.services import ReservationLineRequest, reservation_release, stock_reserve

pytestmark = pytest.mark.django_db


def reserve(product, quantity: int, reference: str):
    return stock_reserve(lines=[ReservationLineRequest(product.sku, quantity)], reference=reference)


def test_available_by_product_id_subtracts_live_holds_in_one_query(stocked):
    product, other = stocked(10), stocked(4)
    reserve(product, 3, "cart:live")
    lapsed = reserve(product, 2, "cart:lapsed")
    InventoryReservation.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    unstocked = ProductFactory()

    with CaptureQueriesContext(connection) as queries:
        available = available_by_product_id(product_ids=[product.pk, other.pk, unstocked.pk])

    assert available == {product.pk: 7, other.pk: 4, unstocked.pk: 0}
    assert len(queries.captured_queries) == 1


def test_reservations_live_count_counts_only_active_unexpired_reservations(stocked):
    product = stocked(10)
    live = reserve(product, 1, "cart:live")
    released = reserve(product, 1, "cart:released")
    reservation_release(reservation_id=released.pk)
    lapsed = reserve(product, 1, "cart:lapsed")
    InventoryReservation.objects.filter(pk=lapsed.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    ids = [live.pk, released.pk, lapsed.pk, "00000000-0000-0000-0000-000000000000"]

    with CaptureQueriesContext(connection) as queries:
        count = reservations_live_count(reservation_ids=ids)

    assert count == 1
    assert len(queries.captured_queries) == 1
