from django.conf import settings
from django.core.cache import cache
from django.db import connection
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded"]),
        "db": serializers.ChoiceField(choices=["connected", "notconnected"]),
        "cache": serializers.ChoiceField(choices=["ok", "unavailable"]),
        "broker": serializers.ChoiceField(choices=["ok", "eager", "unavailable"]),
    },
)


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "connected"
    except Exception:
        return "notconnected"


def _cache_state() -> str:
    try:
        cache.set("health:probe", "1", timeout=5)
        return "ok" if cache.get("health:probe") == "1" else "unavailable"
    except Exception:
        return "unavailable"


def _broker_state() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from yourlocalshop.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:
        return "unavailable"


class HealthView(APIView):
    """Liveness and readiness: 200 while the database answers, 503 when it does not."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="health",
        tags=["health"],
        responses={
            200: HealthSerializer,
            503: OpenApiResponse(HealthSerializer, description="The database is unreachable."),
        },
    )
    def get(self, request):
        body = {"db": _database_state(), "cache": _cache_state(), "broker": _broker_state()}
        healthy = body["db"] == "connected"
        degraded = body["cache"] == "unavailable" or body["broker"] == "unavailable"
        body = {"status": "ok" if healthy and not degraded else "degraded", **body}
        return Response(
            body,
            status=200 if healthy else 503,
            headers={"Cache-Control": "no-store"},
        )
