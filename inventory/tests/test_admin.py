import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from inventory.enums import MovementReason
from inventory.models import StockItem, StockMovement
from inventory.services import ReservationLineRequest, reservation_release, stock_reserve

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:inventory_stockitem_changelist"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_stock_admin_low_stock_filter_lists_only_low_products(admin_client, stocked):
    low, plenty, empty = stocked(3), stocked(50), stocked(0)

    response = admin_client.get(reverse(CHANGELIST), {"level": "low"})

    assert response.status_code == 200
    body = response.content.decode()
    assert low.sku in body
    assert plenty.sku not in body
    assert empty.sku not in body


def test_stock_admin_low_stock_filter_counts_reserved_units(admin_client, stocked):
    product = stocked(8)
    stock_reserve(lines=[ReservationLineRequest(product.sku, 5)], reference="cart:1")

    body = admin_client.get(reverse(CHANGELIST), {"level": "low"}).content.decode()

    assert product.sku in body


def test_stock_admin_adjust_action_asks_then_writes_a_movement_with_user_and_reason(
    admin_client, stocked
):
    product = stocked(5)
    stock_item = StockItem.objects.get(product=product)
    selection = {"action": "adjust_stock", "_selected_action": [stock_item.pk]}

    confirm = admin_client.post(reverse(CHANGELIST), selection)
    applied = admin_client.post(
        reverse(CHANGELIST), {**selection, "apply": "1", "delta": "-2", "reason": "Dropped"}
    )

    assert confirm.status_code == 200
    assert "Adjust stock" in confirm.content.decode()
    assert applied.status_code == 302
    stock_item.refresh_from_db()
    assert stock_item.on_hand == 3
    movement = StockMovement.objects.get(reason=MovementReason.ADJUSTMENT)
    assert (movement.delta, movement.note, movement.user.is_superuser) == (-2, "Dropped", True)


def test_stock_admin_adjust_action_reports_a_refusal_and_changes_nothing(admin_client, stocked):
    product = stocked(5)
    stock_reserve(lines=[ReservationLineRequest(product.sku, 4)], reference="cart:1")
    stock_item = StockItem.objects.get(product=product)

    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "adjust_stock",
            "_selected_action": [stock_item.pk],
            "apply": "1",
            "delta": "-3",
            "reason": "Recount",
        },
        follow=True,
    )

    assert "4 units are reserved" in response.content.decode()
    stock_item.refresh_from_db()
    assert stock_item.on_hand == 5


def test_stock_admin_adjust_action_needs_a_reason(admin_client, stocked):
    stock_item = StockItem.objects.get(product=stocked(5))

    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "adjust_stock",
            "_selected_action": [stock_item.pk],
            "apply": "1",
            "delta": "2",
            "reason": "  ",
        },
    )

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    stock_item.refresh_from_db()
    assert stock_item.on_hand == 5


def test_stock_admin_hides_the_adjust_action_from_staff_without_permission(client, stocked):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse(CHANGELIST)).status_code == 403


def test_movement_admin_is_a_read_only_ledger(admin_client, stocked):
    product = stocked(5)

    listing = admin_client.get(reverse("admin:inventory_stockmovement_changelist"))
    adding = admin_client.get(reverse("admin:inventory_stockmovement_add"))

    assert listing.status_code == 200
    assert product.sku in listing.content.decode()
    assert adding.status_code == 403


def test_reservation_admin_filters_by_status(admin_client, stocked):
    product = stocked(5)
    kept = stock_reserve(lines=[ReservationLineRequest(product.sku, 1)], reference="cart:kept")
    released = stock_reserve(lines=[ReservationLineRequest(product.sku, 1)], reference="cart:gone")
    reservation_release(reservation_id=released.pk)

    response = admin_client.get(
        reverse("admin:inventory_inventoryreservation_changelist"), {"status__exact": "active"}
    )

    body = response.content.decode()
    assert kept.reference in body
    assert released.reference not in body


def test_product_admin_page_shows_the_products_stock_read_only(admin_client, stocked):
    product = stocked(7)

    response = admin_client.get(reverse("admin:catalogue_product_change", args=[product.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="stock_item-heading"' in body
    assert 'name="stock_item-0-on_hand"' not in body  # shown, never an input
    inline = response.context["inline_admin_formsets"][0]
    assert [form.original.on_hand for form in inline] == [7]
