from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from yourlocalshop.beat import ResilientDatabaseScheduler, periodic_tasks_late
from yourlocalshop.celery import app

pytestmark = pytest.mark.django_db


def test_beat_waits_for_the_database_instead_of_exiting(monkeypatch, settings):
    scheduler = ResilientDatabaseScheduler(app=app, lazy=True)

    def database_restarting(*args, **kwargs):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(DatabaseScheduler, "tick", database_restarting)

    assert scheduler.tick() == settings.BEAT_DATABASE_RETRY_SECONDS


def _task(name: str, *, every: int, last_run_ago: int) -> None:
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period="seconds")
    PeriodicTask.objects.create(
        name=name,
        task=name,
        interval=interval,
        last_run_at=timezone.now() - timedelta(seconds=last_run_ago),
    )


# Committed: the health detail reads them on its own connection.
@pytest.mark.django_db(transaction=True)
def test_periodic_tasks_late_flags_only_overdue_tasks(health_monitor):
    _task("sweep-on-time", every=60, last_run_ago=30)
    _task("sweep-late", every=60, last_run_ago=60 + 301 + 100)

    late = periodic_tasks_late()

    assert set(late) == {"sweep-late"}
    assert late["sweep-late"] >= 301
    health = health_monitor.get("/api/health").json()
    assert health["lateTasks"] == late
    assert health["status"] == "degraded"


# Committed: beat closes a connection left in a transaction (close_old_connections), as a test's.
@pytest.mark.django_db(transaction=True)
def test_beat_records_each_periodic_task_as_it_sends_it(monkeypatch):
    """The beat lag metric and the health detail read `last_run_at`: beat's default wrote it
    with the first task it sent and then only every three minutes, so a task sent every 30 s
    read as minutes late."""
    _task("probe-first", every=30, last_run_ago=100)
    _task("probe-second", every=30, last_run_ago=100)
    scheduler = ResilientDatabaseScheduler(app=app, lazy=True)
    sent = []
    monkeypatch.setattr(scheduler, "send_task", lambda name, *args, **kwargs: sent.append(name))

    scheduler.tick()
    scheduler.tick()

    assert sorted(sent) == ["probe-first", "probe-second"]
    for task in PeriodicTask.objects.filter(name__startswith="probe-"):
        assert timezone.now() - task.last_run_at < timedelta(seconds=30), task.name
