"""VAT arithmetic, shared by orders and invoices so both always agree to the cent."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")


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
