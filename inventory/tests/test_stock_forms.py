"""Receiving a delivery and counting stock in the back office, through the ledger."""

import pytest

from accounts.tests.factories import staff_member
from catalogue.tests.factories import ProductFactory
from inventory.enums import MovementReason
from inventory.models import StockItem, StockMovement

pytestmark = pytest.mark.django_db

RECEIVE = "/admin/inventory/stockitem/receive/"
COUNT = "/admin/inventory/stockitem/count/"


@pytest.fixture
def owner(client):
    user = staff_member("Shop owner")
    client.force_login(user)
    return user


def test_receive_a_delivery_of_several_products(client, owner):
    mug, tea = ProductFactory(sku="MUG"), ProductFactory(sku="TEA")
    StockItem.objects.create(product=mug, on_hand=3)

    response = client.post(RECEIVE, {"lines": "MUG 10\nTEA, 4\n\n", "reason": "Delivery 42"})

    assert response.status_code == 302
    assert StockItem.objects.get(product=mug).on_hand == 13
    assert StockItem.objects.get(product=tea).on_hand == 4
    movements = StockMovement.objects.filter(reason=MovementReason.RECEIPT)
    assert {(m.stock_item.product.sku, m.delta, m.user, m.note) for m in movements} == {
        ("MUG", 10, owner, "Delivery 42"),
        ("TEA", 4, owner, "Delivery 42"),
    }


def test_receive_names_every_bad_line_and_books_nothing(client, owner):
    ProductFactory(sku="MUG")

    response = client.post(
        RECEIVE, {"lines": "MUG 10\nNOPE 2\nMUG ten\nMUG 0", "reason": "Delivery 43"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Line 2: no product has the SKU NOPE." in page
    assert "Line 3: write the SKU, then the number of units." in page
    assert "Line 4: the number must be at least 1." in page
    assert not StockMovement.objects.exists()


def test_stock_count_sets_on_hand_with_the_reason(client, owner):
    mug = ProductFactory(sku="MUG")
    StockItem.objects.create(product=mug, on_hand=7)
    StockMovement.objects.create(
        stock_item=mug.stock_item,
        reason=MovementReason.RECEIPT,
        delta=7,
        quantity=7,
        on_hand_after=7,
    )

    client.post(COUNT, {"lines": "MUG 5", "reason": "Monthly count: 2 broken"})

    assert StockItem.objects.get(product=mug).on_hand == 5
    movement = StockMovement.objects.latest("pk")
    assert (movement.delta, movement.user, movement.note) == (-2, owner, "Monthly count: 2 broken")


def test_a_reason_that_names_a_movement_kind_is_still_only_the_note(client, owner):
    """What staff type is the note; the form decides the kind (a count is an adjustment, never a
    `seed`; a delivery's note `receipt` is kept)."""
    mug = ProductFactory(sku="MUG")
    StockItem.objects.create(product=mug, on_hand=7)

    client.post(COUNT, {"lines": "MUG 5", "reason": "seed"})
    client.post(RECEIVE, {"lines": "MUG 1", "reason": "receipt"})

    count, receipt = StockMovement.objects.order_by("pk")
    assert (count.reason, count.delta, count.note) == (MovementReason.ADJUSTMENT, -2, "seed")
    assert (receipt.reason, receipt.delta, receipt.note) == (MovementReason.RECEIPT, 1, "receipt")


def test_stock_row_page_edits_location_and_reorder_level_only(client, owner):
    stock_item = StockItem.objects.create(product=ProductFactory(), on_hand=7)

    client.post(
        f"/admin/inventory/stockitem/{stock_item.pk}/change/",
        {"location": "B-12", "reorder_level": "4", "on_hand": "999"},
    )

    stock_item.refresh_from_db()
    assert (stock_item.location, stock_item.reorder_level, stock_item.on_hand) == ("B-12", 4, 7)


def test_packer_cannot_receive_or_count(client):
    client.force_login(staff_member("Packing staff"))

    assert client.get(RECEIVE).status_code == 403
    assert client.post(COUNT, {"lines": "X 1", "reason": "x"}).status_code == 403
