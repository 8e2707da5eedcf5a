"""OpenAPI post-processing: what every operation answers on error, described once.

Views list the errors particular to them; this hook makes the schema say what the exception
handler (`yourlocalshop.api.problems`) and the shared pagination really send, so a client (and
schemathesis in `.ci/run`) can rely on it:
- every 4xx/5xx body is `application/problem+json` with the ProblemDetails shape;
- a paginated list answers 400 for a bad `page`/`page_size` and 404 for a page past the last;
- an operation with a JSON body answers 400 when the body is not JSON.
"""

from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetails"}
PAGINATION_ERRORS = {
    "400": "Invalid `page` or `page_size` (`validation_error`).",
    "404": "The page is past the last one (`not_found`).",
}
BODY_ERRORS = {"400": "The body is not valid JSON (`malformed_request`)."}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def _add_missing(responses: dict[str, Any], errors: dict[str, str]) -> None:
    for status_code, description in errors.items():
        responses.setdefault(status_code, {"description": description})


def _query_parameter_names(operation: dict[str, Any]) -> set[str]:
    return {
        parameter["name"]
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query"
    }


def problem_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry."""
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if {"page", "page_size"} <= _query_parameter_names(operation):
                _add_missing(responses, PAGINATION_ERRORS)
            if "requestBody" in operation:
                _add_missing(responses, BODY_ERRORS)
            for status_code, response in responses.items():
                if not status_code.isdigit() or int(status_code) < 400:
                    continue
                content = response.get("content") or {}
                schema = content.get("application/json", {}).get("schema", PROBLEM_SCHEMA)
                response["content"] = {PROBLEM_CONTENT_TYPE: {"schema": schema}}
    return result
