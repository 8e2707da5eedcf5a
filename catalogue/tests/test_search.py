"""Product search (catalogue/search.py): ranking, typos, SKU fragments, highlighting and "did you
mean". Tests marked `postgres` exercise what only PostgreSQL has (stemming, trigrams)."""

import functools
from decimal import Decimal

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from catalogue.models import Product
from catalogue.tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def skus(response) -> list[str]:
    return [item["sku"] for item in response.json()["results"]]


@pytest.fixture
def grocer():
    food = CategoryFactory(slug="food", name="Food")
    drinks = CategoryFactory(slug="drinks", name="Drinks")
    ProductFactory(
        sku="JUI-0001",
        name="Apple Juice, 1 l",
        description="Pressed on a farm near the shop.",
        category=drinks,
        popularity=1,
    )
    ProductFactory(
        sku="CID-0002",
        name="Pear Cider, 500 ml",
        description="Dry cider, with a little apple for sharpness.",
        category=drinks,
        popularity=90,  # more popular: only relevance puts the juice first
    )
    ProductFactory(
        sku="CHO-0003",
        name="Dark Chocolate, 100 g",
        description="70 % cocoa.",
        category=food,
        popularity=50,
    )
    ProductFactory(
        sku="TEA-0104",
        name="Green Tea Leaves, 250 g",
        description="Loose leaves.",
        category=drinks,
        popularity=10,
    )
    ProductFactory(
        sku="TEA-0205",
        name="Black Tea Bags, 80 bags",
        description="A strong breakfast blend.",
        category=drinks,
        popularity=20,
    )


def test_a_name_match_ranks_above_a_description_match(api_client, grocer):
    assert skus(api_client.get("/api/products", {"q": "apple"})) == ["JUI-0001", "CID-0002"]


def test_an_explicit_ordering_overrides_relevance(api_client, grocer):
    assert skus(api_client.get("/api/products", {"q": "apple", "ordering": "-popularity"})) == [
        "CID-0002",
        "JUI-0001",
    ]


def test_relevance_without_a_search_lists_by_popularity(api_client, grocer):
    assert skus(api_client.get("/api/products", {"ordering": "relevance"}))[0] == "CID-0002"


def test_a_sku_fragment_finds_the_product(api_client, grocer):
    assert skus(api_client.get("/api/products", {"q": "TEA-01"})) == ["TEA-0104"]
    assert skus(api_client.get("/api/products", {"q": "cho-000"})) == ["CHO-0003"]


def test_a_search_reads_its_first_page_and_its_count_in_one_query(api_client, grocer):
    """A search ranks every match before it returns the first, so the count comes with the first
    page's ids: counting apart ran the whole search a second time."""
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/products", {"q": "tea", "page_size": 1})
        first_page = api_client.get("/api/products", {"q": "tea"})

    assert response.json()["count"] == 2 and skus(response) == ["TEA-0205"]
    assert skus(first_page) == ["TEA-0205", "TEA-0104"]
    searches = [
        query["sql"] for query in queries.captured_queries if "catalogue_product" in query["sql"]
    ]
    assert not [sql for sql in searches if "COUNT(*) AS" in sql], searches
    id_reads = [sql for sql in searches if sql.startswith('SELECT "catalogue_product"."id" AS')]
    # One read for both: the first page's ids with the count (the page of one is a slice of it),
    # then the same ids cached.
    assert len(id_reads) == 1 and "OVER" in id_reads[0], id_reads


def test_every_word_of_the_query_must_match(api_client, grocer):
    assert skus(api_client.get("/api/products", {"q": "green tea"})) == ["TEA-0104"]


def test_the_search_only_lists_products_on_sale(api_client, grocer):
    Product.objects.filter(sku="JUI-0001").update(is_active=False)
    assert skus(api_client.get("/api/products", {"q": "juice"})) == []


@pytest.mark.postgres
def test_a_typo_still_finds_the_product(api_client, grocer):
    assert skus(api_client.get("/api/products", {"q": "choclate"})) == ["CHO-0003"]
    assert skus(api_client.get("/api/products", {"q": "dark chocolte"})) == ["CHO-0003"]


