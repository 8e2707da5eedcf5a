"""Cheap hostile requests get a 4xx, never a 500 (issue: 10 MB bodies, deep JSON, NUL)."""

import json

import pytest
from django.core.exceptions import RequestDataTooBig

from yourlocalshop.api.parsers import MAX_JSON_DEPTH
from yourlocalshop.api.problems import problem_exception_handler

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


def post_json(client, path: str, raw: str | bytes):
    return client.generic("POST", path, raw, content_type="application/json")


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code


def test_a_body_over_the_limit_is_413_problem(api_client, settings):
    body = json.dumps({"sku": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = post_json(api_client, "/api/cart/items", body)

    assert_problem(response, 413, "request_too_large")


def test_a_body_found_too_large_while_reading_is_413_problem():
    # Django raises this from a multipart body, or one whose size it learns only while reading.
    response = problem_exception_handler(RequestDataTooBig("Too large."), {})

    assert response.status_code == 413
    assert response.data["code"] == "request_too_large"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 50_000])
def test_json_nested_too_deep_is_400_problem(api_client, depth):
    body = "[" * depth + "]" * depth

    response = post_json(api_client, "/api/cart/items", body)

    assert_problem(response, 400, "malformed_request")
    assert "nests deeper" in response.json()["detail"]


def test_json_nested_within_the_limit_reaches_validation(api_client):
    nested = {"sku": "A"}
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = {"inner": nested}

    response = post_json(api_client, "/api/cart/items", json.dumps({"sku": nested}))

    assert_problem(response, 400, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "AB\u0000C", "quantity": 1},
        {"sku\u0000": "ABC", "quantity": 1},
        {"sku": "ABC", "quantity": 1, "extra": ["ok", {"deep": "\u0000"}]},
    ],
)
def test_nul_in_any_json_field_is_400_problem(api_client, body):
    response = post_json(api_client, "/api/cart/items", json.dumps(body))

    assert_problem(response, 400, "malformed_request")


@pytest.mark.parametrize(
    "path", ["/api/products/%00", "/api/products/A%00B", "/api/products?search=%00"]
)
def test_nul_in_an_api_address_is_400_problem(api_client, path):
    assert_problem(api_client.get(path), 400, "malformed_request")


@pytest.mark.parametrize("path", ["/products/%00/", "/products/?q=%00"])
def test_nul_in_a_page_address_is_400(client, path):
    response = client.get(path)

    assert response.status_code == 400


def test_nul_in_a_form_field_is_refused_by_the_form(client):
    response = client.post("/account/login/", {"username": "a\u0000b", "password": "x"})

    assert response.status_code in (200, 400)  # the form shows its error; never a 500


@pytest.mark.parametrize("debug", [False, True])
def test_unmatched_api_path_is_a_problem_404_even_in_debug(api_client, settings, debug):
    settings.DEBUG = debug

    for method in ("get", "post", "delete"):
        response = getattr(api_client, method)("/api/no/such/thing")
        assert_problem(response, 404, "not_found")
