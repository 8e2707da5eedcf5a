from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.tests.factories import UserFactory
from carts.enums import CartStatus
from carts.errors import CartEmpty, CartNotOpen, TooManyActiveReservations
from carts.models import Cart
from carts.selectors import cart_get_open
from carts.services import (
    cart_create_guest,
    cart_get_or_create_for_user,
    cart_item_add,
    cart_item_remove,
    cart_item_update,
    cart_mark_checked_out,
    cart_merge,
    cart_merge_on_login,
    cart_reserve,
    carts_abandoned_delete,
)
from carts.tasks import delete_abandoned_carts
from carts.tests.factories import CartFactory, CartItemFactory, stocked_product
from inventory.enums import ReservationStatus
from inventory.errors import InsufficientStock
from inventory.models import InventoryReservation
from inventory.selectors import available_by_product_id, reservation_get
from inventory.services import reservation_commit
from yourlocalshop.errors import IllegalTransition

pytestmark = pytest.mark.django_db


def test_cart_reserve_holds_stock_under_cart_reference():
    product = stocked_product(on_hand=5)
    cart = CartFactory()
    cart_item_add(cart=cart, sku=product.sku, quantity=2)

    reservation = cart_reserve(cart=cart)

    cart.refresh_from_db()
    assert reservation.reference == f"cart:{cart.pk}"
    assert cart.reservation_id == reservation.id
    assert available_by_product_id(product_ids=[product.pk]) == {product.pk: 3}


def test_cart_reserve_again_refreshes_the_same_reservation():
    product = stocked_product(on_hand=5)
    cart = CartFactory()
    cart_item_add(cart=cart, sku=product.sku, quantity=2)
    first = cart_reserve(cart=cart, ttl_seconds=60)

    second = cart_reserve(cart=cart, ttl_seconds=600)

    assert second.id == first.id
    assert second.expires_at > first.expires_at
    assert available_by_product_id(product_ids=[product.pk]) == {product.pk: 3}


@pytest.mark.parametrize(
    "change",
    [
        lambda cart, item, product: cart_item_add(cart=cart, sku=product.sku, quantity=1),
        lambda cart, item, product: cart_item_update(cart=cart, item_id=item.pk, quantity=1),
        lambda cart, item, product: cart_item_remove(cart=cart, item_id=item.pk),
    ],
    ids=["add", "update", "remove"],
)
def test_cart_change_releases_its_reservation(change):
    product = stocked_product(on_hand=5)
    cart = CartFactory()
    item = cart_item_add(cart=cart, sku=product.sku, quantity=2)
    reservation = cart_reserve(cart=cart)

    change(cart, item, product)

    cart.refresh_from_db()
    assert cart.reservation_id is None
    assert reservation_get(reservation_id=reservation.id).status == ReservationStatus.RELEASED


def test_cart_item_add_counts_own_reservation_as_available():
    # The cart's own reservation is released before the check, so it does not block itself.
    product = stocked_product(on_hand=3)
    cart = CartFactory()
    cart_item_add(cart=cart, sku=product.sku, quantity=2)
    cart_reserve(cart=cart)

    item = cart_item_add(cart=cart, sku=product.sku, quantity=1)

    assert item.quantity == 3


def test_cart_failed_change_keeps_the_reservation():
    product = stocked_product(on_hand=3)
    cart = CartFactory()
    cart_item_add(cart=cart, sku=product.sku, quantity=2)
    reservation = cart_reserve(cart=cart)

    with pytest.raises(InsufficientStock):
        cart_item_add(cart=cart, sku=product.sku, quantity=2)

    cart.refresh_from_db()
    assert cart.reservation_id == reservation.id
    assert reservation_get(reservation_id=reservation.id).status == ReservationStatus.ACTIVE


