"""The packing station as packing staff use it (the browser walk is in e2e/)."""

import re

import pytest
from django.utils import timezone

from accounts.tests.factories import staff_member
from catalogue.models import Product
from fulfilment import services
from fulfilment.enums import PackingTaskStatus, ShipmentStatus
from fulfilment.models import FulfilmentBatch, PackingTask, Shipment
from fulfilment.tests.factories import OrderLineFactory, PaidOrderFactory, paid_order_with_lines
from inventory.models import StockItem

pytestmark = pytest.mark.django_db

STATION = "/admin/fulfilment/packingtask/station/"


@pytest.fixture
def packer(client):
    user = staff_member("Packing staff")
    client.force_login(user)
    return user


def _task(*, paid_minutes_ago: int = 0, **order_fields) -> PackingTask:
    order = paid_order_with_lines(
        paid_at=timezone.now() - timezone.timedelta(minutes=paid_minutes_ago), **order_fields
    )
    return services.packing_task_create_for_order(order_id=order.pk)


def _task_url(task: PackingTask) -> str:
    return f"/admin/fulfilment/packingtask/{task.pk}/station/"


def test_queue_shows_pending_orders_oldest_paid_first_with_lines_and_locations(client, packer):
    newer = _task(paid_minutes_ago=5, skus_and_quantities=[("MUG", 2)])
    older = _task(paid_minutes_ago=90, skus_and_quantities=[("TEA", 1)])
    started = _task(paid_minutes_ago=200, skus_and_quantities=[("JAM", 1)])
    services.packing_task_start(packing_task_id=started.pk, user=packer)
    StockItem.objects.create(product=Product.objects.get(sku="TEA"), location="A-03")

    response = client.get(STATION)

    page = response.content.decode()
    assert response.status_code == 200
    assert [row["task"] for row in response.context["rows"]] == [older, newer]
    assert page.index(older.order.number) < page.index(newer.order.number)
    assert "TEA, A-03" in page
    assert "1\xa0hour, 30\xa0minutes" in page
    assert "MockParcel" in page
    assert started.order.number not in page


def test_scan_ticks_lines_and_refuses_a_wrong_sku_clearly(client, packer):
    task = _task(skus_and_quantities=[("MUG", 2)])

    client.post(_task_url(task), {"action": "scan", "sku": "MUG"})
    wrong = client.post(_task_url(task), {"action": "scan", "sku": "TEA"}, follow=True)
    client.post(_task_url(task), {"action": "scan", "sku": "MUG"})
    too_many = client.post(_task_url(task), {"action": "scan", "sku": "MUG"}, follow=True)

    assert "TEA is not in order" in wrong.content.decode()
    assert "all picked already" in too_many.content.decode()
    assert task.lines.get().picked_quantity == 2
    assert PackingTask.objects.get().status == PackingTaskStatus.PICKING


def test_packed_is_disabled_until_every_unit_is_scanned(client, packer):
    task = _task(skus_and_quantities=[("MUG", 1)])

    before = client.get(_task_url(task)).content.decode()
    client.post(_task_url(task), {"action": "scan", "sku": "MUG"})
    after = client.get(_task_url(task)).content.decode()

    assert 'data-all-picked="false" disabled' in before
    assert "Pack without scanning every unit" in before
    assert 'data-all-picked="true">' in after
    assert "Pack without scanning every unit" not in after


def test_packed_without_every_unit_needs_the_override_which_is_recorded(client, packer):
    task = _task(skus_and_quantities=[("MUG", 2)])

    refused = client.post(_task_url(task), {"action": "packed", "weight_1": "500"})
    client.post(_task_url(task), {"action": "packed", "weight_1": "500", "override": "on"})

    task.refresh_from_db()
    assert "Scan every unit first" in refused.content.decode()
    assert task.pick_override_by == packer
    assert task.status == PackingTaskStatus.SHIPPED


