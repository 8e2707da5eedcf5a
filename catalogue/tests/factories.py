from decimal import Decimal

import factory

from catalogue.models import Category, Product


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    slug = factory.LazyAttribute(lambda product: product.sku.lower())
    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A product of the local shop."
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("9.99")
    currency = "EUR"
    is_active = True
    popularity = 0
