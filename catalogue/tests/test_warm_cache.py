import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalogue.tasks import warm_catalogue_cache
from catalogue.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_warm_catalogue_cache_command_serves_top_products_without_queries(
    api_client, set_stock, capsys
):
    products = [ProductFactory(popularity=number) for number in range(5)]
    for product in products:
        set_stock(product, 8)

    call_command("warm_catalogue_cache", top=3)

    assert "3 products" in capsys.readouterr().out
    with CaptureQueriesContext(connection) as queries:
        for product in products[2:]:
            assert api_client.get(f"/api/products/{product.sku}").status_code == 200
        assert api_client.get("/api/products").status_code == 200
        assert api_client.get("/api/categories").status_code == 200
    assert len(queries) == 0, [query["sql"] for query in queries]


def test_warm_catalogue_cache_task_returns_how_many_it_warmed():
    ProductFactory.create_batch(4)
    ProductFactory(is_active=False)

    assert warm_catalogue_cache.apply(kwargs={"top": 10}).get() == 4


def test_warm_catalogue_cache_at_start_up_skips_without_a_broker(settings, capsys):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    call_command("warm_catalogue_cache", start_up=True)

    assert "skipped" in capsys.readouterr().out


def test_warm_catalogue_cache_at_start_up_can_be_turned_off(settings, capsys):
    settings.CATALOGUE_WARMUP_ON_START = False

    call_command("warm_catalogue_cache", start_up=True)

    assert "off" in capsys.readouterr().out
