from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from inventory.models import StockItem
from orders.enums import OrderStatus
from orders.models import Refund
from returns import services
from returns.enums import ReturnStatus
from returns.tests.factories import customer_order, return_for

pytestmark = pytest.mark.django_db


def body_for(order, *quantities, reason="defective", **extra):
    lines = [
        {"sku": line.sku, "quantity": quantity, "reason": reason}
        for line, quantity in zip(order.lines.order_by("pk"), quantities, strict=False)
        if quantity
    ]
    return {"orderId": str(order.pk), "lines": lines, **extra}


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Customer API ------------------------------------------------------------------------------


def test_post_returns_opens_a_return_for_the_owner(customer_client, customer):
    order = customer_order(user=customer)
    first, second = order.lines.order_by("pk")

    response = customer_client.post(
        "/api/returns", body_for(order, 2, 1, note="Arrived scratched."), format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/returns/{body['rmaId']}"
    assert body["rmaNumber"].startswith("RMA-")
    assert body["status"] == "requested"
    assert body["orderId"] == str(order.pk)
    assert body["orderNumber"] == order.number
    assert body["note"] == "Arrived scratched."
    assert body["refundAmount"] is None
    assert body["currency"] == "EUR"
    assert [(line["sku"], line["quantity"], line["reason"]) for line in body["lines"]] == [
        (first.sku, 2, "defective"),
        (second.sku, 1, "defective"),
    ]
    assert body["lines"][0]["name"] == first.name
    assert body["lines"][0]["condition"] == ""


def test_post_returns_lets_a_guest_prove_the_order_by_number_and_email(api_client):
    order = customer_order(user=None, email="guest@example.com")
    sku = order.lines.first().sku
    body = {
        "orderNumber": order.number.lower(),
        "email": "GUEST@example.com",
        "lines": [{"sku": sku, "quantity": 1, "reason": "wrong_item"}],
    }

    created = api_client.post("/api/returns", body, format="json")
    wrong_email = api_client.post(
        "/api/returns", {**body, "email": "someone@example.com"}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert wrong_email.status_code == 404
    assert wrong_email.json()["code"] == "order_not_found"


def test_post_returns_for_another_customers_order_is_404(customer_client):
    order = customer_order()

    response = customer_client.post("/api/returns", body_for(order, 1), format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "order_not_found"


def test_post_returns_by_order_id_needs_a_login(api_client):
    order = customer_order()

    response = api_client.post("/api/returns", body_for(order, 1), format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_post_returns_refuses_more_than_was_bought_with_the_limit(customer_client, customer):
    order = customer_order(user=customer)
    first = order.lines.order_by("pk").first()
    return_for(order, 2)

    response = customer_client.post("/api/returns", body_for(order, 2), format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "return_quantity_exceeded"
    assert body["lines"] == [{"sku": first.sku, "requested": 2, "returnable": 1}]


def test_post_returns_outside_the_window_is_refused(customer_client, customer, settings):
    settings.RETURN_WINDOW_DAYS = 30
    order = customer_order(user=customer, delivered_days_ago=45)

    response = customer_client.post("/api/returns", body_for(order, 1), format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "return_window_closed"
    assert "returnableUntil" in response.json()


def test_post_returns_for_an_order_not_yet_shipped_is_refused(customer_client, customer):
    order = customer_order(user=customer, status=OrderStatus.PACKING)

    response = customer_client.post("/api/returns", body_for(order, 1), format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "order_not_returnable"


def test_post_returns_with_an_sku_not_on_the_order_is_refused(customer_client, customer):
    order = customer_order(user=customer)
    body = {
        "orderId": str(order.pk),
        "lines": [{"sku": "NOPE-1", "quantity": 1, "reason": "other"}],
    }

    response = customer_client.post("/api/returns", body, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "unknown_order_line"
    assert response.json()["skus"] == ["NOPE-1"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"orderId": None, "orderNumber": "YLS-X"}, "email"),
        ({"orderNumber": "YLS-X", "email": "a@example.com"}, "orderId"),
        ({"reason": "bored"}, "lines"),
        ({"quantity": 0}, "lines"),
        ({"duplicate": True}, "lines"),
    ],
)
def test_post_returns_rejects_a_malformed_body_with_400(customer_client, customer, change, field):
    order = customer_order(user=customer)
    body = body_for(order, 1)
    line = body["lines"][0]
    if "reason" in change or "quantity" in change:
        line.update(change)
    elif "duplicate" in change:
        body["lines"].append(dict(line))
    else:
        body.update(change)
        if body.get("orderId") is None:
            body.pop("orderId", None)

    response = customer_client.post("/api/returns", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]


def test_get_returns_lists_only_the_callers_returns(customer_client, customer):
    mine = return_for(customer_order(user=customer), 1)
    return_for(customer_order(), 1)

    response = customer_client.get("/api/returns")

    assert response.status_code == 200
    assert [item["rmaId"] for item in response.json()["results"]] == [str(mine.pk)]


def test_get_return_shows_the_owner_and_hides_it_from_others(customer_client, customer):
    return_request = return_for(customer_order(user=customer), 1)
    stranger = client_for(UserFactory())

    mine = customer_client.get(f"/api/returns/{return_request.pk}")
    theirs = stranger.get(f"/api/returns/{return_request.pk}")

    assert mine.status_code == 200
    assert mine.json()["rmaNumber"] == return_request.rma_number
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "return_not_found"


def test_guest_follows_a_return_with_order_number_and_email(api_client):
    order = customer_order(user=None, email="guest@example.com")
    return_request = return_for(order, 1)
    proof = {"orderNumber": order.number, "email": "guest@example.com"}

    detail = api_client.get(f"/api/returns/{return_request.pk}", proof)
    listing = api_client.get("/api/returns", proof)
    wrong = api_client.get(f"/api/returns/{return_request.pk}", {**proof, "email": "x@y.com"})
    anonymous = api_client.get(f"/api/returns/{return_request.pk}")

    assert detail.status_code == 200
    assert detail.json()["status"] == "requested"
    assert [item["rmaId"] for item in listing.json()["results"]] == [str(return_request.pk)]
    assert wrong.status_code == 404
    assert anonymous.status_code == 401


def test_customer_sees_the_refund_on_the_return(customer_client, customer, returns_staff):
    returns_staff_client = client_for(returns_staff)
    order = customer_order(user=customer)
    created = customer_client.post("/api/returns", body_for(order, 1), format="json").json()
    returns_staff_client.post(f"/api/admin/returns/{created['rmaId']}/approve")
    returns_staff_client.post(
        f"/api/admin/returns/{created['rmaId']}/receive",
        {"lines": [{"lineId": created["lines"][0]["lineId"], "condition": "resellable"}]},
        format="json",
    )

    body = customer_client.get(f"/api/returns/{created['rmaId']}").json()

    assert body["status"] == "refunded"
    assert body["refundAmount"] == "10.00"
    assert body["creditNoteNumber"].startswith("CN-")
    assert body["lines"][0]["refundAmount"] == "10.00"
    assert "refundFailure" not in body


# --- Staff API ---------------------------------------------------------------------------------

STAFF_CALLS = [
    ("get", "/api/admin/returns"),
    ("get", "/api/admin/returns/{id}"),
    ("post", "/api/admin/returns/{id}/approve"),
    ("post", "/api/admin/returns/{id}/reject"),
    ("post", "/api/admin/returns/{id}/cancel"),
    ("post", "/api/admin/returns/{id}/receive"),
    ("post", "/api/admin/returns/{id}/retry-refund"),
]


@pytest.mark.parametrize(("method", "path"), STAFF_CALLS)
def test_staff_endpoints_refuse_anonymous_callers_with_401(api_client, method, path):
    return_request = return_for(customer_order(), 1)

    response = getattr(api_client, method)(path.format(id=return_request.pk))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path"), STAFF_CALLS)
def test_staff_endpoints_refuse_customers_and_other_staff_with_403(method, path):
    customer = UserFactory()
    return_request = return_for(customer_order(user=customer), 1)
    packing_staff = UserFactory(is_staff=True)

    for user in (customer, packing_staff):
        response = getattr(client_for(user), method)(path.format(id=return_request.pk))
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    return_request.refresh_from_db()
    assert return_request.status == ReturnStatus.REQUESTED


def test_staff_list_shows_the_queue_oldest_first_by_status(returns_staff_client):
    older = return_for(customer_order(), 1)
    newer = return_for(customer_order(), 1)
    services.return_approve(return_request=newer, user=None)

    everything = returns_staff_client.get("/api/admin/returns").json()
    approved = returns_staff_client.get("/api/admin/returns", {"status": "approved"}).json()
    bad = returns_staff_client.get("/api/admin/returns", {"status": "lost"})
    empty = returns_staff_client.get("/api/admin/returns", {"status": ""})

    assert [item["rmaId"] for item in everything["results"]] == [str(older.pk), str(newer.pk)]
    assert [item["rmaId"] for item in approved["results"]] == [str(newer.pk)]
    assert everything["results"][0]["customerEmail"] == older.order.email
    assert bad.status_code == 400
    assert empty.status_code == 400


def test_staff_lifecycle_approve_receive_refund(returns_staff_client, returns_staff):
    order = customer_order()
    first, second = order.lines.order_by("pk")
    return_request = return_for(order, 3, 1)
    lines = {line.sku: line.pk for line in return_request.lines.all()}
    url = f"/api/admin/returns/{return_request.pk}"

    approved = returns_staff_client.post(f"{url}/approve")
    received = returns_staff_client.post(
        f"{url}/receive",
        {
            "lines": [
                {"lineId": lines[first.sku], "condition": "resellable"},
                {"lineId": lines[second.sku], "condition": "damaged"},
            ]
        },
        format="json",
    )

    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decidedBy"] == returns_staff.email
    assert received.status_code == 200, received.json()
    body = received.json()
    assert body["status"] == "refunded"
    assert body["refundAmount"] == "54.99"
    assert body["providerRefundId"].startswith("re_")
    assert body["refundFailure"] == ""
    assert body["receivedBy"] == returns_staff.email
    assert {line["sku"]: line["condition"] for line in body["lines"]} == {
        first.sku: "resellable",
        second.sku: "damaged",
    }
    assert StockItem.objects.get(product=first.product).on_hand == 8
    assert StockItem.objects.get(product=second.product).on_hand == 5
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED


def test_staff_reject_needs_a_reason(returns_staff_client):
    return_request = return_for(customer_order(), 1)
    url = f"/api/admin/returns/{return_request.pk}/reject"

    missing = returns_staff_client.post(url, {}, format="json")
    rejected = returns_staff_client.post(url, {"reason": "Outside our policy."}, format="json")
    again = returns_staff_client.post(url, {"reason": "Outside our policy."}, format="json")

    assert missing.status_code == 400
    assert rejected.status_code == 200
    assert rejected.json()["rejectionReason"] == "Outside our policy."
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


def test_staff_receive_of_a_requested_return_is_409(returns_staff_client):
    return_request = return_for(customer_order(), 1)
    line = return_request.lines.get()

    response = returns_staff_client.post(
        f"/api/admin/returns/{return_request.pk}/receive",
        {"lines": [{"lineId": line.pk, "condition": "resellable"}]},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


def test_staff_receive_with_lines_of_another_return_is_422(returns_staff_client):
    return_request = return_for(customer_order(), 1)
    services.return_approve(return_request=return_request, user=None)
    other_line = return_for(customer_order(), 1).lines.get()

    response = returns_staff_client.post(
        f"/api/admin/returns/{return_request.pk}/receive",
        {"lines": [{"lineId": other_line.pk, "condition": "resellable"}]},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "return_lines_invalid"


def test_staff_sees_a_failed_refund_and_retries_it(returns_staff_client, refunds_down):
    order = customer_order()
    return_request = return_for(order, 1)
    services.return_approve(return_request=return_request, user=None)
    url = f"/api/admin/returns/{return_request.pk}"
    line = return_request.lines.get()
    receive_body = {"lines": [{"lineId": line.pk, "condition": "resellable"}]}

    failed = returns_staff_client.post(f"{url}/receive", receive_body, format="json")
    shown = returns_staff_client.get(url).json()
    still_down = returns_staff_client.post(f"{url}/retry-refund")
    refunds_down.recover()
    retried = returns_staff_client.post(f"{url}/retry-refund")
    repeated = returns_staff_client.post(f"{url}/receive", receive_body, format="json")

    assert failed.status_code == 502
    assert failed["Content-Type"] == "application/problem+json"
    assert failed.json()["code"] == "return_refund_failed"
    assert failed.json()["rmaId"] == str(return_request.pk)
    assert shown["status"] == "received"
    assert shown["refundAttempts"] == 1
    assert shown["refundFailure"].startswith("payment_unavailable:")
    assert still_down.status_code == 502
    assert retried.status_code == 200
    assert retried.json()["status"] == "refunded"
    assert retried.json()["refundFailure"] == ""
    assert repeated.status_code == 200
    assert Refund.objects.get().amount == Decimal("10.00")
    assert StockItem.objects.get(product=line.order_line.product).on_hand == 6


def test_staff_cancel_gives_the_units_back(customer_client, customer, returns_staff):
    returns_staff_client = client_for(returns_staff)
    order = customer_order(user=customer)
    return_request = return_for(order, 3)
    services.return_approve(return_request=return_request, user=None)

    cancelled = returns_staff_client.post(f"/api/admin/returns/{return_request.pk}/cancel")
    again = customer_client.post("/api/returns", body_for(order, 3), format="json")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 201


def test_superuser_may_handle_returns_without_the_group():
    admin = UserFactory(is_staff=True, is_superuser=True)
    return_request = return_for(customer_order(), 1)

    response = client_for(admin).post(f"/api/admin/returns/{return_request.pk}/approve")

    assert response.status_code == 200
