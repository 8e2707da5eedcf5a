from datetime import timedelta

import pytest
from django.conf import settings

from returns import services, tasks
from returns.enums import ReturnStatus
from returns.tests.factories import customer_order, return_for

pytestmark = pytest.mark.django_db


def test_resume_refunds_is_scheduled_periodically():
    entry = settings.CELERY_BEAT_SCHEDULE["returns-resume-refunds"]

    assert entry["task"] == "returns.resume_refunds"
    assert entry["schedule"] == 300.0


def test_returns_resume_refunds_task_refunds_a_return_stopped_after_receipt(monkeypatch):
    return_request = services.return_approve(
        return_request=return_for(customer_order(), 1), user=None
    )
    monkeypatch.setattr(services, "_refund_and_credit", lambda **kwargs: kwargs["return_request"])
    services.return_receive(
        return_request=return_request,
        conditions={line.pk: "resellable" for line in return_request.lines.all()},
        user=None,
    )
    monkeypatch.undo()
    monkeypatch.setattr(tasks, "RESUME_REFUNDS_OLDER_THAN", timedelta(0))

    # Run in-process whatever the broker: this is the task body a worker would run.
    refunded = tasks.returns_resume_refunds_task.apply().get()

    assert refunded == [return_request.rma_number]
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REFUNDED
