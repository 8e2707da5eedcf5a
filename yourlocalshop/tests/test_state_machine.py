"""The shared transitions, shown on carts (open → merged | checked_out, both final)."""

import pytest

from carts.enums import ALLOWED_TRANSITIONS, CartStatus
from carts.models import Cart
from carts.tests.factories import CartFactory
from yourlocalshop.errors import IllegalTransition
from yourlocalshop.state_machine import transition, transition_rows

pytestmark = pytest.mark.django_db


def test_transition_refuses_a_move_the_table_does_not_allow():
    cart = CartFactory(status=CartStatus.MERGED)

    with pytest.raises(IllegalTransition) as refused:
        transition(cart, to=CartStatus.CHECKED_OUT, allowed=ALLOWED_TRANSITIONS)

    assert refused.value.extra == {"current": "merged", "requested": "checked_out"}
    assert cart.status == CartStatus.MERGED


def test_transition_rows_moves_only_the_rows_allowed_to_move():
    open_cart, other_open_cart = CartFactory(), CartFactory()
    merged_cart = CartFactory(status=CartStatus.MERGED)
    chosen = Cart.objects.filter(pk__in=[open_cart.pk, merged_cart.pk])

    moved = transition_rows(chosen, to=CartStatus.CHECKED_OUT, allowed=ALLOWED_TRANSITIONS)

    assert moved == 1
    statuses = dict(Cart.objects.values_list("pk", "status"))
    assert statuses == {
        open_cart.pk: CartStatus.CHECKED_OUT,
        other_open_cart.pk: CartStatus.OPEN,
        merged_cart.pk: CartStatus.MERGED,
    }
    open_cart.refresh_from_db()
    assert open_cart.status_changed_at is not None
    assert transition_rows(chosen, to=CartStatus.CHECKED_OUT, allowed=ALLOWED_TRANSITIONS) == 0
