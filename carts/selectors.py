"""Cart reads. Which cart a request may see is decided here, once."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import F, FilteredRelation, IntegerField, Prefetch, Q, QuerySet, Value
from django.http import HttpRequest
from django_countries import countries

from carts.enums import CartStatus
from carts.errors import CartNotFound
from carts.models import Cart, CartItem, DeliveryZone
from carts.pricing import CheckoutQuote, DeliveryRate, QuoteLine, checkout_quote
from catalogue.selectors import products_all, products_on_sale
from inventory.selectors import available_by_product_id, available_units

if TYPE_CHECKING:
    from catalogue.models import Product

CART_COOKIE_NAME = "cart_id"
DELIVERY_RATES_CACHE_KEY = "carts:delivery-rates"


def delivery_rates() -> tuple[DeliveryRate, ...]:
    """The active delivery zones, from the shared cache (dropped whenever a zone is saved or
    deleted, `carts.apps`): pricing a cart costs no query for them."""
    rates = cache.get(DELIVERY_RATES_CACHE_KEY)
    if rates is None:
        rates = tuple(
            DeliveryRate(
                name=zone.name,
                countries=frozenset(str(country) for country in zone.countries),
                rate=zone.rate,
                free_above=zone.free_above,
            )
            for zone in DeliveryZone.objects.filter(is_active=True)
        )
        cache.set(DELIVERY_RATES_CACHE_KEY, rates, timeout=None)
    return rates


def delivery_country_choices() -> list[tuple[str, str]]:
    """The countries a customer can choose for delivery, as (ISO 3166 code, full name) sorted by
    name: those of the active zones, or every country while the shop has no zone (it then
    delivers everywhere, free: `carts.pricing.delivery_for`)."""
    zone_countries = frozenset().union(*(rate.countries for rate in delivery_rates()))
    return [
        (code, name) for code, name in countries if not zone_countries or code in zone_countries
    ]


def cart_id_from_cookie(request: HttpRequest) -> uuid.UUID | None:
    """The cookie's cart id, or None when it is missing or not a UUID (never an error)."""
    raw_value = request.COOKIES.get(CART_COOKIE_NAME)
    if not raw_value:
        return None
    try:
        return uuid.UUID(raw_value)
    except (ValueError, AttributeError, TypeError):
        return None


def cart_items_prefetch() -> Prefetch:
    """The cart's items with their products, for `prefetch_related`."""
    return Prefetch("items", queryset=CartItem.objects.select_related("product"))


def _carts_with_items() -> QuerySet[Cart]:
    return Cart.objects.prefetch_related(cart_items_prefetch())


def cart_open_locked_with_items(
    *, user_id: int | None, guest_cart_id: uuid.UUID | None
) -> Cart | None:
    """The open cart a checkout pays for, the user's, else the open guest cart `guest_cart_id`
    (the cookie's), with its row locked until the caller's transaction ends and its items and
    products (with their stock rows) read under that lock (two queries); None when there is
    none. Found by what makes it the caller's, not by an id read beforehand: one query fewer,
    and no cart that moved on in between."""
    # The products' stock rows come along for the reservation, which then reads none itself.
    items = Prefetch("items", queryset=CartItem.objects.select_related("product__stock_item"))
    return (
        carts_open_for_checkout(user_id=user_id, guest_cart_id=guest_cart_id)
        .prefetch_related(items)
        .select_for_update()
        .first()
    )


def carts_open_for_checkout(
    *, user_id: int | None, guest_cart_id: uuid.UUID | None
) -> QuerySet[Cart]:
    """The open carts a checkout may pay for, the one it takes first: the user's own, then the
    open guest cart `guest_cart_id` (the cookie's)."""
    whose = Q(owner_id=user_id) if user_id is not None else Q(pk__in=[])
    if guest_cart_id is not None:
        whose |= Q(pk=guest_cart_id, owner__isnull=True)
    return Cart.objects.filter(whose, status=CartStatus.OPEN).order_by(
        F("owner_id").asc(nulls_last=True)
    )


def cart_lines_for_add(*, cart_id: uuid.UUID, sku: str) -> tuple["Product | None", list[CartItem]]:
    """What adding the SKU to the cart needs, in one query: the product on sale with this SKU
    (None when it is not), annotated `available` (inventory's rule) and `line_id` (its line in
    the cart, None without one), and the cart's lines with their products, in cart order."""
    asked = _with_cart_line(products_on_sale(skus=[sku]), cart_id=cart_id).annotate(
        available=available_units()
    )
    others = (
        _with_cart_line(products_all().exclude(sku=sku), cart_id=cart_id)
        .filter(cart_line__isnull=False)
        .annotate(available=Value(None, output_field=IntegerField()))
    )
    product, lines = None, []
    for row in asked.order_by().union(others.order_by(), all=True):
        if row.sku == sku:
            product = row
        if row.line_id is not None:
            lines.append(
                CartItem(
                    pk=row.line_id,
                    cart_id=cart_id,
                    product=row,
                    quantity=row.line_quantity,
                    unit_price=row.line_unit_price,
                    price_snapshot_at=row.line_price_snapshot_at,
                    created_at=row.line_created_at,
                )
            )
    lines.sort(key=lambda line: (line.created_at, line.pk))
    return product, lines


