"""Celery beat that survives its database restarting, and how late each periodic task is.

django-celery-beat's `DatabaseScheduler` reads its schedule from the database on every tick (and
in full every five minutes). It survives some database errors, but one raised while it rebuilds
the schedule stopped the beat process: no reservation expiry, outbox sweep, abandoned-checkout
settle or packing-task heal ran until someone restarted it. `ResilientDatabaseScheduler` logs such
an error, drops the broken connection and tries again BEAT_DATABASE_RETRY_SECONDS later; the
process manager (compose `restart: unless-stopped`, a Kubernetes Deployment) restarts it if it
dies anyway.

`periodic_tasks_late()` reads what beat records (`PeriodicTask.last_run_at`, written as each
task is sent: settings.CELERY_BEAT_SYNC_EVERY) for the health detail.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)


class ResilientDatabaseScheduler(DatabaseScheduler):
    def tick(self, *args, **kwargs):
        try:
            return super().tick(*args, **kwargs)
        except (DatabaseError, InterfaceError) as error:
            logger.warning(
                "Beat cannot reach the database; retrying",
                extra={
                    "error": repr(error),
                    "retry_seconds": settings.BEAT_DATABASE_RETRY_SECONDS,
                },
            )
            close_old_connections()
            return settings.BEAT_DATABASE_RETRY_SECONDS


def periodic_tasks_late(*, now=None) -> dict[str, int]:
    """Enabled periodic tasks overdue by more than PERIODIC_TASK_LATE_SECONDS, with the seconds
    each is overdue (one that never ran counts from when it was scheduled)."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.PERIODIC_TASK_LATE_SECONDS)
    late = {}
    for task in PeriodicTask.objects.filter(enabled=True).select_related(
        "interval", "crontab", "solar", "clocked"
    ):
        if task.one_off or task.clocked_id:
            continue
        last_run = task.last_run_at or task.date_changed
        due_in = task.schedule.remaining_estimate(last_run)
        overdue = -due_in
        if overdue > grace:
            late[task.name] = int(overdue.total_seconds())
    return late
