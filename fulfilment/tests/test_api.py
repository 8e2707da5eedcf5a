import json
import time

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.tests.factories import UserFactory
from fulfilment import services
from fulfilment.enums import ShipmentStatus
from fulfilment.gateways import SIGNATURE_HEADER, webhook_signature
from fulfilment.models import PackingTask, Shipment
from fulfilment.tests.factories import paid_order_with_lines
from orders.enums import OrderStatus
from orders.models import Order

pytestmark = pytest.mark.django_db

PACKING_TASKS = "/api/admin/packing-tasks"


@pytest.fixture
def staff_client(api_client, staff_user):
    api_client.force_authenticate(staff_user)
    return api_client


def _pending_task(**order_fields) -> PackingTask:
    order = paid_order_with_lines(**order_fields)
    return services.packing_task_create_for_order(order_id=order.pk)


def _picking_task(staff_user, **order_fields) -> PackingTask:
    packing_task = _pending_task(**order_fields)
    services.packing_task_start(packing_task_id=packing_task.pk, user=staff_user)
    return packing_task


def _booked_shipment(staff_user) -> Shipment:
    packing_task = _picking_task(staff_user)
    return services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
    )


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", PACKING_TASKS),
        ("get", f"{PACKING_TASKS}/1"),
        ("post", f"{PACKING_TASKS}/1/start"),
        ("post", f"{PACKING_TASKS}/1/packed"),
        ("post", f"{PACKING_TASKS}/1/scan"),
        ("post", "/api/admin/fulfilment-batches"),
        ("get", "/api/admin/fulfilment-batches/1"),
    ],
)
def test_staff_api_is_401_for_anonymous_and_403_for_customers(api_client, customer, method, url):
    anonymous = getattr(api_client, method)(url, {}, format="json")
    api_client.force_authenticate(customer)
    as_customer = getattr(api_client, method)(url, {}, format="json")

    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    assert anonymous.json()["code"] == "not_authenticated"
    assert as_customer.status_code == 403
    assert as_customer.json()["code"] == "permission_denied"


