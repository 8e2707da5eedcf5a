import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from catalogue.models import Category, Product
from inventory import selectors as inventory_selectors
from inventory.models import StockMovement

pytestmark = pytest.mark.django_db

SAMPLE = Path(settings.BASE_DIR) / "sample_products.json"


def write(tmp_path, document) -> Path:
    path = tmp_path / "products.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def good_document() -> dict:
    return {
        "categories": [
            {"slug": "drinks", "name": "Drinks", "parent": None},
            {"slug": "tea", "name": "Tea", "parent": "drinks"},
        ],
        "products": [
            {"sku": "TEA-1", "name": "Earl Grey", "category": "tea", "price": "4.50", "stock": 7},
            {"sku": "TEA-2", "name": "Green Tea", "category": "tea", "price": "3.00", "stock": 0},
        ],
    }


def available(sku: str) -> int:
    product = Product.objects.get(sku=sku)
    return inventory_selectors.available_by_product_id(product_ids=[product.id])[product.id]


def test_seed_products_creates_categories_products_and_stock(tmp_path):
    call_command("seed_products", file=write(tmp_path, good_document()))

    assert Category.objects.get(slug="tea").parent.slug == "drinks"
    product = Product.objects.get(sku="TEA-1")
    assert (product.name, product.price, product.currency) == ("Earl Grey", Decimal("4.50"), "EUR")
    assert product.slug == "earl-grey-tea-1"
    assert available("TEA-1") == 7
    assert available("TEA-2") == 0


def test_seed_products_on_a_catalogue_with_products_refuses_and_writes_nothing(tmp_path):
    call_command("seed_products", file=write(tmp_path, good_document()))
    document = good_document()
    document["products"][0].update(price="4.95", stock=3)

    with pytest.raises(CommandError, match=r"already has 2 products\. Nothing was written"):
        call_command("seed_products", file=write(tmp_path, document))

    assert Product.objects.get(sku="TEA-1").price == Decimal("4.50")
    assert available("TEA-1") == 7


def test_seed_products_if_empty_leaves_a_catalogue_with_products_alone(tmp_path):
    path = write(tmp_path, good_document())
    call_command("seed_products", file=path)
    first_updated_at = Product.objects.get(sku="TEA-1").updated_at
    out = io.StringIO()

    call_command("seed_products", "--if-empty", file=path, stdout=out)

    assert out.getvalue() == (
        "Catalogue already has 2 products: nothing seeded (RESET_DB=1 make run starts over).\n"
    )
    assert Product.objects.get(sku="TEA-1").updated_at == first_updated_at
    assert StockMovement.objects.count() == 1  # TEA-1's opening stock; TEA-2 opened at 0


def test_seed_products_update_upserts_products_but_never_sets_existing_stock(tmp_path):
    call_command("seed_products", file=write(tmp_path, good_document()))
    document = good_document()
    document["products"][0].update(price="4.95", stock=3)
    document["products"].append(
        {"sku": "TEA-3", "name": "Rooibos", "category": "tea", "price": "3.80", "stock": 4}
    )

    call_command("seed_products", "--update", file=write(tmp_path, document))

    assert Product.objects.count() == 3
    assert Product.objects.get(sku="TEA-1").price == Decimal("4.95")
    assert available("TEA-1") == 7
    assert available("TEA-3") == 4
    assert list(
        StockMovement.objects.order_by("pk").values_list("stock_item__product__sku", "delta")
    ) == [("TEA-1", 7), ("TEA-3", 4)]


def test_seed_products_bad_rows_write_nothing_and_name_each_row(tmp_path):
    document = good_document()
    document["products"] += [
        {"sku": "BAD-1", "name": "Negative", "category": "tea", "price": "-1.00"},
        {"sku": "BAD-2", "name": "Float", "category": "tea", "price": 1.1},
        {"sku": "BAD-3", "name": "Lost", "category": "coffee", "price": "2.00"},
        {"sku": "BAD-4", "name": "Typo", "category": "tea", "price": "2.00", "prise": "1"},
        {"sku": "BAD-5", "name": "Stock", "category": "tea", "price": "2.00", "stock": -3},
        {"sku": "TEA-1", "name": "Twice", "category": "tea", "price": "2.00"},
        {"name": "No SKU", "category": "tea", "price": "2.00"},
    ]

    with pytest.raises(CommandError) as raised:
        call_command("seed_products", file=write(tmp_path, document))

    message = str(raised.value)
    assert "nothing was written" in message
    assert "products row 3 (sku 'BAD-1'): price:" in message
    assert "products row 4 (sku 'BAD-2'): price: use a string such as \"12.50\"" in message
    assert "products row 5 (sku 'BAD-3'): category: no category 'coffee'" in message
    assert "products row 6 (sku 'BAD-4'): unknown field(s) prise" in message
    assert "products row 7 (sku 'BAD-5'): stock: must be a whole number" in message
    assert "products row 8 (sku 'TEA-1'): sku: 'TEA-1' appears twice in the file" in message
    assert "products row 9 (sku None): sku: this field is required" in message
    assert Product.objects.count() == 0
    assert Category.objects.count() == 0


