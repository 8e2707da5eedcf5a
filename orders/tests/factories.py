from decimal import Decimal

from catalogue.tests.factories import ProductFactory
from inventory.tests.factories import StockItemFactory

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "Hometown",
    "postcode": "HT1 2AB",
    "country": "GB",
}


def stocked_product(*, on_hand: int = 10, price: Decimal = Decimal("12.00"), **kwargs):
    return StockItemFactory(on_hand=on_hand, product=ProductFactory(price=price, **kwargs)).product