def test_packed_with_two_parcels_books_the_courier_and_shows_the_tracking_number(
    client, packer, django_capture_on_commit_callbacks
):
    task = _task(skus_and_quantities=[("MUG", 1), ("TEA", 1)])
    Product.objects.filter(sku="MUG").update(weight_grams=700)
    Product.objects.filter(sku="TEA").update(weight_grams=300)
    client.post(_task_url(task), {"action": "scan", "sku": "MUG"})
    client.post(_task_url(task), {"action": "scan", "sku": "TEA"})

    form = client.get(_task_url(task), {"parcels": 2}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _task_url(task),
            {"action": "packed", "parcels": "2", "weight_1": "650", "weight_2": "400"},
            follow=True,
        )

    shipment = Shipment.objects.get()
    page = response.content.decode()
    assert 'name="weight_2" value="500"' in form
    assert shipment.parcel_weights_grams == [650, 400]
    assert shipment.status == ShipmentStatus.BOOKED
    assert f"tracking number <strong>{shipment.tracking_number}</strong>" in page
    assert "MockParcel" in page
    assert task.lines.filter(picked_quantity=1).count() == 2


def test_packed_from_pending_in_one_click_records_the_start(client, packer):
    task = _task(skus_and_quantities=[("MUG", 1)])

    client.post(_task_url(task), {"action": "packed", "weight_1": "300", "override": "on"})

    task.refresh_from_db()
    assert task.status == PackingTaskStatus.SHIPPED
    assert task.started_at is not None


def test_booking_failure_is_shown_with_retry_which_books_it(client, packer, courier_outage):
    task = _task(skus_and_quantities=[("MUG", 1)])
    courier_outage(1)

    failed = client.post(
        _task_url(task), {"action": "packed", "weight_1": "300", "override": "on"}, follow=True
    )
    retried = client.post(_task_url(task), {"action": "retry"}, follow=True)

    assert "courier booking failed" in failed.content.decode()
    assert "Retry booking" in failed.content.decode()
    assert Shipment.objects.get().status == ShipmentStatus.BOOKED
    assert Shipment.objects.get().tracking_number in retried.content.decode()


def test_packing_slip_shows_address_lines_and_tracking(client, packer):
    task = _task(skus_and_quantities=[("MUG", 1)])
    client.post(_task_url(task), {"action": "packed", "weight_1": "300", "override": "on"})

    page = client.get(f"/admin/fulfilment/packingtask/{task.pk}/slip/").content.decode()

    # In the British order: the town, then the postcode on a line of its own.
    assert "1 Analytical Way<br>London<br>N1 1AA<br>United Kingdom" in page
    assert Shipment.objects.get().tracking_number in page
    assert "data-print" in page


def test_pick_list_for_ticked_orders_is_grouped_by_product(client, packer):
    first = _task(skus_and_quantities=[("MUG", 2), ("TEA", 1)])
    second_order = PaidOrderFactory()
    OrderLineFactory(order=second_order, product=Product.objects.get(sku="MUG"), quantity=1)
    second = services.packing_task_create_for_order(order_id=second_order.pk)

    response = client.post(STATION, {"task": [first.pk, second.pk]}, follow=True)

    batch = FulfilmentBatch.objects.get()
    page = response.content.decode()
    assert set(batch.packing_tasks.all()) == {first, second}
    assert response.request["PATH_INFO"].endswith(f"/{batch.pk}/pick-list/")
    assert re.search(r"<td>MUG</td><td>[^<]+</td><td>3</td>", page)
    assert f"{first.order.number}, {second.order.number}" in page


def test_returns_clerk_cannot_open_the_packing_station(client):
    client.force_login(staff_member("Returns staff"))
    task = _task()

    assert client.get(STATION).status_code == 403
    assert client.get(_task_url(task)).status_code == 403
    assert client.post(_task_url(task), {"action": "start"}).status_code == 403
    assert PackingTask.objects.get().status == PackingTaskStatus.PENDING


def test_packing_slip_pdf_has_the_order_address_tracking_and_lines(client, packer):
    from io import BytesIO

    from pypdf import PdfReader

    task = _task(skus_and_quantities=[("MUG", 2)])
    StockItem.objects.create(product=Product.objects.get(sku="MUG"), location="A-03")
    client.post(_task_url(task), {"action": "packed", "weight_1": "300", "override": "on"})

    response = client.get(f"/admin/fulfilment/packingtask/{task.pk}/slip.pdf")

    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    assert response["Content-Type"] == "application/pdf"
    assert task.order.number in text
    assert "1 Analytical Way" in text
    assert Shipment.objects.get().tracking_number in text
    assert "MUG" in text and "A-03" in text