def test_cart_reserve_all_or_nothing_when_short():
    plenty = stocked_product(on_hand=5)
    scarce = stocked_product(on_hand=1)
    cart = CartFactory()
    CartItemFactory(cart=cart, product=plenty, quantity=2)
    CartItemFactory(cart=cart, product=scarce, quantity=2)

    with pytest.raises(InsufficientStock) as raised:
        cart_reserve(cart=cart)

    assert raised.value.extra["availability"][0]["sku"] == scarce.sku
    cart.refresh_from_db()
    assert cart.reservation_id is None
    assert available_by_product_id(product_ids=[plenty.pk]) == {plenty.pk: 5}


def test_cart_reserve_refuses_empty_cart():
    with pytest.raises(CartEmpty):
        cart_reserve(cart=CartFactory())


def test_a_customer_holds_one_live_reservation_at_most():
    """No count is needed for customers: one open cart each, and only an open cart holds one."""
    customer = UserFactory()
    product = stocked_product(on_hand=100)
    cart = cart_get_or_create_for_user(user=customer)
    cart_item_add(cart=cart, sku=product.sku, quantity=1)

    first = cart_reserve(cart=cart)
    again = cart_reserve(cart=cart)
    with pytest.raises(IntegrityError), transaction.atomic():
        Cart.objects.create(owner=customer)

    assert again.pk == first.pk
    assert InventoryReservation.objects.filter(status=ReservationStatus.ACTIVE).count() == 1


def _reserved_guest_cart(product, *, address: str) -> Cart:
    cart = cart_create_guest(client_address=address)
    cart_item_add(cart=cart, sku=product.sku, quantity=1)
    cart_reserve(cart=cart)
    cart.refresh_from_db()
    return cart


def test_cart_reserve_caps_live_reservations_per_guest_address(settings):
    settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = 2
    product = stocked_product(on_hand=100)
    earlier = [_reserved_guest_cart(product, address="203.0.113.7") for _cart in range(2)]
    cart = cart_create_guest(client_address="203.0.113.7")
    cart_item_add(cart=cart, sku=product.sku, quantity=1)

    with pytest.raises(TooManyActiveReservations) as raised:
        cart_reserve(cart=cart)

    assert raised.value.status == 429
    assert raised.value.extra == {"maxActiveReservations": 2}
    cart.refresh_from_db()
    assert cart.reservation_id is None
    # A cart already holding stock may refresh its reservation; another address is unaffected.
    assert cart_reserve(cart=earlier[0]).id == earlier[0].reservation_id
    assert _reserved_guest_cart(product, address="198.51.100.4").reservation_id is not None


