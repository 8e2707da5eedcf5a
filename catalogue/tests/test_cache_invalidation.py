"""Per-product invalidation of the cached read path (`catalogue.cache`): a write orphans what it
may have changed, and nothing else."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalogue import cache as catalogue_cache
from catalogue.models import Product
from catalogue.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def skus(response) -> list[str]:
    return [item["sku"] for item in response.json()["results"]]


def prices(response) -> dict[str, str]:
    return {item["sku"]: item["price"] for item in response.json()["results"]}


@pytest.fixture
def shop(set_stock):
    """Two categories, tea (under drinks) and coffee, with stock so hints are cached too."""
    drinks = CategoryFactory(slug="drinks", name="Drinks")
    tea = CategoryFactory(slug="tea", name="Tea", parent=drinks)
    coffee = CategoryFactory(slug="coffee", name="Coffee")
    products = {
        "GREEN": ProductFactory(sku="GREEN", category=tea, price=Decimal("4.00"), popularity=9),
        "BLACK": ProductFactory(sku="BLACK", category=tea, price=Decimal("3.00"), popularity=8),
        "BEANS": ProductFactory(sku="BEANS", category=coffee, price=Decimal("7.00"), popularity=7),
    }
    for product in products.values():
        set_stock(product, 20)
    return products


def served_without_sql(api_client, path: str, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(path, params)
    assert response.status_code == 200
    assert queries.captured_queries == [], [query["sql"] for query in queries.captured_queries]
    return response


def test_editing_one_product_keeps_another_products_page_cached(api_client, shop):
    api_client.get("/api/products/BLACK")
    served_without_sql(api_client, "/api/products/BLACK")

    green = Product.objects.get(sku="GREEN")
    green.price = Decimal("4.50")
    green.save()

    assert served_without_sql(api_client, "/api/products/BLACK").json()["price"] == "3.00"
    assert api_client.get("/api/products/GREEN").json()["price"] == "4.50"


def test_a_price_change_refreshes_every_list_page_showing_the_product(api_client, shop):
    pages = [
        ("/api/products", {}),
        ("/api/products", {"ordering": "price"}),
        ("/api/products", {"category": "tea"}),
        ("/api/products", {"category": "drinks", "max_price": "5.00"}),
        ("/api/products", {"q": "GREEN"}),
    ]
    for path, params in pages:
        assert prices(api_client.get(path, params))["GREEN"] == "4.00"

    green = Product.objects.get(sku="GREEN")
    green.price = Decimal("2.50")
    green.save()

    for path, params in pages:
        assert prices(api_client.get(path, params))["GREEN"] == "2.50", params
    assert skus(api_client.get("/api/products", {"ordering": "price"})) == [
        "GREEN",
        "BLACK",
        "BEANS",
    ]
    assert "GREEN" not in skus(api_client.get("/api/products", {"min_price": "3.00"}))


def test_a_price_change_leaves_lists_without_the_product_cached(api_client, shop):
    api_client.get("/api/products", {"category": "coffee"})

    green = Product.objects.get(sku="GREEN")
    green.price = Decimal("2.50")
    green.save()

    assert skus(served_without_sql(api_client, "/api/products", {"category": "coffee"})) == [
        "BEANS"
    ]


def test_a_price_change_keeps_the_id_list_of_a_popularity_ordered_list(api_client, shop):
    """Only the changed product's document is read again: the order it is listed in does not
    depend on prices."""
    api_client.get("/api/products")

    green = Product.objects.get(sku="GREEN")
    green.price = Decimal("2.50")
    green.save()

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/products")
    assert prices(response) == {"GREEN": "2.50", "BLACK": "3.00", "BEANS": "7.00"}
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert "ORDER BY" not in queries.captured_queries[0]["sql"]


def test_moving_a_product_to_another_category_refreshes_both_lists(api_client, shop):
    assert skus(api_client.get("/api/products", {"category": "coffee"})) == ["BEANS"]
    assert skus(api_client.get("/api/products", {"category": "drinks"})) == ["GREEN", "BLACK"]

    green = Product.objects.get(sku="GREEN")
    green.category = shop["BEANS"].category
    green.save()

    assert skus(api_client.get("/api/products", {"category": "coffee"})) == ["GREEN", "BEANS"]
    assert skus(api_client.get("/api/products", {"category": "drinks"})) == ["BLACK"]


def test_a_sku_change_serves_the_new_sku_and_404_for_the_old_one(api_client, shop):
    api_client.get("/api/products/GREEN")
    assert api_client.get("/api/products/MATCHA").status_code == 404

    green = Product.objects.get(sku="GREEN")
    green.sku = "MATCHA"
    green.save()

    assert api_client.get("/api/products/GREEN").status_code == 404
    assert api_client.get("/api/products/MATCHA").json()["price"] == "4.00"


def test_a_deleted_product_leaves_its_page_and_lists(api_client, shop):
    # A product never stocked can be deleted (stock rows protect the others).
    mistake = ProductFactory(sku="TYPO", category=shop["BEANS"].category, popularity=1)
    api_client.get("/api/products/TYPO")
    assert skus(api_client.get("/api/products", {"category": "coffee"})) == ["BEANS", "TYPO"]

    mistake.delete()

    assert api_client.get("/api/products/TYPO").status_code == 404
    assert skus(api_client.get("/api/products", {"category": "coffee"})) == ["BEANS"]


def test_a_bulk_update_reported_once_is_served_at_once(api_client, shop):
    """`QuerySet.update()` sends no signal: a bulk writer reports its changes itself."""
    api_client.get("/api/products/GREEN")
    api_client.get("/api/products", {"ordering": "price"})
    api_client.get("/api/products/BEANS")

    tea = Product.objects.filter(category__slug="tea")
    previous = {product.id: product.loaded_values for product in tea}
    tea.update(price=Decimal("9.00"))
    catalogue_cache.products_changed(
        catalogue_cache.product_change(product, previous=previous[product.id])
        for product in Product.objects.filter(id__in=previous)
    )

    assert api_client.get("/api/products/GREEN").json()["price"] == "9.00"
    assert skus(api_client.get("/api/products", {"ordering": "price"})) == [
        "BEANS",
        "GREEN",
        "BLACK",
    ]
    served_without_sql(api_client, "/api/products/BEANS")


def test_saves_in_an_invalidation_batch_replace_the_tokens_once_at_its_end(
    api_client, shop, monkeypatch, django_capture_on_commit_callbacks
):
    replaced = []
    original = catalogue_cache._tokens_set
    monkeypatch.setattr(
        catalogue_cache, "_tokens_set", lambda keys: (replaced.append(keys), original(keys))
    )
    api_client.get("/api/products/GREEN")

    with (
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
        catalogue_cache.invalidation_batch(),
    ):
        for product in Product.objects.all():
            product.price += 1
            product.save()
        assert replaced == []

    # once at the end of the batch, and once more after the commit
    assert len(replaced) == 2
    assert replaced[0] == replaced[1]
    assert api_client.get("/api/products/GREEN").json()["price"] == "5.00"


def test_a_product_change_seen_by_another_process_is_served_at_once(api_client, shop, settings):
    """Another server process only replaces tokens in the shared cache; this process's
    in-memory bodies must not outlive them."""
    from django.core.cache import cache as shared_cache

    api_client.get("/api/products/GREEN")
    api_client.get("/api/products")
    green = Product.objects.get(sku="GREEN")
    Product.objects.filter(id=green.id).update(price=Decimal("4.40"))
    # What the other process's save wrote: new tokens for this product only.
    shared_cache.set_many(
        {
            catalogue_cache._product_token_key(green.id): "other",
            catalogue_cache._sku_token_key("GREEN"): "other",
        },
        timeout=None,
    )

    assert api_client.get("/api/products/GREEN").json()["price"] == "4.40"
    assert prices(api_client.get("/api/products"))["GREEN"] == "4.40"


def test_an_evicted_token_starts_afresh(api_client, shop):
    from django.core.cache import cache as shared_cache

    api_client.get("/api/products/GREEN")
    Product.objects.filter(sku="GREEN").update(price=Decimal("4.40"))
    shared_cache.delete(catalogue_cache._sku_token_key("GREEN"))

    assert api_client.get("/api/products/GREEN").json()["price"] == "4.40"


@pytest.mark.redis
def test_tokens_missing_after_a_flush_start_in_one_round_trip_keeping_anothers(monkeypatch):
    """After a flush a first sight of a list page starts 20 product tokens: one round trip for
    them all, not an add and a get each; a token another request started first is kept."""
    from django.core.cache import cache as shared_cache

    keys = [f"catalogue:token:product:{number}" for number in range(900_001, 900_004)]
    shared_cache.delete_many(keys)
    shared_cache.set(keys[0], "started-by-another-request", timeout=None)
    calls = []
    for name in ("add", "get", "get_or_add_many"):
        method = getattr(shared_cache, name)
        monkeypatch.setattr(
            shared_cache, name, lambda *a, _m=method, _n=name, **k: calls.append(_n) or _m(*a, **k)
        )

    tokens = catalogue_cache._tokens(keys, None)

    assert calls == ["get_or_add_many"]
    assert tokens[0] == "started-by-another-request"
    assert shared_cache.get_many(keys) == dict(zip(keys, tokens, strict=True))
