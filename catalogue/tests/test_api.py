from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalogue import stock
from catalogue.signals import stock_changed
from catalogue.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}


def skus(response) -> list[str]:
    return [item["sku"] for item in response.json()["results"]]


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["code"] == code
    return body


def test_product_list_shape_and_default_order_by_popularity(api_client, set_stock):
    category = CategoryFactory(slug="tea", name="Tea")
    ProductFactory(sku="LOW", popularity=1, category=category)
    top = ProductFactory(
        sku="TOP",
        name="Earl Grey",
        popularity=99,
        category=category,
        price=Decimal("4.50"),
        image_url="https://images.example/earl-grey.jpg",
    )
    set_stock(top, 50)

    response = api_client.get("/api/products")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["previous"] is None and body["next"] is None
    assert body["results"][0] == {
        "sku": "TOP",
        "slug": "top",
        "name": "Earl Grey",
        "price": "4.50",
        "currency": "EUR",
        "category": {"slug": "tea", "name": "Tea"},
        "images": ["https://images.example/earl-grey.jpg"],
        "thumbnail": "https://images.example/earl-grey.jpg",
        "stockHint": "in_stock",
    }
    assert skus(response) == ["TOP", "LOW"]


def test_product_list_paginates_with_page_and_page_size(api_client):
    for number in range(25):
        ProductFactory(sku=f"P{number:02d}", popularity=100 - number)

    first = api_client.get("/api/products")
    second = api_client.get("/api/products", {"page": 2})
    small = api_client.get("/api/products", {"page": 3, "page_size": 5})

    assert first.json()["count"] == 25
    assert len(first.json()["results"]) == 20
    assert first.json()["next"].endswith("/api/products?page=2")
    assert skus(second) == [f"P{number:02d}" for number in range(20, 25)]
    assert second.json()["next"] is None
    assert second.json()["previous"].endswith("/api/products")
    assert skus(small) == [f"P{number:02d}" for number in range(10, 15)]
    assert "page_size=5" in small.json()["next"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": "first"}, "page"),
    ],
)
def test_product_list_rejects_bad_pagination(api_client, params, field):
    ProductFactory()

    body = assert_problem(api_client.get("/api/products", params), 400, "validation_error")

    assert field in body["errors"]


def test_product_list_page_past_the_end_is_404(api_client):
    ProductFactory()

    assert_problem(api_client.get("/api/products", {"page": 2}), 404, "not_found")


def test_product_list_page_size_100_is_allowed(api_client):
    ProductFactory.create_batch(3)

    response = api_client.get("/api/products", {"page_size": 100})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_product_list_hides_inactive_products(api_client):
    ProductFactory(sku="ON")
    ProductFactory(sku="OFF", is_active=False)

    assert skus(api_client.get("/api/products")) == ["ON"]


def test_product_list_category_filter_includes_sub_categories(api_client):
    drinks = CategoryFactory(slug="drinks")
    tea = CategoryFactory(slug="tea", parent=drinks)
    green = CategoryFactory(slug="green-tea", parent=tea)
    ProductFactory(sku="JUICE", category=drinks, popularity=3)
    ProductFactory(sku="BLACK", category=tea, popularity=2)
    ProductFactory(sku="SENCHA", category=green, popularity=1)
    ProductFactory(sku="SOAP")

    assert skus(api_client.get("/api/products", {"category": "drinks"})) == [
        "JUICE",
        "BLACK",
        "SENCHA",
    ]
    assert skus(api_client.get("/api/products", {"category": "tea"})) == ["BLACK", "SENCHA"]
    assert skus(api_client.get("/api/products", {"category": "green-tea"})) == ["SENCHA"]


def test_product_list_unknown_category_is_400(api_client):
    body = assert_problem(
        api_client.get("/api/products", {"category": "nope"}), 400, "unknown_category"
    )

    assert "category" in body["errors"]


def test_product_list_q_searches_name_sku_and_description(api_client):
    ProductFactory(sku="A-1", name="Earl Grey Tea", popularity=3)
    ProductFactory(sku="TEA-9", name="Mug", popularity=2)
    ProductFactory(sku="B-2", name="Cup", description="Fine for tea.", popularity=1)
    ProductFactory(sku="C-3", name="Soap")

    assert skus(api_client.get("/api/products", {"q": "tea"})) == ["A-1", "TEA-9", "B-2"]
    assert skus(api_client.get("/api/products", {"q": "earl grey"})) == ["A-1"]
    assert len(skus(api_client.get("/api/products", {"q": " "}))) == 4


