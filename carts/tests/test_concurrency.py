"""Real concurrent connections on PostgreSQL: the cart row lock and the one-open-cart constraint
must hold when several requests of the same customer arrive at once."""

import pytest

from accounts.tests.factories import UserFactory
from carts.enums import CartStatus
from carts.models import Cart, CartItem
from carts.services import (
    cart_get_or_create_for_user,
    cart_item_add,
    cart_merge_on_login,
    cart_reserve,
)
from carts.tests.factories import CartFactory, CartItemFactory, stocked_product
from yourlocalshop.testing import run_concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]
THREADS = 8


def _run_at_once(target) -> tuple[list, list[Exception]]:
    """`target()` on THREADS threads at once: what the calls returned, and what they raised."""
    outcomes = run_concurrently(lambda _: target(), range(THREADS))
    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    return [outcome for outcome in outcomes if not isinstance(outcome, Exception)], errors


def test_cart_item_add_concurrent_adds_lose_no_quantity():
    product = stocked_product(on_hand=100)
    cart = CartFactory()

    _results, errors = _run_at_once(lambda: cart_item_add(cart=cart, sku=product.sku, quantity=1))

    assert errors == []
    assert CartItem.objects.get(cart=cart, product=product).quantity == THREADS


def test_cart_item_add_concurrent_adds_never_exceed_stock():
    product = stocked_product(on_hand=5)
    cart = CartFactory()

    _results, errors = _run_at_once(lambda: cart_item_add(cart=cart, sku=product.sku, quantity=1))

    assert len(errors) == THREADS - 5
    assert {type(error).__name__ for error in errors} == {"InsufficientStock"}
    assert CartItem.objects.get(cart=cart, product=product).quantity == 5


def test_cart_get_or_create_for_user_concurrent_calls_share_one_cart():
    customer = UserFactory()

    results, errors = _run_at_once(lambda: cart_get_or_create_for_user(user=customer).pk)

    assert errors == []
    assert len(set(results)) == 1
    assert Cart.objects.filter(owner=customer, status=CartStatus.OPEN).count() == 1


def test_cart_merge_on_login_concurrent_logins_merge_once():
    customer = UserFactory()
    product = stocked_product(on_hand=100)
    guest_cart = CartFactory()
    CartItemFactory(cart=guest_cart, product=product, quantity=3)

    results, errors = _run_at_once(
        lambda: cart_merge_on_login(user=customer, guest_cart_id=guest_cart.pk)
    )

    assert errors == []
    assert sum(1 for result in results if result is not None and result.merged) == 1
    own_cart = Cart.objects.get(owner=customer, status=CartStatus.OPEN)
    assert own_cart.items.get().quantity == 3
    guest_cart.refresh_from_db()
    assert guest_cart.status == CartStatus.MERGED


def test_cart_reserve_concurrent_guest_carts_of_one_address_stay_within_the_cap(settings):
    settings.MAX_ACTIVE_RESERVATIONS_PER_GUEST_ADDRESS = 3
    product = stocked_product(on_hand=100)
    carts = [CartFactory(client_address="203.0.113.7") for _cart in range(THREADS)]
    for cart in carts:
        CartItemFactory(cart=cart, product=product, quantity=1)

    outcomes = run_concurrently(lambda cart: cart_reserve(cart=cart), carts)

    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert {type(error).__name__ for error in refused} == {"TooManyActiveReservations"}
    assert len(refused) == THREADS - 3
    assert Cart.objects.filter(reservation_id__isnull=False).count() == 3
