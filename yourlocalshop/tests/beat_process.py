"""The project's Celery beat for the fault suite (`python -m yourlocalshop.tests.beat_process
[beat options]`), with django-celery-beat's full read of the schedule from the database, which it
does every five minutes, on every tick instead: a database outage of a few seconds then meets it,
as an outage in production eventually does (the read that once made beat exit)."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yourlocalshop.settings")
django.setup()

from django_celery_beat import schedulers  # noqa: E402

from yourlocalshop.celery import app  # noqa: E402

schedulers.SCHEDULE_SYNC_MAX_INTERVAL = 0

app.start(["beat", *sys.argv[1:]])
