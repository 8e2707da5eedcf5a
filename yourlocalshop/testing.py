"""Test helpers shared by every app's tests (imported by tests only)."""

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection


def run_concurrently(
    task: Callable[[Any], Any],
    arguments: Iterable[Any],
    *,
    workers: int | None = None,
    reraise: bool = False,
    timeout_seconds: float = 60,
) -> list:
    """Call `task(argument)` for every argument on `workers` threads (one per argument unless
    given) released together by a barrier, so the calls really contend on PostgreSQL.

    Each thread works on its own database connection and closes it when done, so no connection
    outlives the test. Returns, in argument order, what each call returned or the exception it
    raised; with `reraise` the first such exception is raised instead. Raises `TimeoutError` when
    a thread is still running after `timeout_seconds` (a deadlock must fail, not hang).
    """
    pending = list(enumerate(arguments))
    outcomes: list = [None] * len(pending)
    workers = workers or len(pending)
    barrier = threading.Barrier(workers)
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            while True:
                with lock:
                    if not pending:
                        return
                    index, argument = pending.pop()
                try:
                    outcomes[index] = task(argument)
                except Exception as error:  # every outcome is the test's to check
                    outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_seconds
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"Concurrent calls still running after {timeout_seconds}s.")
    if reraise:
        error = next((outcome for outcome in outcomes if isinstance(outcome, Exception)), None)
        if error is not None:
            raise error
    return outcomes


def scrape_metrics(client, settings) -> dict[tuple[str, frozenset], float]:
    """GET /metrics as Prometheus would (with the bearer token) and return every sample as
    {(name, frozenset(labels.items())): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    settings.METRICS_TOKEN = "test-metrics-token"
    response = client.get("/metrics", headers={"Authorization": "Bearer test-metrics-token"})
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def metric(samples: dict, name: str, **labels: str) -> float:
    """One sample of `scrape_metrics`; 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)
