"""RFC 9457 problem details for every API error.

One place turns domain errors, Django's `ValidationError`/`Http404`/`PermissionDenied` and DRF's
own exceptions into `application/problem+json` with a stable `code`. Unexpected errors are logged
and answered 500 problem+json, never an HTML page.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from yourlocalshop.errors import DomainError

logger = logging.getLogger("yourlocalshop.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
DATABASE_RETRY_AFTER_SECONDS = 5
PROBLEM_TYPE_BASE = "https://yourlocalshop.local/problems/"

# DRF's own exception codes mapped to our stable codes.
DRF_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "validation_error",
}

TITLES = {
    400: "Bad request.",
    401: "Authentication required.",
    402: "Payment required.",
    403: "Permission denied.",
    404: "Not found.",
    405: "Method not allowed.",
    406: "Not acceptable.",
    409: "Conflict.",
    413: "Content too large.",
    415: "Unsupported media type.",
    422: "Unprocessable content.",
    429: "Too many requests.",
    500: "Internal server error.",
    503: "Service unavailable.",
}


def problem(
    *, status_code: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title or TITLES.get(status_code, "Error."),
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=body["status"], headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_json_response(request, *, status_code: int, code: str, detail: str) -> JsonResponse:
    """For plain Django views (404/500/CSRF handlers) outside DRF."""
    return JsonResponse(
        problem(status_code=status_code, code=code, detail=detail),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def _flatten_detail(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _flatten_detail(detail[0])
    if isinstance(detail, dict) and detail:
        return _flatten_detail(next(iter(detail.values())))
    return str(detail)


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    set_rollback()
    if isinstance(exc, OperationalError | InterfaceError):
        # The database is unreachable, restarting, or gave up on a lock: nothing was decided,
        # and the same request may succeed in a moment.
        request = context.get("request")
        logger.warning(
            "Database unavailable",
            exc_info=exc,
            extra={"path": getattr(request, "path", None)},
        )
        return problem_response(
            problem(
                status_code=503,
                code="service_unavailable",
                detail="The shop cannot reach its database right now; please retry shortly.",
            ),
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, RequestDataTooBig):  # a body without Content-Length, found while reading
        return problem_response(problem(status_code=413, code="request_too_large", detail=str(exc)))
    if isinstance(exc, DomainError):
        body = problem(
            status_code=exc.status, code=exc.code, detail=exc.detail, title=exc.title, **exc.extra
        )
        return problem_response(body, headers=exc.headers or None)

    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, exceptions.ValidationError):
            errors = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
            body = problem(
                status_code=exc.status_code,
                code=getattr(exc, "problem_code", None) or "validation_error",
                detail=_flatten_detail(exc.detail),
                errors=errors,
            )
        else:
            code = next(
                (c for cls, c in DRF_CODES.items() if isinstance(exc, cls)),
                exc.default_code if isinstance(exc.default_code, str) else "error",
            )
            body = problem(
                status_code=exc.status_code, code=code, detail=_flatten_detail(exc.detail)
            )
        # APIView.handle_exception sets `auth_header` on a 401 (the first authentication class's
        # challenge), and turns the exception into a 403 when that class has none.
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return problem_response(body, headers=headers or None)

    request = context.get("request")
    logger.exception(
        "Unhandled API error",
        extra={"path": getattr(request, "path", None), "request_id": getattr(request, "id", None)},
    )
    return problem_response(
        problem(
            status_code=500,
            code="server_error",
            detail="Something went wrong on our side. Nothing was charged twice; please retry.",
        )
    )
