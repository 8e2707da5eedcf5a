"""The committed OpenAPI document (docs/openapi.json) is the schema the code generates."""

import json
from io import StringIO

from django.conf import settings
from django.core.management import call_command

COMMITTED_SCHEMA = settings.BASE_DIR / "docs" / "openapi.json"


def _generated_schema() -> dict:
    output = StringIO()
    call_command(
        "spectacular", "--format", "openapi-json", "--validate", "--fail-on-warn", stdout=output
    )
    return json.loads(output.getvalue())


def test_openapi_document_is_current():
    committed = json.loads(COMMITTED_SCHEMA.read_text(encoding="utf-8"))
    generated = _generated_schema()

    stale_paths = sorted(
        path
        for path in committed["paths"].keys() | generated["paths"].keys()
        if committed["paths"].get(path) != generated["paths"].get(path)
    )
    assert committed == generated, (
        "docs/openapi.json is stale: run `make openapi` and commit it. Paths that differ: "
        f"{', '.join(stale_paths) or 'none (components or info differ)'}"
    )


def test_openapi_errors_are_problem_details_and_ids_are_linked():
    schema = _generated_schema()

    error_content_types = {
        content_type
        for path_item in schema["paths"].values()
        for operation in path_item.values()
        for status_code, response in operation["responses"].items()
        if int(status_code) >= 400
        for content_type in response.get("content", {})
    }
    paginated = schema["paths"]["/api/orders"]["get"]["responses"]
    cart_line_links = schema["paths"]["/api/cart/items"]["post"]["responses"]["201"]["links"]

    assert error_content_types == {"application/problem+json"}
    assert {"400", "404"} <= paginated.keys()
    # The cart's own id is not a line id: the link says which id the next call takes.
    assert cart_line_links["UpdateCartLine"] == {
        "operationId": "cart_item_update",
        "parameters": {"item_id": "$response.body#/items/0/id"},
    }