def test_seed_products_bad_row_keeps_the_previous_catalogue(tmp_path):
    call_command("seed_products", file=write(tmp_path, good_document()))
    document = good_document()
    document["products"][0]["price"] = "5.50"
    document["products"][1]["price"] = "free"

    with pytest.raises(CommandError, match=r"products row 2 .*price: 'free' is not a decimal"):
        call_command("seed_products", "--update", file=write(tmp_path, document))

    assert Product.objects.get(sku="TEA-1").price == Decimal("4.50")


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not valid JSON"), ("[]", "expected an object")],
)
def test_seed_products_unreadable_file(tmp_path, content, message):
    path = tmp_path / "products.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(CommandError, match=message):
        call_command("seed_products", file=path)


def test_seed_products_category_cycle_is_refused(tmp_path):
    document = {
        "categories": [
            {"slug": "a", "name": "A", "parent": "b"},
            {"slug": "b", "name": "B", "parent": "a"},
        ],
        "products": [],
    }

    with pytest.raises(CommandError, match="cycle"):
        call_command("seed_products", file=write(tmp_path, document))

    assert Category.objects.count() == 0


def test_sample_products_file_loads(tmp_path):
    call_command("seed_products", file=SAMPLE)

    document = json.loads(SAMPLE.read_text(encoding="utf-8"))
    stocks = [row["stock"] for row in document["products"]]
    assert Product.objects.count() == len(document["products"]) >= 500
    assert 12 <= Category.objects.count() <= 20
    assert Category.objects.filter(parent__isnull=False).exists()
    assert 0 in stocks
    assert any(0 < stock <= 5 for stock in stocks)


def test_seed_products_gives_products_the_picture_files_they_name(tmp_path, settings):
    """A generated catalogue shares a few pictures among thousands of products: each file is
    stored once, with its renditions, and a picture the shop uploaded is never replaced."""
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "pictures").mkdir()
    Image.new("RGB", (800, 600), (200, 180, 120)).save(tmp_path / "pictures" / "tea.jpg")
    document = good_document()
    for row in document["products"]:
        row["image"] = "pictures/tea.jpg"
    call_command("seed_products", file=write(tmp_path, document))

    earl_grey, green_tea = Product.objects.get(sku="TEA-1"), Product.objects.get(sku="TEA-2")
    assert earl_grey.image.name == green_tea.image.name != ""
    assert earl_grey.image_thumbnail.name == green_tea.image_thumbnail.name
    with earl_grey.image_thumbnail.open("rb") as file, Image.open(file) as thumbnail:
        assert thumbnail.size == (480, 360)
    stored = sorted(path.parent.name for path in (tmp_path / "media").rglob("*.jpg"))
    assert stored == ["display", "originals", "thumbnails"]

    Product.objects.filter(sku="TEA-1").update(image="products/originals/uploaded.jpg")
    document["products"].append(dict(document["products"][0], sku="TEA-3", name="Oolong"))
    call_command("seed_products", "--update", file=write(tmp_path, document))
    assert Product.objects.get(sku="TEA-1").image.name == "products/originals/uploaded.jpg"
    assert Product.objects.get(sku="TEA-3").image_display.name.startswith("products/display/")


@pytest.mark.parametrize("image", ["pictures/missing.jpg", "../outside.jpg", 7, ["a.jpg"], ""])
def test_seed_products_refuses_a_picture_that_is_not_a_file_beside_it(tmp_path, image):
    (tmp_path.parent / "outside.jpg").write_bytes(b"not inside the seed file's folder")
    document = good_document()
    document["products"][1]["image"] = image

    with pytest.raises(CommandError, match=r"products row 2 \(sku 'TEA-2'\): image: "):
        call_command("seed_products", file=write(tmp_path, document))
    assert not Product.objects.exists()
