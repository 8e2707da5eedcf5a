import factory
from django.utils import timezone

from carts.models import Cart, CartItem
from catalogue.tests.factories import ProductFactory
from inventory.models import StockItem


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
    price_snapshot_at = factory.LazyFunction(timezone.now)


def stocked_product(*, on_hand: int = 100, **product_fields):
    """An active product with `on_hand` units in stock."""
    product = ProductFactory(**product_fields)
    StockItem.objects.create(product=product, on_hand=on_hand)
    return product
