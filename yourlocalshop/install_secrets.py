"""The installation's secrets (SECRET_KEY, COURIER_WEBHOOK_SECRET): never a value published with
the code.

A secret comes from the environment. When it is not set, the first process of the installation
generates a random one and keeps it in a file under SECRETS_DIR (mode 0600), where every later
process on that host (gunicorn workers, the Celery worker and beat, management commands) finds the
same value: a single-host shop (`make run`, one container with a data volume) is safe without any
set-up. A deployment on several hosts must set the secrets in the environment, or each host would
generate its own; `manage.py check --deploy` warns about every generated secret
(`yourlocalshop.checks`).

A value known to be public (a development default from this repository or its examples) is refused
with DEBUG=0: anyone could forge a session or a courier event with it.
"""

import os
import secrets
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

PUBLIC_VALUES = frozenset(
    {
        "django-insecure-local-development-key-change-me",
        "dev-courier-webhook-secret",
        "docker-compose-development-only",
        "replace-with-50-random-characters-from-a-password-generator",
        "replace-with-the-courier-shared-secret",
        "change-me",
    }
)
ENVIRONMENT = "environment"
GENERATED = "generated"


def install_secret(name: str, *, value: str, directory: Path, debug: bool) -> tuple[str, str]:
    """The secret `name` and where it came from (`ENVIRONMENT` or `GENERATED`).

    `value` is the environment's (empty when unset). Raises `ImproperlyConfigured` for a public
    value with `debug` off, and when no value is set and none can be kept under `directory`.
    """
    if value:
        if not debug and value in PUBLIC_VALUES:
            raise ImproperlyConfigured(
                f"{name} is a public development value; set a random one (DEBUG=0)."
            )
        return value, ENVIRONMENT
    path = directory / name.lower()
    try:
        return _read_or_create(path), GENERATED
    except OSError as error:
        raise ImproperlyConfigured(
            f"{name} is not set and cannot be kept in {path} ({error.strerror}): set {name}, or "
            "point SECRETS_DIR at a writable directory of this host."
        ) from error


def _read_or_create(path: Path) -> str:
    """The file's secret, or a new one written there. Two processes starting together agree: the
    file is created exclusively, and the one that loses the race reads the winner's value."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    generated = secrets.token_urlsafe(50)
    try:
        descriptor = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    with os.fdopen(descriptor, "w") as file:
        file.write(generated)
    try:
        # Hard link, not rename: it fails when the name exists, so a value is never replaced.
        os.link(path.with_suffix(".tmp"), path)
    except FileExistsError:
        pass
    finally:
        os.unlink(path.with_suffix(".tmp"))
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise ImproperlyConfigured(f"{path} is empty: delete it to generate a new secret.")
    return value


def _read_when_written(path: Path, *, attempts: int = 50) -> str:
    for _ in range(attempts):
        try:
            return _read(path)
        except FileNotFoundError:
            time.sleep(0.02)
    raise ImproperlyConfigured(
        f"{path.with_suffix('.tmp')} is left from a start that failed: delete it."
    )
