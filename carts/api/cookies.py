"""The guest cart cookie: how an anonymous client finds its cart again."""

from django.conf import settings

from carts.models import Cart
from carts.selectors import CART_COOKIE_NAME


def cart_cookie_set(response, *, cart: Cart) -> None:
    # The cookie lives as long as the abandoned-cart sweep keeps the cart.
    response.set_cookie(
        CART_COOKIE_NAME,
        str(cart.pk),
        max_age=settings.CART_TTL_DAYS * 24 * 60 * 60,
        httponly=True,
        samesite="Lax",
        secure=not settings.DEBUG,
    )


def cart_cookie_delete(response) -> None:
    response.delete_cookie(CART_COOKIE_NAME, samesite="Lax")
