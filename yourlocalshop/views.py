"""Error pages (problem+json under /api/, friendly HTML elsewhere) and uploaded files."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.static import serve as static_serve

from yourlocalshop.api.problems import problem_json_response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _is_api(request):
        return problem_json_response(
            request, status_code=404, code="not_found", detail="No such resource."
        )
    return render(request, "404.html", status=404)


# Exempt from CSRF like every API view (DRF's are): an unsafe request to an unknown API URL is a
# 404, not the CSRF middleware's 403, which the OpenAPI document promises no client.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    return problem_json_response(
        request, status_code=404, code="not_found", detail="No such resource."
    )


def server_error(request):
    if _is_api(request):
        return problem_json_response(
            request,
            status_code=500,
            code="server_error",
            detail="Something went wrong on our side. Please retry.",
        )
    return render(request, "500.html", status=500)


def csrf_failure(request, reason=""):
    if _is_api(request):
        return problem_json_response(
            request,
            status_code=403,
            code="csrf_failed",
            detail="CSRF check failed: send the csrftoken cookie's value in X-CSRFToken.",
        )
    return render(request, "403_csrf.html", {"reason": reason}, status=403)


def media(request, path: str):
    """Uploaded files (product images) from MEDIA_ROOT, when this app serves them (SERVE_MEDIA:
    `make run`); otherwise a web server or object storage does, and this is a 404."""
    if not settings.SERVE_MEDIA:
        raise Http404()
    response = static_serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=86400"
    return response
