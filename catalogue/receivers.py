"""Cache invalidation (the one use of signals the team allows besides decoupling), and the search's
setting on every new database connection (Django's hook for a connection's session settings)."""

from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from catalogue.cache import (
    catalogue_cache_invalidate,
    product_change,
    products_changed,
    stock_hints_invalidate,
)
from catalogue.models import Category, Product
from catalogue.search import match_similarity_set
from catalogue.signals import stock_changed
from yourlocalshop.cache import cache_recovered


@receiver(post_save, sender=Product, dispatch_uid="catalogue_product_saved")
def invalidate_saved_product(*, instance: Product, created: bool, **kwargs) -> None:
    previous = None if created else getattr(instance, "loaded_values", None)
    products_changed([product_change(instance, previous=previous)])
    # The next save of this instance changes what it holds now.
    instance.loaded_values = {
        field.attname: getattr(instance, field.attname) for field in Product._meta.concrete_fields
    }


@receiver(post_delete, sender=Product, dispatch_uid="catalogue_product_deleted")
def invalidate_deleted_product(*, instance: Product, **kwargs) -> None:
    products_changed([product_change(instance, previous=None)])


@receiver(post_save, sender=Category, dispatch_uid="catalogue_category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="catalogue_category_deleted")
def invalidate_catalogue_cache(**kwargs) -> None:
    catalogue_cache_invalidate()


@receiver(stock_changed, dispatch_uid="catalogue_stock_changed")
def drop_stock_hints(*, product_ids: list[int], **kwargs) -> None:
    stock_hints_invalidate(product_ids=product_ids)


@receiver(cache_recovered, dispatch_uid="catalogue_cache_recovered")
def orphan_catalogue_cache(**kwargs) -> None:
    """An invalidation dropped while the cache was unreachable would leave a stale price cached
    once it answers again: orphan everything (the cache refills from the database)."""
    catalogue_cache_invalidate()
    stock_hints_invalidate(product_ids=[])


connection_created.connect(match_similarity_set, dispatch_uid="catalogue_match_similarity")
