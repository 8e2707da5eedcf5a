"""Optional Sentry: an error reaches it with the request id and without personal data."""

import json

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from yourlocalshop.api.health import HealthView
from yourlocalshop.sentry import sentry_init

pytestmark = pytest.mark.django_db


class CapturedEvents(Transport):
    events: list = []

    def capture_envelope(self, envelope):
        CapturedEvents.events += [
            item.payload.json for item in envelope.items if item.type == "event"
        ]


def test_an_error_reaches_sentry_with_the_request_id_and_no_personal_data(
    client, customer, monkeypatch
):
    CapturedEvents.events = []

    def broken(view, request):
        raise RuntimeError("the health check broke")

    monkeypatch.setattr(HealthView, "get", broken)
    client.force_login(customer)
    client.raise_request_exception = False
    sentry_init(
        dsn="https://public@sentry.invalid/1",
        environment="test",
        release="yourlocalshop@test",
        traces_sample_rate=0.0,
        transport=CapturedEvents,
    )
    try:
        response = client.get(
            "/api/health",
            headers={"X-Request-ID": "req-sentry-1", "X-Forwarded-For": "203.0.113.9"},
        )
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: nothing is sent by the tests that follow

    assert response.status_code == 500
    assert CapturedEvents.events, "no event reached the transport"
    event = CapturedEvents.events[0]
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert event["release"] == "yourlocalshop@test"
    assert "the health check broke" in json.dumps(event["exception"])
    sent = json.dumps(CapturedEvents.events)
    assert customer.email not in sent
    assert "sessionid" not in sent and "csrftoken" not in sent
    assert "203.0.113.9" not in sent
