"""Run the Postman collection against a server of its own: what `.ci/run` does.

    .venv/bin/python scripts/postman_run.py

Drops and migrates a throw-away PostgreSQL database (POSTMAN_DATABASE_URL, default `yls_load`),
empties its Redis db (POSTMAN_REDIS_URL, default db 11), seeds the sample catalogue and a member
of staff, starts a Celery worker and gunicorn on a free loopback port (bench/_server.py), runs
`make postman` against it (newman, pinned in package-lock.json), and stops both. Exits with
newman's status: any failed assertion fails the run.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _server import Services  # noqa: E402

DATABASE_URL = os.environ.get("POSTMAN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yls_load")
REDIS_URL = os.environ.get("POSTMAN_REDIS_URL", "redis://127.0.0.1:6379/11")
STAFF_EMAIL = "postman-staff@example.com"
STAFF_PASSWORD = "postman-staff-password-not-secret"


def main() -> int:
    services = Services(
        database_url=DATABASE_URL,
        redis_url=REDIS_URL,
        cache_prefix="yls-postman",
        DEMO_ADMIN_EMAIL=STAFF_EMAIL,
        DEMO_ADMIN_PASSWORD=STAFF_PASSWORD,
        # Plain HTTP on loopback: the CSRF cookie of the registration must come back.
        SECURE_COOKIES="0",
        MOCK_PAYMENT_SLOW_MS="0",
    )
    services.reset_database()
    services.manage("seed_products", "--file", "sample_products.json")
    services.manage("ensure_demo_admin", "--force")
    worker = services.start_celery_worker(concurrency=1)
    server = services.start_gunicorn(workers=2)
    try:
        return subprocess.run(
            [
                "make",
                "--no-print-directory",
                "postman",
                f"BASE_URL={server.base_url}",
                f"STAFF_EMAIL={STAFF_EMAIL}",
                f"STAFF_PASSWORD={STAFF_PASSWORD}",
            ],
            cwd=ROOT,
        ).returncode
    finally:
        services.stop(server)
        services.stop(worker)


if __name__ == "__main__":
    sys.exit(main())
