"""The load benchmark's bookkeeping and the Postman collection's coverage (no server needed)."""

import json
from pathlib import Path

import httpx
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