@pytest.mark.postgres
def test_words_are_stemmed_and_the_web_search_syntax_applies(api_client, grocer):
    assert skus(api_client.get("/api/products", {"q": "apples"})) == ["JUI-0001", "CID-0002"]
    assert skus(api_client.get("/api/products", {"q": "apple -cider"})) == ["JUI-0001"]
    assert sorted(skus(api_client.get("/api/products", {"q": "juice or chocolate"}))) == [
        "CHO-0003",
        "JUI-0001",
    ]


@pytest.mark.postgres
def test_the_search_vector_follows_every_write_bulk_updates_included(api_client, grocer):
    product = Product.objects.get(sku="CHO-0003")
    product.name = "Milk Chocolate, 100 g"
    product.save()
    assert skus(api_client.get("/api/products", {"q": "milk"})) == ["CHO-0003"]

    # No signal, no Python: the database trigger writes the vector.
    Product.objects.filter(sku="TEA-0205").update(description="Smoky lapsang souchong.")
    from catalogue.cache import catalogue_cache_invalidate

    catalogue_cache_invalidate()
    assert skus(api_client.get("/api/products", {"q": "lapsang"})) == ["TEA-0205"]


@pytest.mark.postgres
def test_search_index_rebuild_rewrites_every_vector(grocer, settings):
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalogue_product SET search_vector = NULL")
    settings.CATALOGUE_SEARCH_CONFIG = "simple"
    call_command("rebuild_search_index")

    # `simple` does not stem: "apples" no longer finds "Apple"; "apple" still does.
    simple = functools.partial(SearchQuery, config="simple")
    assert not Product.objects.filter(search_vector=simple("apples")).exists()
    assert Product.objects.filter(search_vector=simple("apple")).count() == 2
    settings.CATALOGUE_SEARCH_CONFIG = "english"
    call_command("rebuild_search_index")


@pytest.mark.postgres
def test_no_match_offers_the_closest_words_of_product_names(client, grocer):
    response = client.get("/products/", {"q": "chcolat"})

    assert response.status_code == 200
    assert response.context["products"] == []
    assert response.context["suggestion"] == "chocolate"
    assert b'Did you mean <a href="?q=chocolate" rel="nofollow">chocolate</a>?' in (
        response.content
    )


def test_no_suggestion_when_products_match(client, grocer):
    response = client.get("/products/", {"q": "apple"})
    assert response.context["suggestion"] is None


def test_the_search_page_marks_the_query_words_in_product_names(client, grocer):
    response = client.get("/products/", {"q": "green tea"})

    assert b"<mark>Green</mark> <mark>Tea</mark> Leaves, 250 g" in response.content


def test_highlighting_escapes_the_name_and_the_query(client):
    ProductFactory(sku="XSS-1", name='<img src=x onerror="alert(1)"> Tea & <b>Cake</b>')

    content = client.get("/products/", {"q": "tea cake"}).content.decode()

    assert "<img src=x" not in content
    assert "<b>Cake" not in content
    assert (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <mark>Tea</mark> &amp; "
        "&lt;b&gt;<mark>Cake</mark>&lt;/b&gt;"
    ) in content

    content = client.get("/products/", {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


@pytest.mark.parametrize(
    ("text", "q", "expected"),
    [
        ("Green Tea", "", "Green Tea"),
        ("Green Tea", None, "Green Tea"),
        ("Green Tea", "tea", "Green <mark>Tea</mark>"),
        ("Tea & Teacakes", "tea", "<mark>Tea</mark> &amp; <mark>Tea</mark>cakes"),
        ("a<b", "<", "a&lt;b"),  # no word in the query: nothing to mark, still escaped
        ("x.y", ".*", "x.y"),  # the query is not a pattern
        ("Teabags", "tea teabags", "<mark>Teabags</mark>"),
    ],
)
def test_highlight_filter(text, q, expected):
    template = Template("{% load catalogue_search %}{{ text|highlight:q }}")
    assert template.render(Context({"text": text, "q": q})) == expected


def test_the_list_still_filters_and_orders_a_search(api_client, grocer):
    Product.objects.filter(sku="TEA-0205").update(price=Decimal("2.00"))
    from catalogue.cache import catalogue_cache_invalidate

    catalogue_cache_invalidate()
    response = api_client.get("/api/products", {"q": "tea", "ordering": "price"})
    assert skus(response) == ["TEA-0205", "TEA-0104"]
    response = api_client.get("/api/products", {"q": "tea", "max_price": "5.00"})
    assert skus(response) == ["TEA-0205"]
