"""Supplier files (prices and received quantities): read, preview with per-row errors, apply all
or nothing; the same through the admin and the management command."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalogue.models import Product
from catalogue.tests.factories import ProductFactory
from inventory import services
from inventory.enums import MovementReason
from inventory.errors import SupplierFileInvalid
from inventory.models import StockItem, StockMovement
from inventory.services.supplier_import import (
    supplier_file_read,
    supplier_import_apply,
    supplier_import_plan,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf():
    tea = ProductFactory(sku="TEA-1", name="Green tea", price=Decimal("4.00"))
    jam = ProductFactory(sku="JAM-1", name="Plum jam", price=Decimal("3.20"))
    services.stock_set_on_hand(product=tea, on_hand=10, kind=MovementReason.SEED)
    return {"tea": tea, "jam": jam}


def read(text: str, name: str = "delivery.csv"):
    return supplier_file_read(name=name, content=text.encode())


def on_hand(product) -> int:
    return StockItem.objects.get(product=product).on_hand


def test_preview_lists_what_changes_and_writes_nothing(shelf):
    plan = supplier_import_plan(
        rows=read("sku,name,price,quantity_received\nTEA-1,Tea,4.40,12\nJAM-1,Jam,3.20,\n")
    )

    assert plan.errors == []
    assert [(c.sku, c.old_price, c.new_price, c.quantity_received) for c in plan.changes] == [
        ("TEA-1", Decimal("4.00"), Decimal("4.40"), 12)
    ]  # the jam's price is unchanged and nothing of it was received
    assert (plan.rows, plan.price_changes, plan.units_received) == (2, 1, 12)
    assert Product.objects.get(sku="TEA-1").price == Decimal("4.00")
    assert on_hand(shelf["tea"]) == 10


def test_preview_reports_every_bad_row_by_its_line(shelf):
    plan = supplier_import_plan(
        rows=read(
            "sku,price,quantity_received\n"
            "TEA-1,cheap,\n"
            "NOPE-9,1.00,\n"
            "JAM-1,-1,\n"
            "\n"
            ",2.00,\n"
            "TEA-1,4.999,-3\n"
        )
    )

    assert plan.errors == [
        "row 2 (sku 'TEA-1'): price: 'cheap' is not a number",
        "row 3 (sku 'NOPE-9'): sku: no product with this SKU",
        "row 4 (sku 'JAM-1'): price: '-1' must be 0 or more",
        "row 6 (sku ''): sku: required",
        "row 7 (sku 'TEA-1'): sku: also on row 2",
        "row 7 (sku 'TEA-1'): price: '4.999' has more than two decimal places",
        "row 7 (sku 'TEA-1'): quantity_received: '-3' must be a whole number of 0 or more",
    ]


def test_apply_sets_prices_and_receives_stock_with_the_ledger(shelf, staff_user):
    report = supplier_import_apply(
        rows=read("sku;price;quantity\nTEA-1;4,40;12\nJAM-1;;5\n"),
        reference="Fresh Farm 2026-12-07",
        user=staff_user,
    )

    assert (report.rows, report.prices_changed, report.units_received) == (2, 1, 17)
    assert Product.objects.get(sku="TEA-1").price == Decimal("4.40")
    assert Product.objects.get(sku="JAM-1").price == Decimal("3.20")
    assert (on_hand(shelf["tea"]), on_hand(shelf["jam"])) == (22, 5)
    receipt = StockMovement.objects.get(stock_item__product=shelf["tea"], reason="receipt")
    assert (receipt.delta, receipt.on_hand_after, receipt.user) == (12, 22, staff_user)
    assert receipt.note == "Supplier file Fresh Farm 2026-12-07"


def test_apply_with_a_bad_row_changes_nothing(shelf):
    with pytest.raises(SupplierFileInvalid) as raised:
        supplier_import_apply(
            rows=read("sku,price,quantity_received\nTEA-1,4.40,12\nNOPE-9,1.00,1\n"),
            reference="delivery 7",
        )

    assert raised.value.extra["errors"] == ["row 3 (sku 'NOPE-9'): sku: no product with this SKU"]
    assert Product.objects.get(sku="TEA-1").price == Decimal("4.00")
    assert on_hand(shelf["tea"]) == 10
    assert not StockMovement.objects.filter(reason="receipt").exists()


def test_a_new_price_is_served_at_once(shelf, api_client):
    assert api_client.get("/api/products/TEA-1").json()["price"] == "4.00"
    assert api_client.get("/api/products").json()["results"][0]["price"] in ("4.00", "3.20")

    supplier_import_apply(rows=read("sku,price\nTEA-1,4.40\n"), reference="price list")

    assert api_client.get("/api/products/TEA-1").json()["price"] == "4.40"
    listed = {
        item["sku"]: item["price"] for item in api_client.get("/api/products").json()["results"]
    }
    assert listed == {"TEA-1": "4.40", "JAM-1": "3.20"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty."),
        ("name,price\nTea,4.00\n", "The file has no sku column."),
        ("sku,name\nTEA-1,Tea\n", "The file has neither a price nor a quantity_received column."),
    ],
)
def test_unreadable_files_are_refused(text, message):
    with pytest.raises(SupplierFileInvalid) as raised:
        read(text)
    assert raised.value.detail == message


def test_a_file_that_is_not_utf8_is_refused():
    with pytest.raises(SupplierFileInvalid, match="not UTF-8"):
        supplier_file_read(name="list.csv", content="sku,price\nTÉ,1\n".encode("cp1252"))


def test_an_xlsx_workbook_is_read_like_a_csv(shelf):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["SKU", "Price", "Quantity received"])
    sheet.append(["TEA-1", 4.4, 12])
    sheet.append(["JAM-1", "3.25", None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    rows = supplier_file_read(name="list.xlsx", content=buffer.getvalue())
    plan = supplier_import_plan(rows=rows)

    assert plan.errors == []
    assert [(c.sku, c.new_price, c.quantity_received) for c in plan.changes] == [
        ("TEA-1", Decimal("4.40"), 12),
        ("JAM-1", Decimal("3.25"), 0),
    ]
    with pytest.raises(SupplierFileInvalid, match="not an XLSX"):
        supplier_file_read(name="list.xlsx", content=b"sku,price\n")


def test_command_previews_without_apply_and_applies_with_it(shelf, tmp_path, capsys):
    file = tmp_path / "delivery.csv"
    file.write_text("sku,price,quantity_received\nTEA-1,4.40,12\n", encoding="utf-8")

    call_command("import_supplier_file", str(file))
    assert "1 price changes, 12 units received" in capsys.readouterr().out
    assert on_hand(shelf["tea"]) == 10

    call_command("import_supplier_file", str(file), "--apply", "--reference", "delivery 8")
    assert "Applied" in capsys.readouterr().out
    assert on_hand(shelf["tea"]) == 22
    assert Product.objects.get(sku="TEA-1").price == Decimal("4.40")


def test_command_with_a_bad_row_exits_non_zero_and_writes_nothing(shelf, tmp_path):
    file = tmp_path / "delivery.csv"
    file.write_text("sku,quantity_received\nTEA-1,12\nNOPE,1\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"row 3 .*no product with this SKU"):
        call_command("import_supplier_file", str(file), "--apply", "--reference", "d")
    assert on_hand(shelf["tea"]) == 10


def test_admin_upload_preview_then_apply_once(shelf, client, django_user_model):
    admin_user = django_user_model.objects.create_superuser(
        email="owner@example.com", password="a-long-password-1"
    )
    client.force_login(admin_user)
    url = reverse("admin:inventory_stockitem_supplier_import")
    assert (
        "Import a supplier file"
        in client.get(reverse("admin:inventory_stockitem_changelist")).content.decode()
    )

    upload = SimpleUploadedFile("delivery.csv", b"sku,price,quantity_received\nTEA-1,4.40,12\n")
    preview = client.post(url, {"file": upload, "reference": "Fresh Farm 7"})

    assert preview.status_code == 200
    assert preview.context["plan"].price_changes == 1
    assert "Apply these changes" in preview.content.decode()
    assert on_hand(shelf["tea"]) == 10

    digest = preview.context["digest"]
    applied = client.post(url, {"apply": "1", "digest": digest})
    again = client.post(url, {"apply": "1", "digest": digest})  # a double submit

    assert applied.status_code == again.status_code == 302
    assert on_hand(shelf["tea"]) == 22
    assert Product.objects.get(sku="TEA-1").price == Decimal("4.40")
    assert StockMovement.objects.filter(reason="receipt").count() == 1


def test_admin_preview_shows_row_errors_and_offers_no_apply(shelf, client, django_user_model):
    admin_user = django_user_model.objects.create_superuser(
        email="owner@example.com", password="a-long-password-1"
    )
    client.force_login(admin_user)
    upload = SimpleUploadedFile("delivery.csv", b"sku,price\nTEA-1,abc\n")

    preview = client.post(
        reverse("admin:inventory_stockitem_supplier_import"),
        {"file": upload, "reference": "x"},
    )

    content = preview.content.decode()
    assert "row 2 (sku &#x27;TEA-1&#x27;): price: &#x27;abc&#x27; is not a number" in content
    assert "Apply these changes" not in content


def test_admin_import_needs_stock_and_product_rights(client, staff_user):
    client.force_login(staff_user)
    response = client.get(reverse("admin:inventory_stockitem_supplier_import"))
    assert response.status_code in (302, 403)
