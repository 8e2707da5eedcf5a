"""Health endpoints, each answered within HEALTH_DEADLINE_SECONDS whatever is down.

- `/api/health/live`: the process serves requests (no dependency is asked). A liveness probe that
  fails restarts the pod, so nothing outside the process may fail it: a database outage must not
  restart every web pod.
- `/api/health/ready`: this process can serve the shop: the database answers. A readiness probe
  that fails only takes the pod out of the load balancer.
- `/api/health`: the shop's state for anyone (`ok`, `degraded`, `unavailable`), and its detail
  for staff signed in to the back office and for monitoring with `Authorization: Bearer
  <METRICS_TOKEN>`: database, cache and broker, each checked concurrently with a deadline (an
  unanswered check counts as down), the periodic tasks that are late (`yourlocalshop.beat`),
  what the apps report through `health_detail_register` (the orders app: whether payments
  reconcile with the provider) and the release. The detail names the shop's internals and money
  trouble, which is no business of the public (nor a help to an attacker timing an attack).
"""

import hmac
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

# Probes run in these threads, so a dependency that hangs (a host that drops packets) costs a
# probe its deadline, never more; at most this many checks are ever in flight.
_checks = ThreadPoolExecutor(max_workers=6, thread_name_prefix="health")
NO_STORE = {"Cache-Control": "no-store"}
RETRY_AFTER_SECONDS = 5

DETAIL_ONLY = " Staff and monitoring (the METRICS_TOKEN bearer) only."
HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded", "unavailable"]),
        "db": serializers.ChoiceField(
            choices=["connected", "notconnected"], required=False, help_text=DETAIL_ONLY
        ),
        "cache": serializers.ChoiceField(
            choices=["ok", "unavailable"], required=False, help_text=DETAIL_ONLY
        ),
        "broker": serializers.ChoiceField(
            choices=["ok", "eager", "unavailable"], required=False, help_text=DETAIL_ONLY
        ),
        "version": serializers.CharField(
            required=False, help_text="The shop's release (CHANGELOG.md)." + DETAIL_ONLY
        ),
        "lateTasks": serializers.DictField(
            child=serializers.IntegerField(),
            allow_null=True,
            required=False,
            help_text="Periodic tasks overdue, with the seconds each is late (null: unknown)."
            + DETAIL_ONLY,
        ),
        "payments": serializers.ChoiceField(
            choices=["ok", "mismatch", "unknown"],
            required=False,
            help_text="Whether the last reconciliation with the payment provider found "
            "differences left for a person." + DETAIL_ONLY,
        ),
    },
)
ProbeSerializer = inline_serializer(
    "Probe", {"status": serializers.ChoiceField(choices=["alive", "ready", "unavailable"])}
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
        from yourlocalshop.cache import cache_available

        cache.set("health:probe", "1", timeout=5)
        answered = cache.get("health:probe") == "1"
        return "ok" if answered and cache_available() else "unavailable"
    except Exception:
        return "unavailable"


def _broker_state() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from yourlocalshop.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.HEALTH_DEADLINE_SECONDS)
        return "ok"
    except Exception:
        return "unavailable"


def _late_periodic_tasks() -> dict[str, int] | None:
    from yourlocalshop.beat import periodic_tasks_late

    try:
        return periodic_tasks_late()
    except Exception:
        return None


# name: a callable answering a short JSON-able status; registered by apps in `ready()`, so the
# platform imports no app.
_details: dict[str, Callable[[], object]] = {}


def health_detail_register(name: str, reporter: Callable[[], object]) -> None:
    _details[name] = reporter


def _app_details() -> dict[str, object]:
    reported = {}
    for name, reporter in _details.items():
        try:
            reported[name] = reporter()
        except Exception:
            reported[name] = "unknown"
    return reported


CHECKS = {
    "db": (_database_state, "notconnected"),
    "cache": (_cache_state, "unavailable"),
    "periodicTasks": (_late_periodic_tasks, None),
    "apps": (_app_details, None),  # None: each registered detail is "unknown"
}


def _in_probe_thread(check: Callable[[], object]) -> object:
    """A probe thread keeps no database connection behind: a check may open one without
    meaning to (the cache's first call reads its record of dropped writes, an app's detail reads
    its table), and the pool's threads live as long as the process."""
    try:
        return check()
    finally:
        connections.close_all()


def _checked(names: list[str]) -> dict[str, str]:
    """Each named check's state, or its 'down' state if it did not answer by the deadline."""
    checks = {**CHECKS, "broker": (_broker_state, "unavailable")}
    futures = {name: _checks.submit(_in_probe_thread, checks[name][0]) for name in names}
    wait(futures.values(), timeout=settings.HEALTH_DEADLINE_SECONDS)
    states = {}
    for name, future in futures.items():
        if future.done():
            states[name] = future.result()
        else:
            states[name] = checks[name][1]
            logger.warning("Health check %s did not answer in time", name)
    return states


class _ProbeView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


def _may_see_detail(request) -> bool:
    """Staff signed in (the back office's session) or monitoring with the METRICS_TOKEN bearer."""
    if request.user.is_active and request.user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    offered = request.META.get("HTTP_AUTHORIZATION", "")
    return bool(token) and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())


class HealthView(_ProbeView):
    # Reads the back office's session (a GET: no CSRF check), never refusing a request over it.
    authentication_classes = [SessionAuthentication]

    @extend_schema(
        operation_id="health",
        tags=["health"],
        summary="The shop's state (answers within 100 ms); its detail for staff and monitoring",
        responses={
            200: HealthSerializer,
            503: OpenApiResponse(HealthSerializer, description="The database is unreachable."),
        },
    )
    def get(self, request):
        checked = _checked(["db", "cache", "broker", "periodicTasks", "apps"])
        body = {name: checked[name] for name in ("db", "cache", "broker")}
        body["lateTasks"] = checked["periodicTasks"]
        body.update(checked["apps"] or dict.fromkeys(_details, "unknown"))
        healthy = body["db"] == "connected"
        degraded = (
            body["cache"] == "unavailable"
            or body["broker"] == "unavailable"
            or bool(body["lateTasks"])
            or body.get("payments") == "mismatch"
        )
        status = "unavailable" if not healthy else "degraded" if degraded else "ok"
        headers = NO_STORE if healthy else {**NO_STORE, "Retry-After": str(RETRY_AFTER_SECONDS)}
        answer = {"status": status}
        if _may_see_detail(request):
            answer.update(body, version=settings.VERSION)
        return Response(answer, status=200 if healthy else 503, headers=headers)


class LivenessView(_ProbeView):
    @extend_schema(
        operation_id="health_live",
        tags=["health"],
        summary="Liveness: the process answers (asks no dependency)",
        responses={200: ProbeSerializer},
    )
    def get(self, request):
        return Response({"status": "alive"}, headers=NO_STORE)


class ReadinessView(_ProbeView):
    @extend_schema(
        operation_id="health_ready",
        tags=["health"],
        summary="Readiness: the database answers, so this process can serve the shop",
        responses={
            200: ProbeSerializer,
            503: OpenApiResponse(ProbeSerializer, description="The database is unreachable."),
        },
    )
    def get(self, request):
        if _checked(["db"])["db"] == "connected":
            return Response({"status": "ready"}, headers=NO_STORE)
        return Response(
            {"status": "unavailable"},
            status=503,
            headers={**NO_STORE, "Retry-After": str(RETRY_AFTER_SECONDS)},
        )
