"""Optional error tracking with Sentry (sentry-sdk's Django and Celery integrations), on when
SENTRY_DSN is set. No personal data leaves the shop (`send_default_pii` stays off: no
user emails, cookies, request bodies or client addresses); every event carries the request id
the logs and the `X-Request-ID` header show, so an event leads to its log lines."""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from yourlocalshop.logging import request_id_var


def _with_request_id(event, hint):
    request_id = request_id_var.get()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def sentry_init(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float, transport=None
) -> None:
    """Start the SDK (`transport`: where events go instead of the DSN's server; tests only).
    `send_default_pii` keeps its default, off."""
    sentry_sdk.init(
        transport=transport,
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        before_send=_with_request_id,
    )
