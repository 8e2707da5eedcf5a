"""The load benchmark's bookkeeping and the Postman collection's coverage (no server needed)."""

import json
from pathlib import Path

import _metrics
import httpx
import pytest
from _wrk import wrk_parse
from load import Recorder, percentile_ms

COLLECTION = Path(__file__).resolve().parent.parent / "docs" / "postman_collection.json"


def _requests(items):
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


def _tests(item) -> str:
    return "\n".join(
        line
        for event in item.get("event", [])
        if event["listen"] == "test"
        for line in event["script"]["exec"]
    )


def test_recorder_counts_only_ungraceful_answers_as_server_errors():
    recorder = Recorder()
    problem = {"content-type": "application/problem+json"}
    answers = [
        httpx.Response(201, json={}),
        httpx.Response(409, headers=problem, json={"code": "insufficient_stock"}),
        httpx.Response(503, headers={**problem, "Retry-After": "5"}, json={"code": "busy"}),
        httpx.Response(429, headers=problem, json={"code": "rate_limited"}),
        httpx.Response(500, headers=problem, json={"code": "server_error"}),
    ]
    for answer in answers:
        recorder.record("checkout", 0.0, answer)
    recorder.record("checkout", 0.0, None)

    assert recorder.answers["checkout"] == {
        "201": 1,
        "409 insufficient_stock": 1,
        "503 busy": 1,
        "429 rate_limited without Retry-After": 1,
        "500 server_error": 1,
        "transport error": 1,
    }
    assert recorder.server_errors == [
        "checkout 429 rate_limited without Retry-After",
        "checkout 500 server_error",
    ]


def test_percentile_ms_picks_the_nearest_rank():
    values = sorted(index / 1000 for index in range(1, 101))

    assert percentile_ms(values, 0.50) == 51.0
    assert percentile_ms(values, 0.99) == 99.0
    assert percentile_ms([], 0.95) is None


def test_wrk_parse_reads_the_result_line_and_rate():
    output = (
        "Running 10s test\n"
        'RESULT {"requests": 2000, "seconds": 10.0, "p50": 1.5, "p95": 4.0, "p99": 9.0, '
        '"transportErrors": 0, "statuses": {"200": 1990, "503": 10}}\n'
    )

    result = wrk_parse(output)

    assert result["rps"] == 200.0
    assert result["statuses"] == {"200": 1990, "503": 10}


def test_postman_collection_asserts_status_in_every_request():
    collection = json.loads(COLLECTION.read_text(encoding="utf-8"))

    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert {variable["key"] for variable in collection["variable"]} >= {
        "baseUrl",
        "customerToken",
        "staffToken",
    }
    for item in _requests(collection["item"]):
        tests = _tests(item)
        assert "to.have.status(" in tests or "expectProblem(" in tests, item["name"]


def test_postman_collection_covers_the_core_scenarios():
    collection = json.loads(COLLECTION.read_text(encoding="utf-8"))
    requests = list(_requests(collection["item"]))

    def calls(method: str, path: str) -> list:
        return [
            item
            for item in requests
            if item["request"]["method"] == method
            and item["request"]["url"]["raw"].split("?")[0] == "{{baseUrl}}" + path
        ]

    assert calls("GET", "/api/products") and calls("GET", "/api/products/{{sku}}")
    assert calls("POST", "/api/cart/items") and calls("GET", "/api/cart")
    checkouts = calls("POST", "/api/orders")
    bodies = [item["request"]["body"]["raw"] for item in checkouts]
    assert any("tok_success" in body for body in bodies)
    assert any("tok_decline" in body for body in bodies)
    assert any("Idempotent-Replayed" in _tests(item) for item in checkouts)
    assert any("expectProblem(402" in _tests(item) for item in checkouts)
    packed = calls("POST", "/api/admin/packing-tasks/{{packingTaskId}}/packed")
    assert packed and "trackingNumber" in _tests(packed[0])
    assert calls("POST", "/api/returns")
    assert calls("POST", "/api/admin/returns/{{rmaId}}/receive")


EXPOSITION_BEFORE = """
# TYPE shop_http_requests counter
shop_http_requests_total{method="POST",endpoint="api/orders",status="201"} 10.0
# TYPE shop_checkout_outcomes counter
shop_checkout_outcomes_total{outcome="paid"} 10.0
"""

EXPOSITION_AFTER = """
# TYPE shop_http_requests counter
shop_http_requests_total{method="POST",endpoint="api/orders",status="201"} 110.0
shop_http_requests_total{method="POST",endpoint="api/orders",status="402"} 5.0
# TYPE shop_http_request_duration_seconds histogram
shop_http_request_duration_seconds_bucket{method="POST",endpoint="api/orders",le="0.1"} 50.0
shop_http_request_duration_seconds_bucket{method="POST",endpoint="api/orders",le="0.5"} 100.0
shop_http_request_duration_seconds_bucket{method="POST",endpoint="api/orders",le="+Inf"} 105.0
shop_http_request_duration_seconds_count{method="POST",endpoint="api/orders"} 105.0
shop_http_request_duration_seconds_sum{method="POST",endpoint="api/orders"} 21.0
# TYPE shop_checkout_outcomes counter
shop_checkout_outcomes_total{outcome="paid"} 110.0
shop_checkout_outcomes_total{outcome="declined"} 5.0
# TYPE shop_state_transitions counter
shop_state_transitions_total{model="inventory.inventoryreservation",to="expired"} 3.0
# TYPE shop_stock_drift_rows gauge
shop_stock_drift_rows 0.0
# TYPE shop_beat_task_last_run_age_seconds gauge
shop_beat_task_last_run_age_seconds{task="inventory-expire-reservations"} 2.5
"""


def test_metrics_summary_takes_counters_as_their_increase_and_gauges_as_read():
    summary = _metrics.summarise(
        _metrics.parse(EXPOSITION_AFTER), since=_metrics.parse(EXPOSITION_BEFORE), seconds=10
    )

    orders = summary["endpoints"]["POST api/orders"]
    assert orders["requests"] == 105 and orders["perSecond"] == 10.5
    assert orders["statuses"] == {"201": 100, "402": 5} and orders["4xx"] == 5
    assert orders["meanMs"] == 200.0
    assert summary["checkoutOutcomes"] == {"paid": 100, "declined": 5}
    assert summary["reservations"]["expired"] == 3
    assert summary["beatLastRunAgeSeconds"] == {"inventory-expire-reservations": 2.5}
    assert summary["stockDriftRows"] == 0


def test_histogram_quantile_interpolates_within_the_bucket_as_prometheus_does():
    buckets = [(0.1, 50.0), (0.5, 100.0), (float("inf"), 105.0)]

    assert _metrics.histogram_quantile(0.2, buckets) == pytest.approx(0.1 * 21 / 50)
    assert _metrics.histogram_quantile(0.5, buckets) == pytest.approx(0.1 + 0.4 * 2.5 / 50)
    assert _metrics.histogram_quantile(0.9, buckets) == pytest.approx(0.1 + 0.4 * 44.5 / 50)
    assert _metrics.histogram_quantile(0.99, buckets) == 0.5  # in +Inf: the highest bound
    assert _metrics.histogram_quantile(0.95, [(0.1, 0.0), (float("inf"), 0.0)]) is None
