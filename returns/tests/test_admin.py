import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from accounts.tests.factories import UserFactory
from inventory.models import StockItem
from orders.models import Refund
from returns import services
from returns.enums import ReturnStatus
from returns.errors import ReturnRefundFailed
from returns.tests.factories import customer_order, return_for

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:returns_returnrequest_changelist")


@pytest.fixture
def desk(client, returns_staff):
    client.force_login(returns_staff)
    return client


def run_action(client, action, *return_requests, **extra):
    return client.post(
        CHANGELIST,
        {"action": action, ACTION_CHECKBOX_NAME: [str(r.pk) for r in return_requests], **extra},
        follow=True,
    )


def test_returns_staff_see_the_queue_with_refund_problems(desk, refunds_down):
    failed = return_for(customer_order(), 1)
    with pytest.raises(ReturnRefundFailed):
        services.return_receive(
            return_request=services.return_approve(return_request=failed, user=None),
            conditions={line.pk: "resellable" for line in failed.lines.all()},
            user=None,
        )

    page = desk.get(CHANGELIST)
    detail = desk.get(reverse("admin:returns_returnrequest_change", args=[failed.pk]))

    assert page.status_code == 200
    assert failed.rma_number in page.text
    assert "payment_unavailable" in page.text
    assert detail.status_code == 200
    assert "payment_unavailable" in detail.text


def test_admin_approve_action_approves_and_reports_refusals(desk, returns_staff):
    requested = return_for(customer_order(), 1)
    rejected = return_for(customer_order(), 1)
    services.return_reject(return_request=rejected, user=None, reason="Worn.")

    response = run_action(desk, "approve_returns", requested, rejected)

    requested.refresh_from_db()
    assert requested.status == ReturnStatus.APPROVED
    assert requested.decided_by == returns_staff
    assert "1 return(s) approved." in response.text
    assert f"{rejected.rma_number}: Return cannot go from" in response.text


def test_admin_reject_action_asks_for_a_reason_first(desk):
    return_request = return_for(customer_order(), 1)

    asked = run_action(desk, "reject_returns", return_request)
    return_request.refresh_from_db()
    assert asked.status_code == 200
    assert "The customer receives the reason by email" in asked.text
    assert return_request.status == ReturnStatus.REQUESTED

    run_action(desk, "reject_returns", return_request, apply="1", reason="Opened software.")

    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REJECTED
    assert return_request.rejection_reason == "Opened software."


def test_admin_receive_page_restocks_refunds_and_credits(desk):
    order = customer_order()
    first, second = order.lines.order_by("pk")
    return_request = return_for(order, 1, 1)
    services.return_approve(return_request=return_request, user=None)
    lines = {line.sku: line.pk for line in return_request.lines.all()}
    url = reverse("admin:returns_returnrequest_receive", args=[return_request.pk])

    change_page = desk.get(reverse("admin:returns_returnrequest_change", args=[return_request.pk]))
    form_page = desk.get(url)
    response = desk.post(
        url,
        {
            f"condition_{lines[first.sku]}": "resellable",
            f"condition_{lines[second.sku]}": "damaged",
        },
        follow=True,
    )

    assert "Receive goods" in change_page.text
    assert form_page.status_code == 200
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REFUNDED
    assert f"{return_request.rma_number} received and refunded (34.99 EUR)." in response.text
    assert StockItem.objects.get(product=first.product).on_hand == 6
    assert StockItem.objects.get(product=second.product).on_hand == 5
    assert return_request.credit_note.total == return_request.refund_amount


def test_admin_retry_refund_action_refunds_once(desk, refunds_down):
    return_request = return_for(customer_order(), 1)
    services.return_approve(return_request=return_request, user=None)
    with pytest.raises(ReturnRefundFailed):
        services.return_receive(
            return_request=return_request,
            conditions={line.pk: "resellable" for line in return_request.lines.all()},
            user=None,
        )

    still_down = run_action(desk, "retry_refunds", return_request)
    refunds_down.recover()
    run_action(desk, "retry_refunds", return_request)
    run_action(desk, "retry_refunds", return_request)

    assert "The goods of" in still_down.text
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REFUNDED
    assert Refund.objects.count() == 1


def test_staff_outside_the_returns_group_cannot_act(client):
    client.force_login(UserFactory(is_staff=True))
    return_request = return_for(customer_order(), 1)

    listing = client.get(CHANGELIST)
    receive = client.get(reverse("admin:returns_returnrequest_receive", args=[return_request.pk]))

    assert listing.status_code == 403
    assert receive.status_code == 403
