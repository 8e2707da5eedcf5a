"""What Prometheus would read from the shop under load: `/metrics` of the web server (with the
bearer token) and of the Celery worker (its METRICS_WORKER_PORT), added up per series, and the
summary an operator looks at (docs/operations.md lists the metrics).

    first = scrape_all([(f"{base_url}/metrics", token), (worker_url, None)])
    ...  # the load
    summary = summarise(scrape_all(...), since=first, seconds=elapsed)
"""

import math
import urllib.request
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset], float]

TRANSITIONS = "shop_state_transitions_total"
RESERVATION = "inventory.inventoryreservation"


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(url: str, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as answer:
        return parse(answer.read().decode())


def scrape_all(targets: list[tuple[str, str | None]]) -> Samples:
    """Every target's samples, a series present in several added up: the web server's and the
    worker's counters are two halves of one shop (the gauges read at scrape time come from the
    web server alone)."""
    total: Samples = defaultdict(float)
    for url, token in targets:
        for key, value in scrape(url, token).items():
            total[key] += value
    return dict(total)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples: Samples, name: str) -> list[tuple[dict[str, str], float]]:
    return [(dict(labels), amount) for (key, labels), amount in samples.items() if key == name]


def histogram_quantile(quantile: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus's `histogram_quantile` of cumulative (upper bound, count) buckets: linear
    within the bucket the rank falls in; the highest finite bound when it falls in +Inf."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = quantile * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for upper_bound, count in buckets:
        if count >= rank:
            if math.isinf(upper_bound):
                return lower_bound
            if count == lower_count:
                return upper_bound
            return lower_bound + (upper_bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = upper_bound, count
    return lower_bound


def _delta(samples: Samples, since: Samples) -> Samples:
    return {key: amount - since.get(key, 0.0) for key, amount in samples.items()}


def _histogram(samples: Samples, name: str, **labels: str) -> dict:
    count = value(samples, f"{name}_count", **labels)
    buckets = [
        (float(bucket_labels["le"]), amount)
        for bucket_labels, amount in series(samples, f"{name}_bucket")
        if {key: bucket_labels.get(key) for key in labels} == labels
    ]
    p95 = histogram_quantile(0.95, buckets)
    return {
        "count": count,
        "meanMs": value(samples, f"{name}_sum", **labels) * 1000 / count if count else None,
        "p95Ms": p95 * 1000 if p95 is not None else None,
    }


def summarise(samples: Samples, *, since: Samples, seconds: float) -> dict:
    """The figures of the issue's list: per endpoint the request rate, latency and errors; the
    checkout's outcomes; the payment provider's latency and errors; reservation holds and
    expiries; the outbox's backlog and oldest event; the Celery queue; stock drift; each periodic
    task's last run. Counters are taken as their increase since `since` (a scrape as the load
    began), over `seconds`; gauges as read now."""
    moved = _delta(samples, since)
    endpoints: dict[tuple[str, str], dict] = defaultdict(
        lambda: {"requests": 0.0, "4xx": 0.0, "5xx": 0.0, "statuses": {}}
    )
    for labels, amount in sorted(
        series(moved, "shop_http_requests_total"), key=lambda item: item[0]["status"]
    ):
        if not amount:
            continue
        figures = endpoints[labels["method"], labels["endpoint"]]
        figures["requests"] += amount
        figures["statuses"][labels["status"]] = amount
        if labels["status"][0] in "45":
            figures[labels["status"][0] + "xx"] += amount
    for (method, endpoint), figures in endpoints.items():
        figures["perSecond"] = figures["requests"] / seconds
        figures |= _histogram(
            moved, "shop_http_request_duration_seconds", method=method, endpoint=endpoint
        )
        del figures["count"]
    gateway = {
        labels["operation"]: _histogram(
            moved, "shop_payment_gateway_duration_seconds", operation=labels["operation"]
        )
        for labels, amount in series(moved, "shop_payment_gateway_duration_seconds_count")
        if amount
    }
    state = state_gauges(samples)
    return {
        "seconds": seconds,
        "endpoints": {
            f"{method} {endpoint}": figures
            for (method, endpoint), figures in sorted(
                endpoints.items(), key=lambda item: -item[1]["requests"]
            )
        },
        "checkoutOutcomes": {
            labels["outcome"]: amount
            for labels, amount in series(moved, "shop_checkout_outcomes_total")
        },
        "paymentGateway": gateway,
        "paymentGatewayErrors": {
            f"{labels['operation']} {labels['kind']}": amount
            for labels, amount in series(moved, "shop_payment_gateway_errors_total")
            if amount
        },
        "transitions": {
            f"{labels['model']} {labels['to']}": amount
            for labels, amount in sorted(
                series(moved, TRANSITIONS), key=lambda item: sorted(item[0].items())
            )
            if amount
        },
        **state,
        "reservations": {
            **state["reservations"],
            "expired": value(moved, TRANSITIONS, model=RESERVATION, to="expired"),
            "committed": value(moved, TRANSITIONS, model=RESERVATION, to="committed"),
            "released": value(moved, TRANSITIONS, model=RESERVATION, to="released"),
        },
    }


def state_gauges(samples: Samples) -> dict:
    """The gauges read at scrape time: the shop's state now."""
    return {
        "reservations": {
            "live": value(samples, "shop_reservations_live"),
            "unitsHeld": value(samples, "shop_stock_units_held"),
        },
        "outbox": {
            "undelivered": value(samples, "shop_outbox_undelivered_events"),
            "oldestUndeliveredAgeSeconds": value(
                samples, "shop_outbox_oldest_undelivered_age_seconds"
            ),
        },
        "celeryQueueLength": value(samples, "shop_celery_queue_length"),
        "stockDriftRows": value(samples, "shop_stock_drift_rows"),
        "beatLastRunAgeSeconds": {
            labels["task"]: amount
            for labels, amount in sorted(
                series(samples, "shop_beat_task_last_run_age_seconds"),
                key=lambda item: item[0]["task"],
            )
        },
    }


def _ms(figure: float | None) -> str:
    return f"{figure:7.1f}" if figure is not None else "      -"


def print_summary(summary: dict) -> None:
    print(f"  requests per endpoint over {summary['seconds']:.0f} s (server side):")
    for name, figures in summary["endpoints"].items():
        print(
            f"    {name:<58} {figures['requests']:7.0f} = {figures['perSecond']:7.1f}/s  "
            f"mean {_ms(figures['meanMs'])} ms  p95 ~{_ms(figures['p95Ms'])} ms  "
            f"4xx {figures['4xx']:.0f}  5xx {figures['5xx']:.0f}"
        )
    outcomes = ", ".join(
        f"{name} {count:.0f}" for name, count in summary["checkoutOutcomes"].items()
    )
    print(f"  checkout outcomes: {outcomes}")
    for operation, figures in summary["paymentGateway"].items():
        print(
            f"  payment gateway {operation}: {figures['count']:.0f} calls, mean "
            f"{_ms(figures['meanMs']).strip()} ms, p95 ~{_ms(figures['p95Ms']).strip()} ms"
        )
    errors = ", ".join(
        f"{name} {count:.0f}" for name, count in summary["paymentGatewayErrors"].items()
    )
    print(f"  payment gateway errors: {errors or 'none'}")
    reservations = summary["reservations"]
    print(
        f"  reservations: {reservations['live']:.0f} live holding {reservations['unitsHeld']:.0f} "
        f"units; {reservations['committed']:.0f} committed, {reservations['expired']:.0f} "
        f"expired, {reservations['released']:.0f} released"
    )
    outbox = summary["outbox"]
    print(
        f"  outbox: {outbox['undelivered']:.0f} undelivered, oldest "
        f"{outbox['oldestUndeliveredAgeSeconds']:.1f} s; Celery queue "
        f"{summary['celeryQueueLength']:.0f}; stock drift rows {summary['stockDriftRows']:.0f}"
    )
    ages = ", ".join(f"{task} {age:.1f}" for task, age in summary["beatLastRunAgeSeconds"].items())
    print(f"  beat, seconds since each periodic task last ran: {ages or 'none ran'}")
