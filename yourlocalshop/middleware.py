"""Request id, request limits and security headers, for every response (API, storefront, admin)."""

import logging
import time
import uuid
from urllib.parse import unquote

from django.conf import settings
from django.http import HttpResponse

from yourlocalshop.api.problems import problem_json_response
from yourlocalshop.logging import request_id_var

access_logger = logging.getLogger("yourlocalshop.access")
REQUEST_ID_HEADER = "X-Request-ID"
# Read from META directly: `request.headers` builds a dict of every header on first use.
REQUEST_ID_META_KEY = "HTTP_X_REQUEST_ID"
REQUEST_ID_MAX_LENGTH = 200


def _acceptable_request_id(value: str) -> bool:
    # Printable ASCII only: the value is echoed in a response header and written to the logs, so
    # control characters (header or log injection) and non-ASCII are refused.
    return 0 < len(value) <= REQUEST_ID_MAX_LENGTH and all(" " <= char <= "~" for char in value)


class RequestIdMiddleware:
    """Takes the caller's `X-Request-ID` when it is acceptable (a proxy or client correlating its
    own logs with ours), otherwise makes a UUID4; exposes it as `request.id`, on every log record
    written while the request runs, and in the response's `X-Request-ID` header. With
    `ACCESS_LOG` on, writes one access line per request (method, path, status, duration) through
    the same formatter, so access lines are JSON with the request id too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get(REQUEST_ID_META_KEY, "").strip()
        request.id = offered if _acceptable_request_id(offered) else str(uuid.uuid4())
        token = request_id_var.set(request.id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            # The level check first: building the record and its extra fields costs more than
            # anything else this middleware does.
            if settings.ACCESS_LOG and access_logger.isEnabledFor(logging.INFO):
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                access_logger.info(
                    "%s %s %s %sms",
                    request.method,
                    request.path,
                    response.status_code,
                    duration_ms,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                    },
                )
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request.id
        return response


class ContentSecurityPolicyMiddleware:
    """Sends `Content-Security-Policy` (Django 5.2 has no built-in one). The shop serves only
    same-origin CSS and JS; the API documentation pages load Swagger UI / ReDoc from their CDN
    and get their own, looser policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            policy = (
                settings.CONTENT_SECURITY_POLICY_API_DOCS
                if request.path in settings.CONTENT_SECURITY_POLICY_API_DOCS_PATHS
                else settings.CONTENT_SECURITY_POLICY
            )
            if policy:
                response["Content-Security-Policy"] = policy
        return response


class RequestLimitsMiddleware:
    """Refuses, before any view runs, what no view could answer but with a 500: a body larger
    than DATA_UPLOAD_MAX_MEMORY_SIZE (413) and a NUL character in the path or the query string
    (400; PostgreSQL refuses NUL in text). Under /api/ the answer is problem+json, elsewhere a
    short page. A body sent without Content-Length that turns out too large is answered 413 by
    the API's exception handler (`RequestDataTooBig`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = _request_refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)


def _request_refusal(request) -> HttpResponse | None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        return _refused(
            request,
            status_code=413,
            code="request_too_large",
            detail=f"The request body is larger than {limit} bytes.",
        )
    if "\x00" in request.path or "\x00" in unquote(request.META.get("QUERY_STRING", "")):
        return _refused(
            request,
            status_code=400,
            code="malformed_request",
            detail="The address holds a NUL character.",
        )
    return None


def _refused(request, *, status_code: int, code: str, detail: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_json_response(request, status_code=status_code, code=code, detail=detail)
    return HttpResponse(detail, status=status_code, content_type="text/plain; charset=utf-8")
