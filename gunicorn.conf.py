"""gunicorn settings for every way the shop is served: gunicorn reads `./gunicorn.conf.py` from its
working directory, which is the project root in the Docker image, compose, Kubernetes and the
benchmarks. Command-line options (workers, bind, timeouts) still come from each of those."""

import gc
import os
import shutil

# gunicorn answers a request it cannot parse itself, before Django, with a plain-text 400 or 414
# (never problem+json), so its limits are set where no legitimate request reaches them: a request
# line (method, path and query) of up to 8190 bytes (its maximum; the default is 4094), 100
# header fields of up to 8190 bytes each. Bodies are limited by Django (DATA_UPLOAD_MAX_MEMORY_SIZE,
# answered 413 problem+json), not here.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def post_worker_init(worker):
    # The worker has loaded the application: its modules, settings and URL patterns live as long
    # as the process. Frozen, they are left out of the collector's full collections, which
    # otherwise scan some 100,000 such objects: measured in-process, a 60 ms pause every few
    # thousand requests became a 4 ms one.
    gc.freeze()


def on_starting(server):
    # prometheus-client's multiprocess mode: every worker writes its counters to files in this
    # directory and a scrape adds them up (yourlocalshop.metrics). A new server starts them from
    # zero, as Prometheus expects of a restarted process; the files of a previous run would
    # otherwise be added to the new counts forever.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