def test_cart_reserve_guest_cap_counts_only_live_reservations(settings):
    settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = 2
    product = stocked_product(on_hand=100)
    released, expired = (_reserved_guest_cart(product, address="203.0.113.7") for _cart in range(2))
    # Changing a cart releases its reservation; the other one ran out of time, not yet swept.
    cart_item_add(cart=released, sku=product.sku, quantity=1)
    InventoryReservation.objects.filter(pk=expired.reservation_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert _reserved_guest_cart(product, address="203.0.113.7").reservation_id is not None
    assert _reserved_guest_cart(product, address="203.0.113.7").reservation_id is not None


def test_cart_reserve_guest_cap_skips_carts_without_an_address(settings):
    settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = 1
    product = stocked_product(on_hand=100)

    carts = [_reserved_guest_cart(product, address="") for _cart in range(3)]

    assert all(cart.reservation_id is not None for cart in carts)


def test_cart_mark_checked_out_freezes_cart_and_is_idempotent():
    product = stocked_product()
    cart = CartFactory(owner=UserFactory())
    cart_item_add(cart=cart, sku=product.sku, quantity=1)

    cart_mark_checked_out(cart_id=cart.pk)
    cart_mark_checked_out(cart_id=cart.pk)

    cart.refresh_from_db()
    assert cart.status == CartStatus.CHECKED_OUT
    assert cart.status_changed_at is not None
    with pytest.raises(CartNotOpen):
        cart_item_add(cart=cart, sku=product.sku, quantity=1)
    # The customer's next write opens a new cart.
    assert cart_get_or_create_for_user(user=cart.owner).pk != cart.pk


def test_cart_merged_cannot_be_checked_out():
    cart = CartFactory(status=CartStatus.MERGED)

    with pytest.raises(IllegalTransition):
        cart_mark_checked_out(cart_id=cart.pk)


def test_cart_merge_skips_products_no_longer_sold():
    customer = UserFactory()
    retired = stocked_product(is_active=False)
    guest_cart = CartFactory()
    CartItemFactory(cart=guest_cart, product=retired, quantity=2)

    result = cart_merge_on_login(user=customer, guest_cart_id=guest_cart.pk)

    assert [(cap.sku, cap.quantity, cap.reason) for cap in result.capped] == [
        (retired.sku, 0, "unavailable")
    ]
    assert not result.cart.items.exists()


def test_cart_merge_never_lowers_the_customers_own_line():
    customer = UserFactory()
    product = stocked_product(on_hand=2)
    own_cart = CartFactory(owner=customer)
    CartItemFactory(cart=own_cart, product=product, quantity=3)
    guest_cart = CartFactory()
    CartItemFactory(cart=guest_cart, product=product, quantity=1)

    result = cart_merge(source=guest_cart, target=own_cart)

    assert result.capped[0].quantity == 3
    assert own_cart.items.get().quantity == 3


def test_cart_merge_keeps_guest_price_snapshot():
    customer = UserFactory()
    product = stocked_product()
    guest_cart = CartFactory()
    CartItemFactory(cart=guest_cart, product=product, unit_price="1.00")

    result = cart_merge_on_login(user=customer, guest_cart_id=guest_cart.pk)

    assert str(result.cart.items.get().unit_price) == "1.00"


def test_cart_get_open_refuses_closed_cart():
    from carts.errors import CartNotFound

    with pytest.raises(CartNotFound):
        cart_get_open(cart_id=CartFactory(status=CartStatus.MERGED).pk)


def test_carts_abandoned_delete_removes_only_old_guest_carts():
    old = timezone.now() - timedelta(days=settings.CART_TTL_DAYS + 1)
    old_guest = CartFactory()
    old_merged = CartFactory(status=CartStatus.MERGED)
    old_customer = CartFactory(owner=UserFactory())
    old_checked_out = CartFactory(status=CartStatus.CHECKED_OUT)
    fresh_guest = CartFactory()
    CartItemFactory(cart=old_guest)
    Cart.objects.filter(
        pk__in=[old_guest.pk, old_merged.pk, old_customer.pk, old_checked_out.pk]
    ).update(updated_at=old)

    deleted = delete_abandoned_carts()

    assert deleted == 2
    assert set(Cart.objects.values_list("pk", flat=True)) == {
        old_customer.pk,
        old_checked_out.pk,
        fresh_guest.pk,
    }
    assert carts_abandoned_delete() == 0


def test_carts_abandoned_delete_releases_held_stock():
    product = stocked_product(on_hand=2)
    cart = CartFactory()
    cart_item_add(cart=cart, sku=product.sku, quantity=2)
    cart_reserve(cart=cart)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=90))

    carts_abandoned_delete()

    assert available_by_product_id(product_ids=[product.pk]) == {product.pk: 2}


def test_carts_beat_schedule_registers_abandoned_cart_sweep():
    entry = settings.CELERY_BEAT_SCHEDULE["carts-delete-abandoned"]

    assert entry["task"] == delete_abandoned_carts.name


def test_cart_change_after_committed_reservation_leaves_the_sale_alone():
    product = stocked_product(on_hand=5)
    cart = CartFactory()
    cart_item_add(cart=cart, sku=product.sku, quantity=2)
    reservation = cart_reserve(cart=cart)
    reservation_commit(reservation_id=reservation.id)

    cart_item_add(cart=cart, sku=product.sku, quantity=1)

    assert reservation_get(reservation_id=reservation.id).status == ReservationStatus.COMMITTED
    cart.refresh_from_db()
    assert cart.reservation_id is None
    assert available_by_product_id(product_ids=[product.pk]) == {product.pk: 3}
