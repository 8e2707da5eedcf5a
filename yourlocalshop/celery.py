import os
import shutil

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yourlocalshop.settings")

app = Celery("yourlocalshop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender=None, **kwargs) -> None:
    """Before and after each task, drop the connections a request would drop: past CONN_MAX_AGE
    or no longer usable (an error, a failed health check), so a worker reuses its connection
    across tasks (settings.CELERY_DB_REUSE_MAX) and still never runs a task on a broken one.
    Eager tasks run inside their caller's request or transaction, which owns the connection."""
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


@worker_init.connect
def serve_worker_metrics(sender=None, **kwargs) -> None:
    """A worker's counters (reservations it expired, outbox events it delivered, payment calls of
    the sweeper) live in its pool processes: with PROMETHEUS_MULTIPROC_DIR each writes them
    there, and with METRICS_WORKER_PORT the main process serves their sum for Prometheus. The
    directory is the worker's own (never the web server's): it is emptied as the worker starts,
    before the pool forks."""
    from django.conf import settings

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)
    if settings.METRICS_WORKER_PORT:
        from prometheus_client import start_http_server

        from yourlocalshop.metrics import collected_registry

        start_http_server(settings.METRICS_WORKER_PORT, registry=collected_registry())
