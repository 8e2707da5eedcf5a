#!/bin/sh
# Container entry point: bring the schema up to date (RESET_DB=1 drops it first), then run the
# container's command (gunicorn, celery worker, celery beat, or anything else).
# Only one role may migrate: worker and beat containers set RUN_MIGRATIONS=0, and on Kubernetes
# the migrations Job does it instead of any pod.
set -eu

if [ "${RUN_MIGRATIONS:-1}" = "1" ]; then
    python manage.py prepare_database
    # Queue the catalogue cache warm-up for a worker; the server does not wait for it.
    python manage.py warm_catalogue_cache --start-up || echo "catalogue warm-up not queued" >&2
fi

exec "$@"
