"""The whole path a customer's order takes, through the real checkout of the orders app."""

import pytest
from django.core import mail

from fulfilment.models import PackingTask
from orders.tests.factories import ADDRESS, stocked_product

pytestmark = pytest.mark.django_db


def test_checkout_creates_the_packing_task_and_packing_shows_the_customer_a_tracking_number(
    customer_client, staff_user, django_capture_on_commit_callbacks
):
    product = stocked_product(on_hand=5)
    customer_client.post("/api/cart/items", {"sku": product.sku, "quantity": 2}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        placed = customer_client.post(
            "/api/orders",
            {"shippingAddress": ADDRESS, "paymentToken": "tok_success"},
            format="json",
            headers={"Idempotency-Key": "fulfilment-end-to-end"},
        )
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["orderId"]

    packing_task = PackingTask.objects.get(order_id=order_id)
    assert [(line.sku, line.quantity) for line in packing_task.lines.all()] == [(product.sku, 2)]

    customer_client.force_authenticate(staff_user)
    customer_client.post(f"/api/admin/packing-tasks/{packing_task.pk}/start")
    with django_capture_on_commit_callbacks(execute=True):
        packed = customer_client.post(
            f"/api/admin/packing-tasks/{packing_task.pk}/packed",
            {"parcels": [{"weightGrams": 700}]},
            format="json",
        )
    tracking_number = packed.json()["shipment"]["trackingNumber"]

    customer_client.force_authenticate(PackingTask.objects.get().order.user)
    shipments = customer_client.get(f"/api/orders/{order_id}/shipments").json()
    order = customer_client.get(f"/api/orders/{order_id}").json()
    assert shipments[0]["trackingNumber"] == tracking_number
    assert order["status"] == "shipped"
    assert tracking_number in mail.outbox[-1].body
