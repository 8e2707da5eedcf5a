"""The checkout quote: the one place that prices a cart, and the VAT arithmetic it rests on.

`checkout_quote` prices cart items at today's catalogue prices into lines, subtotal, shipping,
tax, total and currency. The cart API and pages show it, `POST /api/checkout` answers it, and
checkout charges it and copies it into the order (its lines and totals), from which the invoice
and the refunds are made: so what the customer is shown is what is charged, invoiced and refunded.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django_countries import countries

from carts.errors import DeliveryNotAvailable
from carts.models import CartItem

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaxedAmount:
    net: Decimal
    tax: Decimal
    gross: Decimal


def tax_split(amount: Decimal) -> TaxedAmount:
    """Split a shelf amount into net, tax and gross at `VAT_RATE`.

    With `PRICES_INCLUDE_TAX` (the default) the shelf amount is the gross and the tax is the part of
    it the rate accounts for; otherwise tax is added on top. Each part is quantized to 0.01, and
    net + tax == gross exactly.
    """
    rate = settings.VAT_RATE
    amount = money(amount)
    if settings.PRICES_INCLUDE_TAX:
        tax = money(amount - amount / (1 + rate))
        return TaxedAmount(net=amount - tax, tax=tax, gross=amount)
    tax = money(amount * rate)
    return TaxedAmount(net=amount, tax=tax, gross=amount + tax)


@dataclass(frozen=True)
class DeliveryRate:
    """A delivery zone as pricing needs it (`carts.selectors.delivery_rates`)."""

    name: str
    countries: frozenset[str]
    rate: Decimal
    free_above: Decimal | None


@dataclass(frozen=True)
class Delivery:
    charge: Decimal
    country: str
    zone: str  # "" when the shop has no zones (free delivery everywhere)
    free_delivery_remaining: Decimal | None  # subtotal still to add for free delivery


def delivery_for(
    *, rates: Sequence[DeliveryRate], country: str | None, subtotal: Decimal
) -> Delivery:
    """The delivery charge of a `subtotal` to `country`, by the shop's zones.

    No zone at all: free everywhere. `country` None estimates for `SHOP_COUNTRY` (or, when no
    zone covers it, the cheapest zone). A given country that no zone covers raises
    `DeliveryNotAvailable`. Free from a zone's `free_above`; nothing to deliver costs nothing.
    """
    estimate = country is None
    country = (country or settings.SHOP_COUNTRY).upper()
    if not rates or not subtotal:
        return Delivery(charge=ZERO, country=country, zone="", free_delivery_remaining=None)
    zone = next((rate for rate in rates if country in rate.countries), None)
    if zone is None and not estimate:
        raise DeliveryNotAvailable(
            f"Sorry, we do not deliver to {countries.name(country) or country}.",
            country=country,
            countries=sorted(set().union(*(rate.countries for rate in rates))),
        )
    zone = zone or min(rates, key=lambda rate: rate.rate)
    if zone.free_above is None:
        return Delivery(
            charge=zone.rate, country=country, zone=zone.name, free_delivery_remaining=None
        )
    remaining = max(zone.free_above - subtotal, ZERO)
    return Delivery(
        charge=zone.rate if remaining else ZERO,
        country=country,
        zone=zone.name,
        free_delivery_remaining=remaining,
    )


@dataclass(frozen=True)
class QuoteLine:
    item: CartItem
    current_price: Decimal  # today's catalogue price: what checkout charges
    line_total: Decimal  # shelf amount: gross when prices include tax, else net
    tax: Decimal

    @property
    def product(self):
        return self.item.product

    @property
    def quantity(self) -> int:
        return self.item.quantity

    @property
    def price_changed(self) -> bool:
        return self.current_price != self.item.unit_price


@dataclass(frozen=True)
class CheckoutQuote:
    """What the cart costs now. `subtotal` and `shipping` are shelf amounts (they include VAT
    when prices do); `tax` is the VAT in the lines and the shipping; `total` is what is charged."""

    lines: list[QuoteLine]
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    currency: str
    prices_include_tax: bool
    delivery: Delivery

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def checkout_quote(
    *,
    items: Iterable[CartItem],
    delivery_rates: Sequence[DeliveryRate] = (),
    country: str | None = None,
) -> CheckoutQuote:
    """Price cart items (their products loaded) at today's prices, one line per item in the
    order given, and their delivery to `country` (an estimate when None) by `delivery_rates`
    (`delivery_for`; raises `DeliveryNotAvailable`). VAT on delivery follows the tax mode as
    the goods' does. Reads nothing from the database."""
    lines = []
    for item in items:
        line_total = money(item.product.price * item.quantity)
        lines.append(
            QuoteLine(
                item=item,
                current_price=item.product.price,
                line_total=line_total,
                tax=tax_split(line_total).tax,
            )
        )
    subtotal = sum((line.line_total for line in lines), ZERO)
    delivery = delivery_for(rates=delivery_rates, country=country, subtotal=subtotal)
    shipping = delivery.charge
    tax = sum((line.tax for line in lines), ZERO) + tax_split(shipping).tax
    total = subtotal + shipping + (ZERO if settings.PRICES_INCLUDE_TAX else tax)
    return CheckoutQuote(
        lines=lines,
        subtotal=subtotal,
        shipping=shipping,
        tax=tax,
        total=total,
        currency=settings.SHOP_CURRENCY,
        prices_include_tax=settings.PRICES_INCLUDE_TAX,
        delivery=delivery,
    )
