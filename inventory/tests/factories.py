import factory

from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason
from inventory.models import StockItem
from inventory.services import stock_set_on_hand


class StockItemFactory(factory.django.DjangoModelFactory):
    """A product with `on_hand` units, written through the service so the ledger agrees."""

    class Meta:
        model = StockItem

    product = factory.SubFactory(ProductFactory)

    @classmethod
    def _create(cls, model_class, *, product, on_hand=10, **kwargs):
        stock_set_on_hand(product=product, on_hand=on_hand, kind=MovementReason.SEED)
        stock_item, _ = model_class.objects.get_or_create(product=product)
        return stock_item
