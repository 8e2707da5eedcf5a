from django.apps import AppConfig
from django.conf import settings


class CartsConfig(AppConfig):
    name = "carts"

    def ready(self) -> None:
        settings.CELERY_BEAT_SCHEDULE["carts-delete-abandoned"] = {
            "task": "carts.delete_abandoned_carts",
            "schedule": 60 * 60,
        }
