"""Prometheus metrics of the shop (prometheus-client; docs/operations.md lists them all).

Two kinds:
- events, counted where they happen: requests per endpoint (`MetricsMiddleware`), checkout
  outcomes, payment gateway calls, state transitions (orders, reservations, ...). Under gunicorn
  or a Celery worker with several processes, `PROMETHEUS_MULTIPROC_DIR` makes every process write
  its values to files there, which a scrape adds up (prometheus-client's multiprocess mode).
- the shop's state, read at scrape time from the database and the broker (outbox backlog, beat
  lag, Celery queue, stock drift, live reservations): one process reads it for all, so it never
  depends on which process counted what. Apps add theirs with `register_state_gauge` from their
  `AppConfig.ready()`, as they add outbox handlers; the platform imports no app.

`/metrics` answers only a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`; without
METRICS_TOKEN it does not exist (404). A Celery worker serves its own counters on
METRICS_WORKER_PORT (`yourlocalshop.celery`).
"""

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.http import Http404, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # The first value below is written there at once: a process started without its server's
    # start-up hook (a management command, beat) needs the directory too.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# Up to a browsing page's and a checkout's slowest expected answers; the payment call's own, from
# a provider in the same region (or the mock: a few ms, which a first bucket of 50 ms reported as
# a p95 of 47.5 ms) to one past PAYMENT_TIMEOUT_SECONDS.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GATEWAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNRESOLVED_ENDPOINT = "<unresolved>"  # a 404 outside every URL pattern: one label, not one per URL

HTTP_REQUESTS = Counter(
    "shop_http_requests",
    "HTTP requests answered, by method, endpoint (URL pattern) and status code.",
    ["method", "endpoint", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "shop_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and endpoint (URL pattern).",
    ["method", "endpoint"],
    buckets=REQUEST_BUCKETS,
)
CHECKOUT_OUTCOMES = Counter(
    "shop_checkout_outcomes",
    "Checkout executions by outcome: paid; declined (card refused, nothing charged); refunded "
    "(charged, then the order could not complete and the charge was refunded); failed (payment "
    "provider unavailable or an unexpected error); refused (before any charge: stock, cart, "
    "price, address).",
    ["outcome"],
)
CHECKOUT_OUTCOME_NAMES = ("paid", "declined", "refunded", "failed", "refused")
PAYMENT_GATEWAY_SECONDS = Histogram(
    "shop_payment_gateway_duration_seconds",
    "Time of one call to the payment provider, by operation (charge, refund, find_charge).",
    ["operation"],
    buckets=GATEWAY_BUCKETS,
)
PAYMENT_GATEWAY_ERRORS = Counter(
    "shop_payment_gateway_errors",
    "Payment provider calls that did not succeed, by operation and kind (declined, transient, "
    "invalid_response, other).",
    ["operation", "kind"],
)
STATE_TRANSITIONS = Counter(
    "shop_state_transitions",
    "Committed status changes by model and new status (an order paid or refunded, a "
    "reservation expired or committed, a packing task done, ...).",
    ["model", "to"],
)
for _outcome in CHECKOUT_OUTCOME_NAMES:  # every outcome shows from the first scrape, at 0
    CHECKOUT_OUTCOMES.labels(_outcome)


def record_checkout_outcome(outcome: str) -> None:
    CHECKOUT_OUTCOMES.labels(outcome).inc()


def record_transition(*, model: str, to: str, count: int = 1) -> None:
    STATE_TRANSITIONS.labels(model, to).inc(count)


def record_payment_gateway_call(*, operation: str, seconds: float) -> None:
    PAYMENT_GATEWAY_SECONDS.labels(operation).observe(seconds)


def record_payment_gateway_error(*, operation: str, kind: str) -> None:
    PAYMENT_GATEWAY_ERRORS.labels(operation, kind).inc()


class MetricsMiddleware:
    """Counts and times every request by its URL pattern (`api/products/<str:sku>`), never by
    its raw path, so the number of series stays that of the URL patterns."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        endpoint = match.route if match is not None else UNRESOLVED_ENDPOINT
        HTTP_REQUEST_SECONDS.labels(request.method, endpoint).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response


# --- The shop's state, read at scrape time ------------------------------------------------------


@dataclass(frozen=True)
class StateGauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    # Returns {label values: value}; () as the key of a gauge without labels.
    read: Callable[[], dict[tuple[str, ...], float]]


_state_gauges: dict[str, StateGauge] = {}


def register_state_gauge(
    name: str,
    documentation: str,
    read: Callable[[], dict[tuple[str, ...], float] | float],
    *,
    labels: Iterable[str] = (),
) -> None:
    """Add a gauge read at every scrape; `read()` returns a number, or {label values: number}.
    Registering a name again replaces it."""

    def read_series() -> dict[tuple[str, ...], float]:
        value = read()
        return value if isinstance(value, dict) else {(): value}

    _state_gauges[name] = StateGauge(name, documentation, tuple(labels), read_series)


class ShopStateCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        for gauge in _state_gauges.values():
            try:
                series = gauge.read()
            except Exception:
                # One unreadable source (Redis down) must not cost the scrape every other metric;
                # the missing series is what the alert on `absent()` sees.
                logger.exception("Metric %s could not be read", gauge.name)
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels)
            for label_values, value in series.items():
                family.add_metric(list(label_values), value)
            yield family


def collected_registry() -> CollectorRegistry:
    """What a scrape reports: every process's counters (multiprocess mode) or this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_text(*, with_state: bool) -> bytes:
    text = generate_latest(collected_registry())
    if with_state:
        state = CollectorRegistry()
        state.register(ShopStateCollector())
        text += generate_latest(state)
    return text


def metrics_view(request):
    """GET /metrics for Prometheus, with the bearer token of METRICS_TOKEN."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set METRICS_TOKEN.")
    offered = request.META.get("HTTP_AUTHORIZATION", "")
    if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("Bearer token required.", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(metrics_text(with_state=True), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
