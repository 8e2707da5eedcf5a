from django.apps import AppConfig
from django.conf import settings


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from catalogue import stock
        from inventory import selectors

        stock.availability_reader_register(selectors.available_by_product_id)
        settings.CELERY_BEAT_SCHEDULE["inventory-expire-reservations"] = {
            "task": "inventory.tasks.expire_reservations",
            "schedule": float(settings.RESERVATION_EXPIRY_INTERVAL_SECONDS),
        }
        settings.CELERY_BEAT_SCHEDULE["inventory-reconcile-stock"] = {
            "task": "inventory.tasks.reconcile_stock",
            "schedule": float(settings.INVENTORY_RECONCILE_INTERVAL_SECONDS),
        }
