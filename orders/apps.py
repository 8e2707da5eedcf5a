from django.apps import AppConfig
from django.conf import settings


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # The outbox's tasks live in the platform module; importing it registers them with Celery.
        from orders import consumers
        from yourlocalshop import outbox

        outbox.register_handler(
            "order_paid",
            consumers.confirmation_email_on_order_paid,
            consumer=consumers.CONFIRMATION_EMAIL_CONSUMER,
        )

        settings.CELERY_BEAT_SCHEDULE.update(
            {
                "outbox-sweep": {
                    "task": "outbox.sweep",
                    "schedule": settings.OUTBOX_SWEEP_INTERVAL_SECONDS,
                },
                "orders-sweep-abandoned-checkouts": {
                    "task": "orders.sweep_abandoned_checkouts",
                    "schedule": settings.IDEMPOTENCY_LOCK_SECONDS,
                },
                "orders-purge-idempotency-keys": {
                    "task": "orders.purge_idempotency_keys",
                    "schedule": 3600,
                },
            }
        )
