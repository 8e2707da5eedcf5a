"""The catalogue generator: reproducible, about 300 categories, and loadable by `seed_products`."""

import json

import pytest
from catalogue_data import generate, pictures_write
from django.core.management import call_command


def test_the_same_seed_gives_the_same_catalogue_and_another_seed_another():
    assert generate(products=300, seed=7) == generate(products=300, seed=7)
    assert generate(products=300, seed=7) != generate(products=300, seed=8)


def test_about_three_hundred_categories_every_product_in_one_with_unique_skus():
    document = generate(products=2_000, seed=1)
    slugs = {category["slug"] for category in document["categories"]}
    skus = [product["sku"] for product in document["products"]]

    assert 280 <= len(slugs) == len(document["categories"]) <= 320
    assert {product["category"] for product in document["products"]} <= slugs
    assert len(set(skus)) == len(skus) == 2_000


@pytest.mark.django_db
def test_it_loads_through_the_shops_import_with_stock_ledger_and_shared_pictures(
    tmp_path, settings
):
    from catalogue.models import Product
    from inventory.models import StockItem, StockMovement

    settings.MEDIA_ROOT = tmp_path / "media"
    file = tmp_path / "catalogue.json"
    file.write_text(json.dumps(generate(products=200, seed=3)), encoding="utf-8")
    assert pictures_write(tmp_path) == 15

    call_command("seed_products", file=file)
    call_command("seed_products", file=file, update=True)  # a second load changes nothing

    assert Product.objects.count() == 200
    stocked = StockItem.objects.filter(on_hand__gt=0).count()
    assert StockMovement.objects.filter(reason="seed").count() == stocked > 150
    # Every product shows a picture, and each department's file was stored once.
    assert not Product.objects.filter(image_thumbnail="").exists()
    pictures = set(Product.objects.values_list("image", flat=True))
    assert len(pictures) == 15
    assert len(list((tmp_path / "media" / "products" / "originals").iterdir())) == 15
