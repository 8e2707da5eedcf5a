import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalogue.models import Product
from fulfilment import services
from fulfilment.enums import PackingTaskStatus, ShipmentStatus
from fulfilment.models import FulfilmentBatch, PackingTask, Shipment
from fulfilment.tests.factories import paid_order_with_lines
from orders.enums import OrderStatus
from orders.models import Order

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/fulfilment/packingtask/"


@pytest.fixture
def packer(client):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Packing staff"))
    client.force_login(user)
    return user


def _pending_task(**order_fields) -> PackingTask:
    return services.packing_task_create_for_order(order_id=paid_order_with_lines(**order_fields).pk)


def test_packing_staff_group_can_view_and_change_fulfilment_only():
    permissions = set(
        Group.objects.get(name="Packing staff").permissions.values_list("codename", flat=True)
    )

    assert {"view_packingtask", "change_packingtask", "view_shipment", "add_fulfilmentbatch"} <= (
        permissions
    )
    assert not any(codename.startswith("delete_") for codename in permissions)


def test_packing_queue_lists_tasks_oldest_first_filtered_by_status(client, packer):
    older = _pending_task(skus_and_quantities=[("SKU-A", 1)])
    newer = _pending_task(skus_and_quantities=[("SKU-B", 1)])
    services.packing_task_start(packing_task_id=newer.pk, user=packer)

    everything = client.get(CHANGELIST)
    pending = client.get(CHANGELIST, {"status__exact": "pending"})

    assert everything.status_code == 200
    listed = list(everything.context["cl"].result_list)
    assert listed == [older, newer]
    assert list(pending.context["cl"].result_list) == [older]


def test_packing_queue_shows_the_order_lines_of_a_task(client, packer):
    packing_task = _pending_task(skus_and_quantities=[("SKU-Z", 3)])

    response = client.get(f"{CHANGELIST}{packing_task.pk}/change/", follow=True)

    assert response.status_code == 200
    assert "SKU-Z" in response.content.decode()


def test_admin_actions_start_pack_and_book(client, packer, django_capture_on_commit_callbacks):
    packing_task = _pending_task()
    Product.objects.update(weight_grams=250)

    client.post(CHANGELIST, {"action": "start_picking", "_selected_action": [packing_task.pk]})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            CHANGELIST,
            {"action": "mark_packed_and_book_courier", "_selected_action": [packing_task.pk]},
            follow=True,
        )

    packing_task.refresh_from_db()
    shipment = Shipment.objects.get(packing_task=packing_task)
    assert packing_task.status == PackingTaskStatus.SHIPPED
    assert packing_task.assignee == packer
    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.parcel_weights_grams == [750]
    assert f"MockParcel {shipment.tracking_number}" in response.content.decode()
    assert Order.objects.get().status == OrderStatus.SHIPPED


def test_admin_shows_a_failed_booking_to_staff(client, packer, courier_outage):
    packing_task = _pending_task()
    Product.objects.update(weight_grams=250)
    services.packing_task_start(packing_task_id=packing_task.pk, user=packer)
    courier_outage(1)

    response = client.post(
        CHANGELIST,
        {"action": "mark_packed_and_book_courier", "_selected_action": [packing_task.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "Courier booking failed and will be retried" in page
    station = client.get(f"{CHANGELIST}station/", {"queue": "packed"}).content.decode()
    assert "The courier is unavailable" in station
    assert PackingTask.objects.get().status == PackingTaskStatus.PACKED


def test_admin_retry_booking_reports_a_booking_in_progress(client, packer, courier_outage):
    packing_task = _pending_task()
    services.packing_task_start(packing_task_id=packing_task.pk, user=packer)
    courier_outage(1)
    shipment = services.packing_task_mark_packed(
        packing_task_id=packing_task.pk, parcel_weights_grams=[1000], user=packer
    )
    Shipment.objects.filter(pk=shipment.pk).update(booking_started_at=timezone.now())

    response = client.post(
        "/admin/fulfilment/shipment/",
        {"action": "retry_booking", "_selected_action": [shipment.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "0 of 1 shipment(s) are booked." in page
    assert "The courier is being booked for this shipment" in page
    assert Shipment.objects.get().booking_attempts == 1


def test_admin_action_create_batch(client, packer):
    first = _pending_task(skus_and_quantities=[("SKU-A", 1)])
    second = _pending_task(skus_and_quantities=[("SKU-B", 1)])

    client.post(CHANGELIST, {"action": "create_batch", "_selected_action": [first.pk, second.pk]})

    batch = FulfilmentBatch.objects.get()
    assert set(batch.packing_tasks.all()) == {first, second}
    page = client.get(f"/admin/fulfilment/fulfilmentbatch/{batch.pk}/change/").content.decode()
    assert page.index("SKU-A") < page.index("SKU-B")


def test_packing_slip_is_printable_for_packing_staff_only(client, packer):
    packing_task = _pending_task(skus_and_quantities=[("SKU-Q", 2)])
    url = f"{CHANGELIST}{packing_task.pk}/slip/"

    response = client.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    assert packing_task.order.number in page
    assert "SKU-Q" in page
    assert "1 Analytical Way" in page

    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


def test_staff_without_the_group_cannot_open_the_packing_queue(client):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(CHANGELIST).status_code == 403


def test_batch_list_shows_how_many_tasks_each_batch_has(client, packer):
    tasks = [_pending_task(skus_and_quantities=[(f"SKU-{n}", 1)]) for n in range(2)]
    services.fulfilment_batch_create(packing_task_ids=[task.pk for task in tasks], user=packer)

    response = client.get("/admin/fulfilment/fulfilmentbatch/")

    assert response.status_code == 200
    assert [batch.task_count for batch in response.context["cl"].result_list] == [2]
