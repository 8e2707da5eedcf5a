"""The returns desk: one return's page, its buttons and confirmation pages, the receive screen."""

import pytest
from django.urls import reverse

from accounts.tests.factories import staff_member
from inventory.enums import MovementReason
from inventory.models import StockItem, StockMovement
from returns import services
from returns.enums import ReturnReason, ReturnStatus
from returns.models import ReturnRequest
from returns.tests.factories import customer_order, return_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client, returns_staff):
    client.force_login(returns_staff)
    return client


def _url(name: str, return_request: ReturnRequest, *args) -> str:
    return reverse(f"admin:returns_returnrequest_{name}", args=[return_request.pk, *args])


def _approved_damaged_return() -> ReturnRequest:
    return_request = return_for(
        customer_order(),
        1,
        reason=ReturnReason.DAMAGED_IN_TRANSIT,
        note="The box was crushed.",
    )
    return services.return_approve(return_request=return_request, user=None)


def test_return_page_offers_the_moves_of_its_status(desk):
    return_request = return_for(customer_order(), 1)

    page = desk.get(_url("change", return_request)).text

    assert _url("decide", return_request, "approve") in page
    assert _url("reject", return_request) in page
    assert _url("receive", return_request) not in page


def test_approve_asks_first_then_approves(desk, returns_staff):
    return_request = return_for(customer_order(), 1)

    asked = desk.get(_url("decide", return_request, "approve"))
    return_request.refresh_from_db()
    assert "What will happen" in asked.text
    assert return_request.status == ReturnStatus.REQUESTED

    desk.post(_url("decide", return_request, "approve"))

    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.APPROVED
    assert return_request.decided_by == returns_staff


def test_reject_needs_a_reason_the_customer_sees(desk):
    return_request = return_for(customer_order(), 1)

    empty = desk.post(_url("reject", return_request), {"reason": ""})
    desk.post(_url("reject", return_request), {"reason": "Worn and washed."})

    return_request.refresh_from_db()
    assert empty.status_code == 200
    assert "receives the reason below by email" in empty.text
    assert return_request.status == ReturnStatus.REJECTED
    assert return_request.rejection_reason == "Worn and washed."


def test_receive_page_shows_what_the_customer_said_and_chooses_no_condition(desk):
    return_request = _approved_damaged_return()

    page = desk.get(_url("receive", return_request)).text

    assert "Damaged in transit" in page
    assert "The box was crushed." in page
    assert "checked" not in page
    assert "€10.00" in page
    assert "Receive and refund" in page


def test_receive_without_choosing_the_condition_changes_nothing(desk):
    return_request = _approved_damaged_return()

    response = desk.post(_url("receive", return_request), {})

    return_request.refresh_from_db()
    assert response.status_code == 200
    assert "Choose the condition of this line." in response.text
    assert return_request.status == ReturnStatus.APPROVED
    assert not StockMovement.objects.filter(reason=MovementReason.RETURN_WRITE_OFF).exists()


def test_damaged_return_written_off_records_the_receiving_clerk(desk, returns_staff):
    return_request = _approved_damaged_return()
    line = return_request.lines.get()
    on_hand_before = StockItem.objects.get(product=line.order_line.product).on_hand

    desk.post(_url("receive", return_request), {f"condition_{line.pk}": "damaged"})

    return_request.refresh_from_db()
    movement = StockMovement.objects.get(reference__startswith=return_request.rma_number)
    assert return_request.status == ReturnStatus.REFUNDED
    assert movement.reason == MovementReason.RETURN_WRITE_OFF
    assert movement.user == returns_staff
    assert StockItem.objects.get(product=line.order_line.product).on_hand == on_hand_before


def test_packer_cannot_see_returns(client):
    client.force_login(staff_member("Packing staff"))
    return_request = return_for(customer_order(), 1)

    assert client.get(reverse("admin:returns_returnrequest_changelist")).status_code == 403
    assert client.get(_url("change", return_request)).status_code == 403
    assert client.post(_url("decide", return_request, "approve")).status_code == 403
    assert client.get(_url("receive", return_request)).status_code == 403
