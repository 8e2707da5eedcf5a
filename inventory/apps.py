from django.apps import AppConfig
from django.conf import settings


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        settings.CELERY_BEAT_SCHEDULE["inventory-expire-reservations"] = {
            "task": "inventory.tasks.expire_reservations",
            "schedule": float(settings.RESERVATION_EXPIRY_INTERVAL_SECONDS),
        }
        settings.CELERY_BEAT_SCHEDULE["inventory-reconcile-stock"] = {
            "task": "inventory.tasks.reconcile_stock",
            "schedule": float(settings.INVENTORY_RECONCILE_INTERVAL_SECONDS),
        }
