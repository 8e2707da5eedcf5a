"""Product images: renditions of an upload, the sample catalogue's pictures, serving them."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from catalogue.models import Product
from catalogue.services import product_image_renditions_make, product_sample_images_make
from catalogue.tests.factories import ProductFactory
from inventory.tests.factories import StockItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SERVE_MEDIA = True
    return tmp_path


def _photo(size=(3000, 2000), name="photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _size(field) -> tuple[int, int]:
    with field.open("rb") as file, Image.open(file) as image:
        return image.size, image.format


def test_uploaded_image_gets_a_grid_thumbnail_and_a_product_page_picture():
    product = ProductFactory(sku="HON-1")
    product.image = _photo()
    product.save()

    product_image_renditions_make(product=product)

    product.refresh_from_db()
    assert _size(product.image_thumbnail) == ((480, 360), "JPEG")
    assert _size(product.image_display) == ((1200, 800), "JPEG")
    assert product.image.name.startswith("products/originals/")


def test_product_pages_and_api_show_the_renditions_which_the_app_serves(client):
    product = StockItemFactory(on_hand=5).product
    product.image = _photo(size=(800, 600))
    product.save()
    product_image_renditions_make(product=product)
    product.refresh_from_db()

    detail = client.get(f"/api/products/{product.sku}").json()
    listed = client.get("/api/products").json()["results"][0]
    page = client.get(f"/products/{product.sku}/").content.decode()
    served = client.get(product.image_thumbnail.url)

    assert detail["images"] == [product.image_display.url]
    assert listed["thumbnail"] == product.image_thumbnail.url
    assert f'src="{product.image_display.url}"' in page
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"


def test_media_is_not_served_by_the_app_unless_configured(client, settings):
    product = ProductFactory()
    product.image = _photo(size=(400, 300))
    product.save()
    product_image_renditions_make(product=product)
    settings.SERVE_MEDIA = False

    assert client.get(product.image_thumbnail.url).status_code == 404


def test_a_new_upload_replaces_the_renditions_and_deletes_the_old_files(
    django_capture_on_commit_callbacks, media
):
    product = ProductFactory()
    product.image = _photo(name="first.png")
    product.save()
    with django_capture_on_commit_callbacks(execute=True):
        product_image_renditions_make(product=product)
    first_thumbnail = product.image_thumbnail.name

    product.image = _photo(name="second.png")
    product.save()
    with django_capture_on_commit_callbacks(execute=True):
        product_image_renditions_make(product=product)

    assert product.image_thumbnail.name != first_thumbnail
    assert not (media / first_thumbnail).exists()
    assert (media / product.image_thumbnail.name).exists()


def test_sample_pictures_are_drawn_once_for_products_without_a_picture():
    plain = ProductFactory(sku="JAM-1", name="Damson Jam", image_url="")
    hosted = ProductFactory(image_url="https://cdn.example/tea.jpg")

    assert product_sample_images_make() == 1
    assert product_sample_images_make() == 0

    plain.refresh_from_db()
    hosted.refresh_from_db()
    assert _size(plain.image_thumbnail) == ((480, 360), "JPEG")
    assert plain.image_display
    assert not hosted.image


def test_make_sample_images_command_reports_what_it_drew(capsys):
    ProductFactory(image_url="")

    call_command("make_sample_images")

    assert "Sample pictures drawn: 1." in capsys.readouterr().out
    assert Product.objects.exclude(image_thumbnail="").count() == 1
