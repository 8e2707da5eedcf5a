"""The platform's state gauges (outbox, Celery queue, beat), read at scrape time; registered by
`YourLocalShopConfig.ready()` (yourlocalshop.metrics explains the two kinds of metric)."""

from django.conf import settings
from django.db.models import Min
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from yourlocalshop.metrics import register_state_gauge
from yourlocalshop.models import OutboxEvent


def outbox_undelivered_events() -> float:
    return OutboxEvent.objects.filter(delivered_at__isnull=True).count()


def outbox_oldest_undelivered_age_seconds() -> float:
    oldest = OutboxEvent.objects.filter(delivered_at__isnull=True).aggregate(
        oldest=Min("created_at")
    )["oldest"]
    return (timezone.now() - oldest).total_seconds() if oldest else 0.0


def celery_queue_length() -> dict[tuple[str, ...], float]:
    """Messages waiting in the default queue of the broker (all its priority levels); no series
    when tasks run eagerly (there is no queue)."""
    from yourlocalshop.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {}

    with app.connection_for_read() as connection:
        try:
            declared = connection.default_channel.queue_declare(
                queue=app.conf.task_default_queue, passive=True
            )
        except connection.channel_errors:
            # Not declared yet (no worker or producer has used this broker): nothing waits.
            return {(): 0}
    return {(): declared.message_count}


def beat_last_run_age_seconds() -> dict[tuple[str, ...], float]:
    """Seconds since beat last sent each enabled periodic task (beat writes it as it sends the
    task: settings.CELERY_BEAT_SYNC_EVERY); compare with the task's interval."""
    now = timezone.now()
    return {
        (task.name,): (now - task.last_run_at).total_seconds()
        for task in PeriodicTask.objects.filter(enabled=True, last_run_at__isnull=False)
    }


def register() -> None:
    register_state_gauge(
        "shop_outbox_undelivered_events",
        "Outbox events written but not yet delivered to every consumer.",
        outbox_undelivered_events,
    )
    register_state_gauge(
        "shop_outbox_oldest_undelivered_age_seconds",
        "Age of the oldest undelivered outbox event (0 when none is waiting).",
        outbox_oldest_undelivered_age_seconds,
    )
    register_state_gauge(
        "shop_beat_task_last_run_age_seconds",
        "Seconds since Celery beat last sent each enabled periodic task.",
        beat_last_run_age_seconds,
        labels=["task"],
    )
    register_state_gauge(
        "shop_celery_queue_length",
        "Celery tasks waiting in the broker's default queue.",
        celery_queue_length,
    )
