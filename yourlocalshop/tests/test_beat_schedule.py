from pathlib import Path

from django.conf import settings

from yourlocalshop.celery import app

PERIODIC_TASKS = {
    "outbox.sweep",
    "inventory.tasks.expire_reservations",
    "inventory.tasks.reconcile_stock",
    "carts.delete_abandoned_carts",
    "orders.sweep_abandoned_checkouts",
    "orders.purge_idempotency_keys",
    "orders.reconcile_payments",
    "fulfilment.heal_packing_tasks",
    "fulfilment.retry_bookings",
    "returns.resume_refunds",
}


def test_the_beat_schedule_sends_every_periodic_task_and_the_worker_knows_each():
    app.loader.import_default_modules()  # what a worker and beat do as they start

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert scheduled == PERIODIC_TASKS
    assert scheduled <= set(app.tasks)


def test_the_beat_schedule_is_written_in_settings_only():
    root = Path(settings.BASE_DIR)
    writers = [
        file.relative_to(root).as_posix()
        for app_name in settings.INSTALLED_APPS
        if (root / app_name).is_dir()
        for file in (root / app_name).rglob("*.py")
        if "/tests/" not in file.as_posix() and "CELERY_BEAT_SCHEDULE" in file.read_text()
    ]

    assert writers == ["yourlocalshop/settings.py"]
