"""Template helpers shared by every storefront page.

`money` is the one place a price is formatted for customers, so every page shows amounts the same
way (two decimals, grouped thousands, the shop currency unless the amount carries its own).
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.http import QueryDict
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from yourlocalshop.addresses import address_lines

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


@register.filter
def money(amount, currency: str | None = None) -> str:
    """`{{ product.price|money:product.currency }}` → "€12.50"; an empty amount renders "".

    Unknown currencies are shown by their ISO code after the amount ("12.50 CHF").
    """
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return ""
    code = (currency or settings.SHOP_CURRENCY).upper()
    sign = "-" if value < 0 else ""
    digits = f"{abs(value):,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol:
        return f"{sign}{symbol}{digits}"
    return f"{sign}{digits} {code}"


@register.filter
def address_html(address) -> str:
    """`{{ order.shipping_address|address_html }}`: the address's lines, one per line."""
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in address_lines(address)))


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" drops one), so sort
    and page links keep the active search and filters: `?{% query_with page=3 %}`."""
    query: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value not in (None, ""):
            query[key] = value
    return query.urlencode()


@register.filter
def address_text(address) -> str:
    """`{{ order.shipping_address|address_text }}`: the address's lines for a plain-text email."""
    return "\n".join(address_lines(address))
