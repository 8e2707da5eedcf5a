"""The back office in a real browser, at a laptop's and a small screen's width: a packer packs an
order with two parcels, a returns clerk writes off a damaged return, the owner downloads the
sales report."""

from decimal import Decimal
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # no `make e2e-deps` here: the `browser` marker skips (and CI fails) instead
    expect = None

from accounts.tests.factories import staff_member
from catalogue.models import Product
from fulfilment import services as fulfilment_services
from fulfilment.models import Shipment
from fulfilment.tests.factories import paid_order_with_lines
from inventory.enums import MovementReason
from inventory.models import StockItem, StockMovement
from returns import services as returns_services
from returns.enums import ReturnReason
from returns.tests.factories import customer_order, return_for

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
SCREENS = {"1280": {"width": 1280, "height": 800}, "1024": {"width": 1024, "height": 768}}


@pytest.fixture(params=list(SCREENS))
def screen(request, page):
    page.set_viewport_size(SCREENS[request.param])
    return request.param


def _sign_in(page, user):
    page.goto("/admin/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_contain_text("YourLocalShop")


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_packer_scans_packs_two_parcels_and_prints_the_slip(page, screen, snap):
    packer = staff_member("Packing staff")
    order = paid_order_with_lines(skus_and_quantities=[("MUG-BLUE", 2), ("TEA-EARL", 1)])
    Product.objects.filter(sku="MUG-BLUE").update(weight_grams=350)
    Product.objects.filter(sku="TEA-EARL").update(weight_grams=250)
    StockItem.objects.create(product=Product.objects.get(sku="MUG-BLUE"), location="A-03")
    fulfilment_services.packing_task_create_for_order(order_id=order.pk)

    _sign_in(page, packer)
    page.get_by_role("link", name="Packing station").first.click()
    expect(page.get_by_text(order.number)).to_be_visible()
    expect(page.get_by_text("MUG-BLUE, A-03")).to_be_visible()
    assert _no_horizontal_scroll(page)
    snap(page, f"{screen}-queue")

    page.get_by_role("link", name="Pack", exact=True).click()
    packed = page.get_by_role("button", name="Packed — book the courier")
    expect(packed).to_be_disabled()
    scan = page.get_by_label("Scan or type a SKU, then Enter")
    for sku in ("MUG-BLUE", "NOT-HERE", "MUG-BLUE", "TEA-EARL"):
        scan.fill(sku)
        scan.press("Enter")
        if sku == "NOT-HERE":
            expect(page.get_by_text("NOT-HERE is not in order")).to_be_visible()
            snap(page, f"{screen}-wrong-sku")
    expect(page.get_by_text("TEA-EARL: 1 of 1 picked.")).to_be_visible()
    assert _no_horizontal_scroll(page)
    snap(page, f"{screen}-all-picked")

    page.get_by_label("Number of parcels").fill("2")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_label("Parcel 2 (g)")).to_have_value("475")
    page.get_by_label("Parcel 1 (g)").fill("600")
    page.get_by_label("Parcel 2 (g)").fill("350")
    expect(packed).to_be_enabled()
    packed.click()

    shipment = Shipment.objects.get()
    expect(page.locator(".tracking")).to_have_text(shipment.tracking_number)
    expect(page.get_by_text("Packed and booked with MockParcel")).to_be_visible()
    assert shipment.parcel_weights_grams == [600, 350]
    assert _no_horizontal_scroll(page)
    snap(page, f"{screen}-packed")

    with page.context.expect_page() as slip_tab:
        page.get_by_role("link", name="Print packing slip").click()
    slip = slip_tab.value
    slip.wait_for_load_state()
    expect(slip.get_by_text(shipment.tracking_number)).to_be_visible()
    expect(slip.get_by_text("1 Analytical Way")).to_be_visible()
    slip.evaluate("window.print = () => { window.printed = true; }")
    slip.get_by_role("button", name="Print").click()
    assert slip.evaluate("window.printed === true")
    snap(slip, f"{screen}-slip")


def test_returns_clerk_writes_off_a_damaged_return(page, screen, snap):
    clerk = staff_member("Returns staff")
    return_request = return_for(
        customer_order(), 1, reason=ReturnReason.DAMAGED_IN_TRANSIT, note="Box crushed."
    )
    returns_services.return_approve(return_request=return_request, user=None)
    line = return_request.lines.select_related("order_line__product").get()
    on_hand = StockItem.objects.get(product=line.order_line.product).on_hand

    _sign_in(page, clerk)
    page.get_by_role("link", name="Returns desk").first.click()
    page.get_by_role("link", name=return_request.rma_number).click()
    page.get_by_role("link", name="Receive goods…").first.click()
    expect(page.get_by_text("Damaged in transit")).to_be_visible()
    expect(page.get_by_text("Box crushed.")).to_be_visible()
    expect(page.get_by_label("Damaged: write off")).not_to_be_checked()
    expect(page.get_by_label("Resellable: back on the shelf")).not_to_be_checked()
    assert _no_horizontal_scroll(page)
    snap(page, f"{screen}-receive")

    page.get_by_label("Damaged: write off").check()
    page.get_by_role("button", name="Receive and refund").click()

    expect(page.get_by_text(f"{return_request.rma_number} received and refunded")).to_be_visible()
    snap(page, f"{screen}-received")
    movement = StockMovement.objects.get(reason=MovementReason.RETURN_WRITE_OFF)
    assert movement.user == clerk
    assert StockItem.objects.get(product=line.order_line.product).on_hand == on_hand


def test_owner_opens_the_overview_and_downloads_the_sales_csv(page, screen, snap):
    owner = staff_member("Shop owner")
    paid_order_with_lines(skus_and_quantities=[("JAM", 1)], total=Decimal("19.98"))

    _sign_in(page, owner)
    expect(page.get_by_text("Orders paid today")).to_be_visible()
    expect(page.get_by_text("revenue €19.98")).to_be_visible()
    assert _no_horizontal_scroll(page)
    snap(page, f"{screen}-overview")

    page.get_by_role("link", name="Supplier file").click()
    expect(page.get_by_role("heading", name="Import a supplier file")).to_be_visible()
    snap(page, f"{screen}-supplier-file")
    page.go_back()

    page.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Sales report")).to_be_visible()
    snap(page, f"{screen}-reports")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    content = Path(download.value.path()).read_text(encoding="utf-8")
    assert content.splitlines()[0] == "period_start,orders,revenue,tax,refunds,net"
    assert ",1,19.98," in content
