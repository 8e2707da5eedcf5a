"""A real Celery worker for the worker tests (`python -m fulfilment.tests.worker_process`).

`TEST_WORKER_VISIBILITY_TIMEOUT` shortens the broker's visibility timeout so a message left unacked
by a killed worker comes back within seconds instead of the production hour.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yourlocalshop.settings")
django.setup()

from yourlocalshop.celery import app  # noqa: E402

visibility_timeout = os.environ.get("TEST_WORKER_VISIBILITY_TIMEOUT")
if visibility_timeout:
    app.conf.broker_transport_options = {
        "visibility_timeout": int(visibility_timeout),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

app.worker_main(
    [
        "worker",
        "--pool=solo",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname=fulfilment-test-{os.getpid()}@%h",
    ]
)
