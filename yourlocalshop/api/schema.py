"""OpenAPI post-processing: what every operation answers on error, described once.

Views list the errors particular to them; this hook makes the schema say what the exception
handler (`yourlocalshop.api.problems`) and the shared pagination really send, so a client (and
schemathesis in `.ci/run`) can rely on it:
- every 4xx/5xx body is `application/problem+json` with the ProblemDetails shape;
- a paginated list answers 400 for a bad `page`/`page_size` and 404 for a page past the last;
- an operation with a JSON body answers 400 when the body is not JSON;
- an operation that reads `Authorization: Token` answers 401 for an unknown or revoked token.

Views describe each of their errors with `problem_details("…")`, which names the one
`ProblemDetailsSerializer` (the `ProblemDetails` component) as its body.

The hook also adds OpenAPI links for the ids one response hands to the next call (the cart line a
POST created, the order checkout placed), which clients and schemathesis's stateful phase follow.
"""

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetails"}
PAGINATION_ERRORS = {
    "400": "Invalid `page` or `page_size` (`validation_error`).",
    "404": "The page is past the last one (`not_found`).",
}
BODY_ERRORS = {"400": "The body is not valid JSON (`malformed_request`)."}
# Token authentication runs before any view, even one open to guests.
TOKEN_ERRORS = {
    "401": "The token is unknown or revoked (`authentication_failed`), with "
    "`WWW-Authenticate: Token`.",
}
# (operationId, status) of a response -> {link name: (target operationId, {parameter: expression})}
LINKS = {
    ("cart_item_add", "201"): {
        "UpdateCartLine": ("cart_item_update", {"item_id": "$response.body#/items/0/id"}),
        "RemoveCartLine": ("cart_item_remove", {"item_id": "$response.body#/items/0/id"}),
    },
    ("products_list", "200"): {
        "GetProduct": ("products_retrieve", {"sku": "$response.body#/results/0/sku"}),
    },
    ("orders_create", "201"): {
        "GetOrder": ("orders_retrieve", {"order_id": "$response.body#/orderId"}),
        "GetOrderShipments": ("order_shipments_list", {"order_id": "$response.body#/orderId"}),
        "GetInvoice": ("invoices_retrieve", {"invoice_id": "$response.body#/invoiceId"}),
        "GetInvoicePdf": ("invoices_pdf_retrieve", {"invoice_id": "$response.body#/invoiceId"}),
    },
    ("returns_create", "201"): {
        "GetReturn": ("returns_retrieve", {"return_id": "$response.body#/rmaId"}),
    },
    ("admin_returns_list", "200"): {
        f"{action.title().replace('_', '')}Return": (
            f"admin_returns_{action}",
            {"return_id": "$response.body#/results/0/rmaId"},
        )
        for action in ("retrieve", "approve", "reject", "cancel", "receive", "retry_refund")
    },
    ("packing_tasks_list", "200"): {
        f"{action.title()}PackingTask": (
            f"packing_tasks_{action}",
            {"packing_task_id": "$response.body#/results/0/id"},
        )
        for action in ("retrieve", "start", "packed")
    },
    ("fulfilment_batches_create", "201"): {
        "GetBatch": ("fulfilment_batches_retrieve", {"batch_id": "$response.body#/id"}),
    },
}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


class ProblemDetailsSerializer(serializers.Serializer):
    """RFC 9457 problem details, the body of every API error (application/problem+json)."""

    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    # A nested serializer's errors nest too (`{"shippingAddress": {"city": [...]}}`), so a value is
    # either a list of messages or an object of the same shape.
    errors = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        help_text="Validation errors keyed by (camelCase) field name: a list of messages, or an "
        "object of the same shape for a nested field.",
    )


def problem_details(description: str) -> OpenApiResponse:
    """An error response for `extend_schema(responses=...)`: a problem details body."""
    return OpenApiResponse(ProblemDetailsSerializer, description=description)


# The 401 of an operation that needs a signed-in caller. A signed-in caller who may not do it gets
# 403 (`permission_denied`), which each view describes.
NOT_SIGNED_IN = problem_details(
    "Not signed in (`not_authenticated`), or the token is unknown or revoked "
    "(`authentication_failed`); either way with `WWW-Authenticate: Token`."
)


def _reads_token(operation: dict[str, Any]) -> bool:
    return any("tokenAuth" in requirement for requirement in operation.get("security", []))


def _add_missing(responses: dict[str, Any], errors: dict[str, str]) -> None:
    for status_code, description in errors.items():
        responses.setdefault(status_code, {"description": description})


def _query_parameter_names(operation: dict[str, Any]) -> set[str]:
    return {
        parameter["name"]
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query"
    }


def _operations(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for path_item in result.get("paths", {}).values()
        for method, operation in path_item.items()
        if method in HTTP_METHODS
    ]


def _add_links(operations: list[dict[str, Any]]) -> None:
    by_id = {operation.get("operationId"): operation for operation in operations}
    for (source_id, status_code), links in LINKS.items():
        response = by_id.get(source_id, {}).get("responses", {}).get(status_code)
        if response is None:
            continue
        for name, (target_id, parameters) in links.items():
            if target_id in by_id:
                response.setdefault("links", {})[name] = {
                    "operationId": target_id,
                    "parameters": parameters,
                }


def shared_responses_and_links(
    result: dict[str, Any], generator, request, public
) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    operations = _operations(result)
    _add_links(operations)
    for operation in operations:
        responses = operation.setdefault("responses", {})
        if {"page", "page_size"} <= _query_parameter_names(operation):
            _add_missing(responses, PAGINATION_ERRORS)
        if "requestBody" in operation:
            _add_missing(responses, BODY_ERRORS)
        if _reads_token(operation):
            _add_missing(responses, TOKEN_ERRORS)
        for status_code, response in responses.items():
            if not status_code.isdigit() or int(status_code) < 400:
                continue
            content = response.get("content") or {}
            schema = content.get("application/json", {}).get("schema", PROBLEM_SCHEMA)
            response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": schema}}
    return result
