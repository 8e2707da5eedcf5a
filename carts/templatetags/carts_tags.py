from django import template

from carts.selectors import cart_for_request, cart_view

register = template.Library()


@register.simple_tag(takes_context=True)
def cart_item_count(context) -> int:
    """How many units are in the visitor's cart, for the header badge (0 without a cart)."""
    request = context.get("request")
    if request is None:
        return 0
    return cart_view(cart=cart_for_request(request)).item_count
