"""Every picture of the shop front loads: the sample catalogue's drawn pictures, an uploaded
product photo, and no <img> pointing at nothing."""

from decimal import Decimal

import pytest

from catalogue.services import product_sample_images_make
from catalogue.tests.factories import CategoryFactory, ProductFactory
from inventory.enums import MovementReason
from inventory.services import stock_set_on_hand

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROKEN_IMAGES = """() => Array.from(document.images)
    .filter(image => !image.complete || image.naturalWidth === 0)
    .map(image => image.currentSrc || image.src)"""


@pytest.fixture
def pictured_shelves(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SERVE_MEDIA = True
    pantry = CategoryFactory(name="Pantry", slug="pantry")
    products = [
        ProductFactory(name=name, category=pantry, price=Decimal("4.50"), popularity=90 - index)
        for index, name in enumerate(["Wildflower honey", "Damson jam", "Oat biscuits"])
    ]
    for product in products:
        stock_set_on_hand(product=product, on_hand=10, kind=MovementReason.SEED)
    assert product_sample_images_make() == len(products)
    return products


def _assert_every_image_loaded(page) -> int:
    # Lazy pictures load once near the viewport: scroll the whole page through first.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(BROKEN_IMAGES) == []
    return page.evaluate("document.images.length")


def test_shop_front_shows_no_broken_image(page, pictured_shelves, snap):
    page.goto("/")
    assert _assert_every_image_loaded(page) >= len(pictured_shelves)
    snap(page, "home")

    page.goto("/products/?category=pantry")
    assert _assert_every_image_loaded(page) >= len(pictured_shelves)
    snap(page, "category")

    page.goto(f"/products/{pictured_shelves[0].sku}/")
    assert _assert_every_image_loaded(page) >= 1
    snap(page, "product")


def test_the_broken_image_check_fails_on_a_picture_that_does_not_exist(page, pictured_shelves):
    page.goto("/")
    page.evaluate(
        """() => { const image = document.createElement('img');
        image.src = '/media/products/thumbnails/missing.jpg'; document.body.append(image); }"""
    )
    page.wait_for_load_state("networkidle")

    with pytest.raises(AssertionError):
        _assert_every_image_loaded(page)
