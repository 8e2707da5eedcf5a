from celery import shared_task
from django.conf import settings

from catalogue.cache import catalogue_cache_warm


@shared_task(name="catalogue.tasks.warm_catalogue_cache", ignore_result=True)
def warm_catalogue_cache(top: int | None = None) -> int:
    """Fill the shared cache with the most popular products (idempotent: it only reads)."""
    return catalogue_cache_warm(top=top or settings.CATALOGUE_WARMUP_TOP)