def test_product_list_price_range_is_inclusive(api_client):
    for sku, price in [("P1", "1.00"), ("P5", "5.00"), ("P9", "9.99"), ("P20", "20.00")]:
        ProductFactory(sku=sku, price=Decimal(price), popularity=int(Decimal(price) * 100))

    response = api_client.get("/api/products", {"min_price": "5", "max_price": "9.99"})

    assert skus(response) == ["P9", "P5"]
    assert skus(api_client.get("/api/products", {"min_price": "9.99"})) == ["P20", "P9"]
    assert skus(api_client.get("/api/products", {"max_price": "1"})) == ["P1"]


def test_product_list_in_stock_filter(api_client, set_stock):
    plenty = ProductFactory(sku="PLENTY", popularity=3)
    few = ProductFactory(sku="FEW", popularity=2)
    none = ProductFactory(sku="NONE", popularity=1)
    ProductFactory(sku="NEVER")  # no stock row at all
    set_stock(plenty, 40)
    set_stock(few, 2)
    set_stock(none, 0)

    in_stock = api_client.get("/api/products", {"in_stock": "true"})
    sold_out = api_client.get("/api/products", {"in_stock": "false"})

    assert skus(in_stock) == ["PLENTY", "FEW"]
    assert [item["stockHint"] for item in in_stock.json()["results"]] == ["in_stock", "low_stock"]
    assert skus(sold_out) == ["NONE", "NEVER"]
    assert {item["stockHint"] for item in sold_out.json()["results"]} == {"out_of_stock"}


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["CHEAP", "MID", "DEAR"]),
        ("-price", ["DEAR", "MID", "CHEAP"]),
        ("name", ["MID", "DEAR", "CHEAP"]),
        ("-popularity", ["CHEAP", "DEAR", "MID"]),
    ],
)
def test_product_list_ordering(api_client, ordering, expected):
    ProductFactory(sku="CHEAP", name="Zest", price=Decimal("1.00"), popularity=30)
    ProductFactory(sku="MID", name="Apple", price=Decimal("5.00"), popularity=10)
    ProductFactory(sku="DEAR", name="Melon", price=Decimal("9.00"), popularity=20)

    assert skus(api_client.get("/api/products", {"ordering": ordering})) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "cheap"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"min_price": "1.234"}, "min_price"),
        ({"min_price": "NaN"}, "min_price"),
        ({"min_price": "10", "max_price": "5"}, "max_price"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"ordering": "random"}, "ordering"),
        ({"category": "not a slug!"}, "category"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_product_list_bad_query_values_are_400_problems(api_client, params, field):
    ProductFactory()

    body = assert_problem(api_client.get("/api/products", params), 400, "validation_error")

    assert list(body["errors"]) == [field]
    assert body["detail"]


def test_product_detail(api_client, set_stock):
    product = ProductFactory(
        sku="TEA-001",
        name="Earl Grey",
        description="Bergamot.",
        price=Decimal("4.50"),
        category=CategoryFactory(slug="tea", name="Tea"),
    )
    set_stock(product, 3)

    response = api_client.get("/api/products/TEA-001")

    assert response.status_code == 200
    assert response.json() == {
        "sku": "TEA-001",
        "slug": "tea-001",
        "name": "Earl Grey",
        "description": "Bergamot.",
        "price": "4.50",
        "currency": "EUR",
        "category": {"slug": "tea", "name": "Tea"},
        "images": [],
        "thumbnail": None,
        "stockHint": "low_stock",
    }


def test_product_detail_never_shows_the_exact_count(api_client, set_stock):
    # Every other field is fixed, so "37" can only appear if the stock count leaks.
    product = ProductFactory(
        sku="X",
        slug="x",
        name="Jar",
        description="Honey.",
        price=Decimal("4.50"),
        image_url="",
        category=CategoryFactory(slug="honey", name="Honey"),
    )
    set_stock(product, 37)

    body = api_client.get("/api/products/X").json()

    assert body["stockHint"] == "in_stock"
    assert "37" not in str(body)


@pytest.mark.parametrize("sku", ["NOPE", "OFF"])
def test_product_detail_unknown_or_inactive_sku_is_404(api_client, sku):
    ProductFactory(sku="OFF", is_active=False)

    body = assert_problem(api_client.get(f"/api/products/{sku}"), 404, "product_not_found")

    assert sku in body["detail"]


def test_product_detail_becomes_404_once_deactivated(api_client):
    product = ProductFactory(sku="GOING")
    assert api_client.get("/api/products/GOING").status_code == 200

    product.is_active = False
    product.save()

    assert_problem(api_client.get("/api/products/GOING"), 404, "product_not_found")
    assert skus(api_client.get("/api/products")) == []


def test_category_list(api_client):
    drinks = CategoryFactory(slug="drinks", name="Drinks")
    CategoryFactory(slug="tea", name="Tea", parent=drinks)

    response = api_client.get("/api/categories")

    assert response.status_code == 200
    assert response.json() == [
        {"slug": "drinks", "name": "Drinks", "parent": None},
        {"slug": "tea", "name": "Tea", "parent": "drinks"},
    ]


def test_price_change_is_served_at_once_from_detail_and_list(api_client):
    product = ProductFactory(sku="MILK", price=Decimal("1.10"))
    assert api_client.get("/api/products/MILK").json()["price"] == "1.10"
    assert api_client.get("/api/products").json()["results"][0]["price"] == "1.10"

    product.price = Decimal("1.25")
    product.save()

    assert api_client.get("/api/products/MILK").json()["price"] == "1.25"
    assert api_client.get("/api/products").json()["results"][0]["price"] == "1.25"
    assert skus(api_client.get("/api/products", {"max_price": "1.20"})) == []


def test_category_rename_is_served_at_once(api_client):
    category = CategoryFactory(slug="tea", name="Tea")
    ProductFactory(sku="T", category=category)
    api_client.get("/api/products/T")
    api_client.get("/api/categories")

    category.name = "Teas"
    category.save()

    assert api_client.get("/api/products/T").json()["category"]["name"] == "Teas"
    assert api_client.get("/api/categories").json()[0]["name"] == "Teas"


def test_new_product_appears_in_a_cached_list(api_client):
    ProductFactory(sku="OLD")
    assert skus(api_client.get("/api/products")) == ["OLD"]

    ProductFactory(sku="NEW", popularity=5)

    assert skus(api_client.get("/api/products")) == ["NEW", "OLD"]


def test_stock_changed_signal_refreshes_the_stock_hint(api_client, set_stock):
    product = ProductFactory(sku="LAST")
    set_stock(product, 1)
    assert api_client.get("/api/products/LAST").json()["stockHint"] == "low_stock"
    assert skus(api_client.get("/api/products", {"in_stock": "true"})) == ["LAST"]

    set_stock(product, 0)
    # inventory sends this after its commit; sending it here keeps the test about the catalogue
    stock_changed.send(sender=None, product_ids=[product.id])

    assert api_client.get("/api/products/LAST").json()["stockHint"] == "out_of_stock"
    assert skus(api_client.get("/api/products", {"in_stock": "true"})) == []


def test_cached_requests_need_no_sql_queries(api_client, set_stock):
    for product in ProductFactory.create_batch(30):
        set_stock(product, 10)
    some_sku = api_client.get("/api/products").json()["results"][0]["sku"]
    api_client.get(f"/api/products/{some_sku}")
    api_client.get("/api/categories")

    with CaptureQueriesContext(connection) as queries:
        assert api_client.get("/api/products").status_code == 200
        assert api_client.get(f"/api/products/{some_sku}").status_code == 200
        assert api_client.get("/api/categories").status_code == 200

    assert len(queries) == 0, [query["sql"] for query in queries]


def test_uncached_requests_use_a_bounded_number_of_queries(api_client, set_stock):
    category = CategoryFactory(slug="tea")
    products = ProductFactory.create_batch(30, category=category)
    for product in products:
        set_stock(product, 10)

    with CaptureQueriesContext(connection) as list_queries:
        assert api_client.get("/api/products", {"category": "tea"}).status_code == 200
    with CaptureQueriesContext(connection) as detail_queries:
        assert api_client.get(f"/api/products/{products[-1].sku}").status_code == 200

    # tree + ids, page documents, stock (inventory reads it in 2): independent of the page size
    assert len(list_queries) <= 5, [query["sql"] for query in list_queries]
    # product, stock (a page's worth of hints were cached by the list)
    assert len(detail_queries) <= 3, [query["sql"] for query in detail_queries]


def test_price_changed_by_another_process_is_served_at_once(api_client):
    """Another server process replacing the catalogue version only changes that shared token; this
    process's in-memory response bodies must not outlive it."""
    from django.core.cache import cache as shared_cache

    from catalogue.cache import VERSION_KEY
    from catalogue.models import Product

    ProductFactory(sku="BREAD", price=Decimal("2.00"))
    assert api_client.get("/api/products/BREAD").json()["price"] == "2.00"
    assert api_client.get("/api/products").json()["results"][0]["price"] == "2.00"

    # What the other process does: write the row (no signal here) and replace the token.
    Product.objects.filter(sku="BREAD").update(price=Decimal("2.40"))
    shared_cache.set(VERSION_KEY, "set-by-another-process", timeout=None)

    assert api_client.get("/api/products/BREAD").json()["price"] == "2.40"
    assert api_client.get("/api/products").json()["results"][0]["price"] == "2.40"


@pytest.mark.parametrize(
    "path", ["/api/products?ordering=name", "/api/products/HIT", "/api/categories"]
)
def test_cached_body_is_served_before_drf_with_the_same_headers(api_client, monkeypatch, path):
    """A hit skips DRF's request handling (negotiation, authentication, throttling) and still
    answers exactly what the miss answered."""
    from rest_framework.views import APIView

    ProductFactory(sku="HIT")
    handled_by_drf = []
    original_initial = APIView.initial
    monkeypatch.setattr(
        APIView,
        "initial",
        lambda view, request, *args, **kwargs: (
            handled_by_drf.append(request.path),
            original_initial(view, request, *args, **kwargs),
        ),
    )

    miss = api_client.get(path)
    hit = api_client.get(path)
    head = api_client.head(path)

    assert handled_by_drf == [path.split("?")[0]]
    assert miss.status_code == hit.status_code == head.status_code == 200
    assert hit.content == miss.content
    assert hit["Allow"] == miss["Allow"] == "GET, HEAD, OPTIONS"
    assert hit["Content-Type"] == miss["Content-Type"] == "application/json"


def test_bad_query_is_refused_every_time_never_cached(api_client):
    for _ in range(2):
        assert_problem(
            api_client.get("/api/products", {"min_price": "cheap"}), 400, "validation_error"
        )


@pytest.fixture
def version_recheck(settings, monkeypatch):
    """CATALOGUE_VERSION_RECHECK_SECONDS = 1 with a clock the test moves (returned)."""
    from catalogue import cache as catalogue_cache

    settings.CATALOGUE_VERSION_RECHECK_SECONDS = 1
    clock = {"now": 1000.0}
    monkeypatch.setattr(catalogue_cache.time, "monotonic", lambda: clock["now"])
    return clock


def test_with_a_recheck_interval_another_process_edit_shows_within_it(api_client, version_recheck):
    from django.core.cache import cache as shared_cache

    from catalogue.cache import VERSION_KEY
    from catalogue.models import Product

    ProductFactory(sku="BREAD", price=Decimal("2.00"))
    assert api_client.get("/api/products/BREAD").json()["price"] == "2.00"

    # Another server process edits: the row and the shared token change, nothing here is told.
    Product.objects.filter(sku="BREAD").update(price=Decimal("2.40"))
    shared_cache.set(VERSION_KEY, "set-by-another-process", timeout=None)

    version_recheck["now"] += 0.9
    assert api_client.get("/api/products/BREAD").json()["price"] == "2.00"
    version_recheck["now"] += 0.1
    assert api_client.get("/api/products/BREAD").json()["price"] == "2.40"


def test_with_a_recheck_interval_this_process_edits_show_at_once(
    api_client, version_recheck, set_stock
):
    product = ProductFactory(sku="BREAD", price=Decimal("2.00"))
    set_stock(product, 50)
    assert api_client.get("/api/products/BREAD").json()["price"] == "2.00"

    product.price = Decimal("2.40")
    product.save()
    assert api_client.get("/api/products/BREAD").json()["price"] == "2.40"

    set_stock(product, 0)
    stock_changed.send(sender=None, product_ids=[product.id])
    assert api_client.get("/api/products/BREAD").json()["stockHint"] == "out_of_stock"


def test_stock_hints_refuse_to_guess_when_nothing_counts_stock(monkeypatch):
    monkeypatch.setattr(stock, "_availability_reader", None)

    with pytest.raises(ImproperlyConfigured, match="Nothing counts stock"):
        stock.available_by_product_id(product_ids=[1])


def test_a_page_reads_its_own_ids_and_the_count_never_the_whole_list(api_client):
    """At 50,000 products a list's whole id list took 20 ms to read; a page costs the same at
    any size: its slice of the ordered ids (LIMIT/OFFSET on the ordering's index) and a count,
    each cached under the list's tokens."""
    category = CategoryFactory(slug="tea")
    for number in range(30):
        ProductFactory(sku=f"TEA-{number:02d}", popularity=number, category=category)

    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/products", {"page": 2, "page_size": 10})

    assert skus(response) == [f"TEA-{number:02d}" for number in range(19, 9, -1)]
    assert response.json()["count"] == 30
    id_reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith('SELECT "catalogue_product"."id" AS "id" FROM')
    ]
    assert len(id_reads) == 1 and "LIMIT 10 OFFSET 10" in id_reads[0], id_reads
    with CaptureQueriesContext(connection) as again:
        assert api_client.get("/api/products", {"page": 2, "page_size": 10}).status_code == 200
        assert skus(api_client.get("/api/products", {"page_size": 10}))[0] == "TEA-29"
    assert not [query for query in again.captured_queries if "COUNT(" in query["sql"]]
