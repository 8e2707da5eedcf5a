# YourLocalShop: one image for the web process (gunicorn), the Celery worker and Celery beat.
# The command picks the role; docker/entrypoint.sh migrates first unless RUN_MIGRATIONS=0.
FROM python:3.12-slim-bookworm

# SECRETS_DIR names the directory where generated secrets are kept, not a secret (DL3064).
# hadolint ignore=DL3064
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DEBUG=0 \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    DATABASE_URL=sqlite:////app/data/db.sqlite3 \
    SECRETS_DIR=/app/data/secrets \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus-multiproc

# A fixed, unprivileged uid so volume permissions are predictable across rebuilds.
RUN groupadd --system --gid 10001 shop \
    && useradd --system --uid 10001 --gid shop --home-dir /app --shell /usr/sbin/nologin shop

WORKDIR /app

# pg_dump and pg_restore for `manage.py backup_shop` / `restore_shop` in the container: Debian
# bookworm's PostgreSQL 15 client, the major every shape's server runs (compose's `db`, the CI
# service, a developer's Debian), so a backup taken in one shape restores in another
# (docs/operations.md). The distribution fixes the major; its security updates replace the exact
# version, so it is not pinned further.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first: this layer is rebuilt only when the pinned requirements change.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY --chown=shop:shop . .

# WhiteNoise serves hashed, compressed files from STATIC_ROOT. The secrets this build step
# generates are thrown away with it, so none is baked into the image; the real ones come at run
# time (from the environment, or generated into the data volume). No metrics directory at build
# time either: root would own it, and the shop user could not write its counters there.
RUN SECRETS_DIR=/tmp/build-secrets PROMETHEUS_MULTIPROC_DIR='' \
        python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-secrets \
    && mkdir -p /app/data \
    && chown shop:shop /app/data \
    && chmod +x docker/entrypoint.sh

# Numeric, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
# gunicorn binds 0.0.0.0:$PORT and starts $WEB_CONCURRENCY workers when those are set. Access
# lines come from Django (ACCESS_LOG, JSON with the request id), not from gunicorn.
CMD ["gunicorn", "yourlocalshop.wsgi:application", "--timeout", "30", "--graceful-timeout", "30"]