def _with_cart_line(products: QuerySet, *, cart_id: uuid.UUID) -> QuerySet:
    """`products`, each with the fields of its line in the cart (None without one)."""
    line = FilteredRelation("cart_items", condition=Q(cart_items__cart_id=cart_id))
    return products.annotate(cart_line=line).annotate(
        line_id=F("cart_line__id"),
        line_quantity=F("cart_line__quantity"),
        line_unit_price=F("cart_line__unit_price"),
        line_price_snapshot_at=F("cart_line__price_snapshot_at"),
        line_created_at=F("cart_line__created_at"),
    )


def cart_get_open(*, cart_id: uuid.UUID | str) -> Cart:
    """The open cart with this id (items and products prefetched); raises `CartNotFound`."""
    cart = _carts_with_items().filter(pk=cart_id, status=CartStatus.OPEN).first()
    if cart is None:
        raise CartNotFound()
    return cart


def cart_open_for_user(*, user) -> Cart | None:
    return _carts_with_items().filter(owner=user, status=CartStatus.OPEN).first()


def cart_guest_for_cookie(*, request: HttpRequest, user=None) -> Cart | None:
    """The open guest cart named by the request's cookie, if the caller may use it.

    A cart owned by someone else, a cart that is no longer open, an unknown or malformed id all
    read as "no cart": the client then simply gets a fresh one.
    """
    cart_id = cart_id_from_cookie(request)
    if cart_id is None:
        return None
    carts = _carts_with_items().filter(pk=cart_id, status=CartStatus.OPEN)
    if user is not None and user.is_authenticated:
        carts = carts.filter(owner__isnull=True) | carts.filter(owner=user)
    else:
        carts = carts.filter(owner__isnull=True)
    return carts.first()


def cart_for_request(request: HttpRequest) -> Cart | None:
    """The signed-in user's open cart, else the cookie's guest cart, else None."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        cart = cart_open_for_user(user=user)
        if cart is not None:
            return cart
    return cart_guest_for_cookie(request=request, user=user)


@dataclass(frozen=True)
class PricedCart:
    """A cart revalidated against the catalogue: its checkout quote at today's prices, and what
    changed since its lines were added."""

    cart: Cart | None
    quote: CheckoutQuote
    warnings: list[dict]

    @property
    def lines(self) -> list[QuoteLine]:
        return self.quote.lines

    @property
    def item_count(self) -> int:
        return self.quote.item_count

    @property
    def subtotal(self) -> Decimal:
        return self.quote.subtotal

    @property
    def shipping(self) -> Decimal:
        return self.quote.shipping

    @property
    def tax(self) -> Decimal:
        return self.quote.tax

    @property
    def total(self) -> Decimal:
        return self.quote.total

    @property
    def currency(self) -> str:
        return self.quote.currency

    @property
    def prices_include_tax(self) -> bool:
        return self.quote.prices_include_tax


def cart_view(*, cart: Cart | None, country: str | None = None) -> PricedCart:
    """Price every line at the catalogue's current price and say what changed since it was
    added: a changed price is flagged on the line and warned about; a product no longer sold
    stays listed (so the customer can remove it) with a warning, and checkout refuses it.
    Delivery is priced for `country`, else estimated (`carts.pricing.delivery_for`)."""
    if cart is None:
        return PricedCart(
            cart=None,
            quote=checkout_quote(items=[], delivery_rates=delivery_rates()),
            warnings=[],
        )
    return _priced(cart=cart, items=cart.items.all(), country=country)


def cart_view_after_write(*, cart: Cart) -> PricedCart:
    """`cart_view` of a cart that a write has just changed and committed: its lines are read
    again (one query), the cart row is not. The view shows nothing of the row but its id, and a
    checkout that closed the cart right after the write must not turn that write's answer into
    a 404."""
    return _priced(cart=cart, items=cart_items_prefetch().queryset.filter(cart_id=cart.pk))


def _priced(*, cart: Cart, items: Iterable[CartItem], country: str | None = None) -> PricedCart:
    quote = checkout_quote(items=items, delivery_rates=delivery_rates(), country=country)
    warnings: list[dict] = []
    for line in quote.lines:
        product = line.product
        if not product.is_active:
            warnings.append(
                {
                    "code": "product_unavailable",
                    "sku": product.sku,
                    "detail": f"{product.name} is no longer sold; remove it to check out.",
                }
            )
        if line.price_changed:
            warnings.append(
                {
                    "code": "price_changed",
                    "sku": product.sku,
                    "detail": (
                        f"The price of {product.name} changed from {line.item.unit_price} to "
                        f"{product.price}."
                    ),
                }
            )
    return PricedCart(cart=cart, quote=quote, warnings=warnings)


def cart_stock_warnings(*, priced: PricedCart) -> list[dict]:
    """A warning per line asking for more than can be sold now (stock dropped since it was
    added), for the cart page to show before checkout refuses it. One query. Skipped while the
    cart holds its own reservation (a checkout in progress), whose units count as taken."""
    cart = priced.cart
    if cart is None or not priced.lines or cart.reservation_id is not None:
        return []
    available = available_by_product_id(product_ids=[line.product.pk for line in priced.lines])
    warnings = []
    for line in priced.lines:
        left = max(available[line.product.pk], 0)
        if line.product.is_active and left < line.item.quantity:
            detail = (
                f"{line.product.name} is sold out: remove it to check out."
                if left == 0
                else f"Only {left} of {line.product.name} left: you have {line.item.quantity} in "
                "your cart."
            )
            warnings.append(
                {
                    "code": "stock_dropped",
                    "sku": line.product.sku,
                    "available": left,
                    "detail": detail,
                }
            )
    return warnings
