"""What the benchmarks (and the Postman CI step) share: a throw-away PostgreSQL database, the
environment of a production-shaped process, gunicorn, a Celery worker and beat they start and
stop.

    from _server import Services
    services = Services(database_url=..., redis_url=..., cache_prefix="yls-x")
    services.reset_database()
    server = services.start_gunicorn(workers=2)
    ...
    services.stop(server)

Also runnable on its own, to serve a fresh database on a loopback port until interrupted:

    .venv/bin/python bench/_server.py --database-url postgres://…/yls_x --redis-url redis://…/9
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
SECRET_KEY = "benchmark-only-secret-key-not-for-production-use-0123456789"


def free_port() -> int:
    # Another benchmark may be serving on a fixed port; measuring it instead would be silent.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Services:
    """One throw-away database + Redis db, and the processes started against them."""

    def __init__(self, *, database_url: str, redis_url: str, cache_prefix: str, **settings: str):
        self.database_url = database_url
        self.redis_url = redis_url
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": cache_prefix,
            "CONN_MAX_AGE": "600",  # persistent connections, as in production
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "yourlocalshop.settings",
            # E-mails (order shipped, return updates) stay in memory instead of flooding the log.
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            **settings,
        }
        # A developer's .env must not point the benchmark at their own database.
        self.env.pop("CELERY_BROKER_URL", None)
        self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)

    def manage(self, *args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def create_database(self) -> None:
        """Create the database when missing (connecting to the server's `postgres` db)."""
        import psycopg

        server_url, name = self.database_url.rsplit("/", 1)
        with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if not connection.execute(query, [name]).fetchone():
                connection.execute(f'CREATE DATABASE "{name}"')

    def reset_database(self) -> None:
        """Drop and migrate the database, and empty the Redis db (cache and broker queue)."""
        self.create_database()
        self.manage("prepare_database", "--reset", "--verbosity", "0")
        self.reset_cache()

    def reset_cache(self) -> None:
        """Empty the Redis db (cache and broker queue), as after a cache flush or a new Redis."""
        subprocess.run(
            [PYTHON, "-c", "import django; django.setup(); "
             "from django.core.cache import cache; cache.clear()"],
            cwd=ROOT, env=self.env, check=True,
        )  # fmt: skip

    def setup_django(self) -> None:
        """Configure Django in this process against the same database, to seed and to check."""
        os.environ.update(self.env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()

    def process_env(self, **overrides: str) -> dict[str, str]:
        """The environment of one server process: `overrides` on top, and an empty value
        removes a variable (PROMETHEUS_MULTIPROC_DIR="" for a process that keeps its own
        counters)."""
        env = {**self.env, **overrides}
        for name, value in overrides.items():
            if not value:
                del env[name]
        return env

    def start_gunicorn(
        self,
        *,
        workers: int,
        port: int | None = None,
        backlog: int = 2048,
        log=None,
        metrics_dir: str = "",
    ) -> "Server":
        """gunicorn on loopback, once /api/health answers; its output goes to `log` (a file)
        when given. With `metrics_dir`, its workers count in Prometheus's multiprocess mode
        there, as in the Docker image, and any of them answers /metrics for all."""
        port = port or free_port()
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "yourlocalshop.wsgi:application",
             "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--backlog", str(backlog), "--log-level", "warning"],
            cwd=ROOT, env=self.process_env(PROMETHEUS_MULTIPROC_DIR=metrics_dir),
            start_new_session=True, stdout=log, stderr=log,
        )  # fmt: skip
        server = Server(process=process, base_url=f"http://127.0.0.1:{port}")
        for _ in range(150):
            if process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {process.returncode} (port {port} taken?)")
            try:
                # Readiness (the database answers), not the detail probe: a slow cache or broker
                # check on a loaded machine answers the detail 503 while the shop can serve.
                ready_url = f"{server.base_url}/api/health/ready"
                with urllib.request.urlopen(ready_url, timeout=1) as answer:
                    if answer.status == 200:
                        return server
            except OSError:
                time.sleep(0.2)
        self.stop(process)
        raise SystemExit("gunicorn did not become healthy")

    def start_celery_worker(
        self, *, concurrency: int, log=None, metrics_dir: str = "", metrics_port: int = 0
    ) -> subprocess.Popen:
        """A real worker on the Redis broker: outbox deliveries, courier retries, and what beat
        sends. With `metrics_dir` and `metrics_port` its pool processes count there and it
        serves their sum on that port (`yourlocalshop.celery`), as in production."""
        return subprocess.Popen(
            [str(BIN / "celery"), "--app", "yourlocalshop", "worker",
             "--concurrency", str(concurrency), "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=self.process_env(
                PROMETHEUS_MULTIPROC_DIR=metrics_dir, METRICS_WORKER_PORT=str(metrics_port)
            ),
            start_new_session=True, stdout=log, stderr=log,
        )  # fmt: skip

    def start_celery_beat(self, *, log=None) -> subprocess.Popen:
        """Celery beat with the shop's database scheduler (settings.CELERY_BEAT_SCHEDULE):
        reservation expiry, outbox sweep, abandoned checkouts, packing-task heal. Exactly one."""
        return subprocess.Popen(
            [str(BIN / "celery"), "--app", "yourlocalshop", "beat", "--loglevel", "WARNING"],
            cwd=ROOT, env=self.process_env(PROMETHEUS_MULTIPROC_DIR=""),
            start_new_session=True, stdout=log, stderr=log,
        )  # fmt: skip

    @staticmethod
    def stop(process: "subprocess.Popen | Server", timeout: float = 30) -> None:
        """SIGTERM the process group (gunicorn finishes the requests in flight), then SIGKILL."""
        process = process.process if isinstance(process, Server) else process
        if process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Server:
    def __init__(self, *, process: subprocess.Popen, base_url: str):
        self.process = process
        self.base_url = base_url


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fresh database with gunicorn + worker.")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", action="store_true", help="seed sample_products.json")
    options = parser.parse_args()
    services = Services(
        database_url=options.database_url,
        redis_url=options.redis_url,
        cache_prefix="yls-serve",
        # Plain HTTP on loopback: browser-style clients (scripts/) must get their CSRF cookie back.
        SECURE_COOKIES="0",
    )
    services.reset_database()
    if options.seed:
        services.manage("seed_products", "--file", "sample_products.json")
    worker = services.start_celery_worker(concurrency=1)
    server = services.start_gunicorn(workers=options.workers, port=options.port or None)
    print(f"serving {server.base_url} (Ctrl-C stops)", flush=True)
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    try:
        signal.sigwait(stopping)
    finally:
        services.stop(server)
        services.stop(worker)


if __name__ == "__main__":
    main()
