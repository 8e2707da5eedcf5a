import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
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
