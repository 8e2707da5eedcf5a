from django.apps import AppConfig


class CartsConfig(AppConfig):
    name = "carts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from carts.models import DeliveryZone

        post_save.connect(_zone_changed, sender=DeliveryZone, dispatch_uid="carts-zone-saved")
        post_delete.connect(_zone_changed, sender=DeliveryZone, dispatch_uid="carts-zone-deleted")


def _zone_changed(**kwargs) -> None:
    """Drop the cached delivery rates once the change is committed (dropped before, a request
    could cache the old rates again until the next change)."""
    from django.core.cache import cache
    from django.db import transaction

    from carts.selectors import DELIVERY_RATES_CACHE_KEY

    transaction.on_commit(lambda: cache.delete(DELIVERY_RATES_CACHE_KEY))
