from django.apps import AppConfig
from django.conf import settings


class FulfilmentConfig(AppConfig):
    name = "fulfilment"

    def ready(self) -> None:
        from fulfilment import consumers, tasks
        from yourlocalshop import outbox

        outbox.register_handler(
            "order_paid",
            consumers.packing_task_from_order_paid,
            consumer=consumers.PACKING_TASK_CONSUMER,
        )
        settings.CELERY_BEAT_SCHEDULE["fulfilment-heal-packing-tasks"] = {
            "task": tasks.packing_tasks_heal_task.name,
            "schedule": tasks.HEAL_PACKING_TASKS_EVERY_SECONDS,
        }
        settings.CELERY_BEAT_SCHEDULE["fulfilment-retry-bookings"] = {
            "task": tasks.shipments_retry_bookings_task.name,
            "schedule": tasks.RETRY_BOOKINGS_EVERY_SECONDS,
        }
