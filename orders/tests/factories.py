from decimal import Decimal

import factory

from carts.models import Cart, CartItem
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


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    owner = None


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda item: item.product.price)
    price_snapshot_at = factory.Faker("date_time", tzinfo=__import__("datetime").UTC)