def test_staff_api_accepts_a_staff_token(api_client, staff_user):
    token = Token.objects.create(user=staff_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    assert api_client.get(PACKING_TASKS).status_code == 200


def test_packing_tasks_list_is_oldest_first_filtered_and_paginated(staff_client, staff_user):
    first = _pending_task(skus_and_quantities=[("SKU-A", 1)])
    second = _picking_task(staff_user, skus_and_quantities=[("SKU-B", 1)])
    third = _pending_task(skus_and_quantities=[("SKU-C", 1)])

    everything = staff_client.get(PACKING_TASKS).json()
    pending = staff_client.get(PACKING_TASKS, {"status": "pending", "page_size": 1}).json()

    assert [task["id"] for task in everything["results"]] == [first.pk, second.pk, third.pk]
    assert pending["count"] == 2
    assert [task["id"] for task in pending["results"]] == [first.pk]
    assert pending["results"][0]["lines"] == [
        {"sku": "SKU-A", "name": "Product 0", "quantity": 1}
    ] or (pending["results"][0]["lines"][0]["sku"] == "SKU-A")


@pytest.mark.parametrize("status", ["lost", ""])
def test_packing_tasks_list_refuses_an_unknown_or_empty_status(staff_client, status):
    response = staff_client.get(PACKING_TASKS, {"status": status})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "status" in response.json()["errors"]


def test_packing_task_detail_shows_order_and_lines(staff_client):
    packing_task = _pending_task()

    response = staff_client.get(f"{PACKING_TASKS}/{packing_task.pk}")

    body = response.json()
    assert response.status_code == 200
    assert body["orderId"] == str(packing_task.order_id)
    assert body["orderNumber"] == packing_task.order.number
    assert body["status"] == "pending"
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [
        ("SKU-A", 1),
        ("SKU-B", 2),
    ]
    assert body["shipment"] is None


def test_packing_task_detail_of_unknown_task_is_404(staff_client):
    response = staff_client.get(f"{PACKING_TASKS}/999999")

    assert response.status_code == 404
    assert response.json()["code"] == "packing_task_not_found"


def test_packing_task_start_moves_to_picking(staff_client, staff_user):
    packing_task = _pending_task()

    response = staff_client.post(f"{PACKING_TASKS}/{packing_task.pk}/start")

    assert response.status_code == 200
    assert response.json()["status"] == "picking"
    assert response.json()["assigneeEmail"] == staff_user.email
    assert Order.objects.get(pk=packing_task.order_id).status == OrderStatus.PACKING


def test_packed_books_the_courier_and_returns_the_shipment(
    staff_client, staff_user, django_capture_on_commit_callbacks
):
    packing_task = _picking_task(staff_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"{PACKING_TASKS}/{packing_task.pk}/packed",
            {"parcels": [{"weightGrams": 1500}]},
            format="json",
        )

    body = response.json()
    shipment = Shipment.objects.get()
    assert response.status_code == 200
    assert body["packingTaskId"] == packing_task.pk
    assert body["status"] == "shipped"
    assert body["shipment"]["id"] == str(shipment.pk)
    assert body["shipment"]["carrier"] == "MockParcel"
    assert body["shipment"]["trackingNumber"] == shipment.tracking_number
    assert body["shipment"]["labelUrl"] == shipment.label_url
    assert Order.objects.get(pk=packing_task.order_id).status == OrderStatus.SHIPPED
    assert len(mail.outbox) == 1


def test_packed_twice_returns_the_same_shipment_and_books_nothing(
    staff_client, staff_user, django_capture_on_commit_callbacks
):
    packing_task = _picking_task(staff_user)
    url = f"{PACKING_TASKS}/{packing_task.pk}/packed"

    with django_capture_on_commit_callbacks(execute=True):
        first = staff_client.post(url, {"parcels": [{"weightGrams": 1500}]}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        second = staff_client.post(url, {"parcels": [{"weightGrams": 900}]}, format="json").json()

    assert second["shipment"] == first["shipment"]
    assert Shipment.objects.get().booking_attempts == 1
    assert len(mail.outbox) == 1


def test_packed_with_the_courier_down_shows_the_error_and_stays_packed(
    staff_client, staff_user, courier_outage, django_capture_on_commit_callbacks
):
    packing_task = _picking_task(staff_user)
    courier_outage(2)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"{PACKING_TASKS}/{packing_task.pk}/packed",
            {"parcels": [{"weightGrams": 1500}]},
            format="json",
        )
    detail = staff_client.get(f"{PACKING_TASKS}/{packing_task.pk}").json()

    assert response.status_code == 200
    assert response.json()["status"] == "packed"
    assert response.json()["shipment"]["status"] == ShipmentStatus.BOOKING_FAILED
    assert response.json()["shipment"]["trackingNumber"] is None
    assert detail["shipment"]["bookingError"].startswith("The courier is unavailable")
    assert detail["shipment"]["bookingAttempts"] == 2

    retried = staff_client.post(
        f"{PACKING_TASKS}/{packing_task.pk}/packed",
        {"parcels": [{"weightGrams": 1500}]},
        format="json",
    )
    assert retried.json()["status"] == "shipped"
    assert retried.json()["shipment"]["trackingNumber"]


@pytest.mark.parametrize(
    "body",
    [{"parcels": []}, {"parcels": [{"weightGrams": 0}]}, {"parcels": [{"weight": 5}]}],
)
def test_packed_with_bad_parcels_is_400(staff_client, staff_user, body):
    packing_task = _picking_task(staff_user)

    response = staff_client.post(f"{PACKING_TASKS}/{packing_task.pk}/packed", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "parcels" in response.json()["errors"]
    assert not Shipment.objects.exists()


def test_packed_from_pending_starts_and_packs_in_one_step(staff_client, staff_user):
    packing_task = _pending_task()

    response = staff_client.post(
        f"{PACKING_TASKS}/{packing_task.pk}/packed",
        {"parcels": [{"weightGrams": 1500}, {"weightGrams": 400}]},
        format="json",
    )
    detail = staff_client.get(f"{PACKING_TASKS}/{packing_task.pk}").json()

    assert response.status_code == 200
    assert response.json()["status"] == "shipped"
    assert response.json()["shipment"]["carrier"] == "MockParcel"
    assert response.json()["shipment"]["trackingNumber"]
    assert detail["startedAt"] is not None
    assert detail["pickOverrideAt"] is not None
    assert Shipment.objects.get().parcel_weights_grams == [1500, 400]


def test_packed_without_parcels_of_products_without_weight_is_400(staff_client, staff_user):
    packing_task = _picking_task(staff_user)

    response = staff_client.post(f"{PACKING_TASKS}/{packing_task.pk}/packed", {}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parcels"
    assert not Shipment.objects.exists()


def test_scan_ticks_a_line_and_refuses_a_wrong_sku(staff_client, staff_user):
    packing_task = _pending_task(skus_and_quantities=[("SKU-A", 1)])
    url = f"{PACKING_TASKS}/{packing_task.pk}/scan"

    scanned = staff_client.post(url, {"sku": "SKU-A"}, format="json")
    too_many = staff_client.post(url, {"sku": "SKU-A"}, format="json")
    wrong = staff_client.post(url, {"sku": "SKU-Z"}, format="json")

    assert scanned.status_code == 200
    assert scanned.json()["status"] == "picking"
    assert scanned.json()["lines"][0]["pickedQuantity"] == 1
    assert (too_many.status_code, too_many.json()["code"]) == (409, "scanned_too_many")
    assert (wrong.status_code, wrong.json()["code"]) == (409, "scanned_sku_not_in_task")


def test_packed_while_the_courier_is_being_booked_is_409(staff_client, staff_user, courier_outage):
    packing_task = _picking_task(staff_user)
    courier_outage(1)
    shipment = services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=staff_user
    )
    # Another request's booking attempt started a moment ago and is still waiting for the courier.
    Shipment.objects.filter(pk=shipment.pk).update(booking_started_at=timezone.now())

    response = staff_client.post(
        f"{PACKING_TASKS}/{packing_task.pk}/packed",
        {"parcels": [{"weightGrams": 1000}]},
        format="json",
    )

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "shipment_booking_in_progress"
    assert response.json()["shipmentId"] == str(shipment.pk)
    assert Shipment.objects.get().booking_attempts == 1


def test_fulfilment_batch_create_and_detail_with_pick_list(staff_client, staff_user):
    first = _pending_task(skus_and_quantities=[("SKU-B", 2), ("SKU-A", 1)])
    second = _pending_task(skus_and_quantities=[("SKU-C", 1)])

    created = staff_client.post(
        "/api/admin/fulfilment-batches",
        {"packingTaskIds": [second.pk, first.pk]},
        format="json",
    )
    detail = staff_client.get(f"/api/admin/fulfilment-batches/{created.json()['id']}")

    assert created.status_code == 201
    assert detail.status_code == 200
    body = detail.json()
    assert body["createdByEmail"] == staff_user.email
    assert [task["id"] for task in body["packingTasks"]] == [first.pk, second.pk]
    assert [(line["sku"], line["quantity"]) for line in body["pickList"]] == [
        ("SKU-A", 1),
        ("SKU-B", 2),
        ("SKU-C", 1),
    ]
    assert body["pickList"][0]["orderNumbers"] == [first.order.number]


def test_fulfilment_batch_create_refuses_batched_tasks_with_409(staff_client):
    packing_task = _pending_task()
    url = "/api/admin/fulfilment-batches"
    staff_client.post(url, {"packingTaskIds": [packing_task.pk]}, format="json")

    response = staff_client.post(url, {"packingTaskIds": [packing_task.pk]}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "packing_tasks_not_batchable"
    assert response.json()["packingTaskIds"] == [packing_task.pk]


def _webhook(api_client, payload: dict, *, signature: str | None = "valid"):
    raw = json.dumps(payload).encode()
    headers = {}
    if signature == "valid":
        headers[SIGNATURE_HEADER] = webhook_signature(raw)
    elif signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return api_client.post(
        "/api/webhooks/courier", data=raw, content_type="application/json", headers=headers
    )


def _tracking_event(shipment, *, event_id="evt-1", status="in_transit") -> dict:
    return {
        "eventId": event_id,
        "trackingNumber": shipment.tracking_number,
        "status": status,
        "occurredAt": "2026-11-25T10:00:00Z",
        "description": "Parcel collected",
    }


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=" + "0" * 64,
        "not-a-signature",
        "t=,v1=" + "0" * 64,
        "t=1,t=2,v1=" + "0" * 64,
        "t=\uff11\uff12,v1=" + "0" * 64,  # digits, but not ASCII ones
    ],
)
def test_courier_webhook_with_a_bad_signature_is_403(api_client, staff_user, signature):
    shipment = _booked_shipment(staff_user)

    response = _webhook(api_client, _tracking_event(shipment), signature=signature)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_webhook_signature"
    assert Shipment.objects.get().status == ShipmentStatus.BOOKED


def test_courier_webhook_signed_with_another_secret_is_403(api_client, staff_user):
    shipment = _booked_shipment(staff_user)
    raw = json.dumps(_tracking_event(shipment)).encode()

    response = api_client.post(
        "/api/webhooks/courier",
        data=raw,
        content_type="application/json",
        headers={SIGNATURE_HEADER: webhook_signature(raw, secret="someone-else")},
    )

    assert response.status_code == 403


# Signed in the future: the clock runs on while the request is made, so keep a margin past the
# tolerance (-301 would turn accepted on a machine that takes a second to get there).
@pytest.mark.parametrize("age_seconds", [301, -360, 3600 * 24 * 365 * 6])
def test_courier_webhook_signed_outside_the_tolerance_is_refused(
    api_client, staff_user, age_seconds
):
    shipment = _booked_shipment(staff_user)
    raw = json.dumps(_tracking_event(shipment, status="delivered")).encode()
    signed_at = int(time.time()) - age_seconds

    response = api_client.post(
        "/api/webhooks/courier",
        data=raw,
        content_type="application/json",
        headers={SIGNATURE_HEADER: webhook_signature(raw, timestamp=signed_at)},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "invalid_webhook_signature"
    assert "too long ago" in response.json()["detail"]
    assert Shipment.objects.get().status == ShipmentStatus.BOOKED


def test_courier_webhook_accepts_any_signature_of_a_rotation(api_client, staff_user):
    shipment = _booked_shipment(staff_user)
    raw = json.dumps(_tracking_event(shipment)).encode()
    current = webhook_signature(raw)
    timestamp, current_v1 = current.split(",")
    old = webhook_signature(raw, secret="retired", timestamp=int(timestamp[2:])).split(",")[1]

    response = api_client.post(
        "/api/webhooks/courier",
        data=raw,
        content_type="application/json",
        headers={SIGNATURE_HEADER: f"{timestamp},{old},{current_v1}"},
    )

    assert response.status_code == 200


def test_courier_webhook_moves_shipment_and_order_and_replays_idempotently(api_client, staff_user):
    shipment = _booked_shipment(staff_user)

    in_transit = _webhook(api_client, _tracking_event(shipment))
    delivered = _webhook(
        api_client, _tracking_event(shipment, event_id="evt-2", status="delivered")
    )
    replay = _webhook(api_client, _tracking_event(shipment, event_id="evt-2", status="delivered"))

    assert in_transit.status_code == 200
    assert in_transit.json() == {
        "shipmentId": str(shipment.pk),
        "status": "in_transit",
        "duplicate": False,
    }
    assert delivered.json()["status"] == "delivered"
    assert replay.status_code == 200
    assert replay.json()["duplicate"] is True
    assert shipment.events.count() == 3
    assert Order.objects.get(pk=shipment.order_id).status == OrderStatus.DELIVERED


def test_courier_webhook_for_an_unknown_parcel_is_404_and_bad_body_400(api_client, staff_user):
    shipment = _booked_shipment(staff_user)
    unknown = {**_tracking_event(shipment), "trackingNumber": "MPUNKNOWN"}

    assert _webhook(api_client, unknown).status_code == 404
    bad_status = _webhook(api_client, {**_tracking_event(shipment), "status": "booked"})
    assert bad_status.status_code == 400
    assert "status" in bad_status.json()["errors"]
    raw = b"{not json"
    not_json = api_client.post(
        "/api/webhooks/courier",
        data=raw,
        content_type="application/json",
        headers={SIGNATURE_HEADER: webhook_signature(raw)},
    )
    assert not_json.status_code == 400


def test_order_shipments_shows_the_tracking_number_to_the_owner(api_client, staff_user):
    shipment = _booked_shipment(staff_user)
    owner = Order.objects.get(pk=shipment.order_id).user
    url = f"/api/orders/{shipment.order_id}/shipments"

    anonymous = api_client.get(url)
    api_client.force_authenticate(owner)
    as_owner = api_client.get(url)
    api_client.force_authenticate(UserFactory())
    as_stranger = api_client.get(url)
    api_client.force_authenticate(staff_user)
    as_staff = api_client.get(url)

    assert anonymous.status_code == 401
    assert as_owner.status_code == 200
    assert as_owner.json()[0]["trackingNumber"] == shipment.tracking_number
    assert as_owner.json()[0]["status"] == "booked"
    assert [event["status"] for event in as_owner.json()[0]["events"]] == ["booked"]
    assert "bookingError" not in as_owner.json()[0]
    assert as_stranger.status_code == 404
    assert as_stranger.json()["code"] == "order_not_found"
    assert as_staff.status_code == 200


def test_order_shipments_is_empty_before_packing(customer_client, customer):
    order = paid_order_with_lines(user=customer)

    response = customer_client.get(f"/api/orders/{order.pk}/shipments")

    assert response.status_code == 200
    assert response.json() == []


def test_packing_tasks_list_query_count_does_not_grow_with_tasks(
    staff_client, staff_user, django_assert_max_num_queries
):
    for n in range(3):
        _picking_task(staff_user, skus_and_quantities=[(f"SKU-{n}", 1)])
    _booked_shipment(staff_user)

    # Session/auth, count, page of tasks with order/assignee/shipment, their lines.
    with django_assert_max_num_queries(4):
        response = staff_client.get(PACKING_TASKS)

    assert response.json()["count"] == 4
