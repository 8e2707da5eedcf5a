"""The product list's queries stay index-backed as the catalogue grows (PostgreSQL's planner,
on a table large enough and analysed): none reads the whole product table.

A cache miss of a list page (`catalogue.cache.product_ids_cached`) runs these queries with
`LIMIT`/`OFFSET` for the page's ids, and a count of them."""

from decimal import Decimal

import pytest
from django.db import connection

from catalogue import selectors
from catalogue.models import Category, Product
from catalogue.services import catalogue_import

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PRODUCTS = 6_000


@pytest.fixture(scope="module")
def large_catalogue(django_db_setup, django_db_blocker):
    """Loaded through the shop's bulk import and committed, then planned at once: no VACUUM or
    ANALYZE here, nor time for autovacuum (the import's own statistics refresh must do)."""
    parents = [{"slug": f"aisle-{number}", "name": f"Aisle {number}"} for number in range(4)]
    shelves = [
        {"slug": f"shelf-{number}", "name": f"Shelf {number}", "parent": f"aisle-{number % 4}"}
        for number in range(40)
    ]
    brands = [f"Brand{letter}{number}" for letter in "ABCDEFGH" for number in range(5)]
    kinds = [f"{stem}{suffix}" for stem in ("bread", "cheese", "honey", "screw", "candle",
             "soap", "coffee", "jam", "tea", "rice") for suffix in ("", "s", "let", "ery", "ish",
             "wood")]  # fmt: skip
    products = [
        {
            "sku": f"SKU-{number:06d}",
            "slug": f"sku-{number:06d}",
            "name": f"{brands[number % 40]} {kinds[(number // 40) % 60]} {number}",
            "description": f"Good {kinds[(number * 7) % 60]} from the shop.",
            "category": f"shelf-{number % 40}",
            "price": str(Decimal(number % 5000) / 100),
            "popularity": (number * 7919) % 1000,
            "is_active": number % 50 != 0,
        }
        for number in range(PRODUCTS)
    ]
    with django_db_blocker.unblock():
        catalogue_import(categories=parents + shelves, products=products)
        yield
        Product.objects.all().delete()
        Category.objects.filter(parent__isnull=False).delete()
        Category.objects.all().delete()


def plan(filters: selectors.ProductFilters) -> str:
    category_ids = None
    if filters.category:
        category_ids = selectors.category_with_descendant_ids(slug=filters.category)
    products = selectors.product_list(filters=filters, category_ids=category_ids)
    return products.values_list("id", flat=True).explain()


@pytest.mark.parametrize(
    "filters",
    [
        selectors.ProductFilters(),
        selectors.ProductFilters(ordering="price"),
        selectors.ProductFilters(ordering="-price"),
        selectors.ProductFilters(ordering="name"),
        selectors.ProductFilters(category="shelf-7"),
        selectors.ProductFilters(category="aisle-1", ordering="price"),
        selectors.ProductFilters(min_price=Decimal("10.00"), max_price=Decimal("10.50")),
        selectors.ProductFilters(q="BrandC2 honeylet", ordering="relevance"),
        selectors.ProductFilters(q="SKU-0042", ordering="relevance"),
        # A misspelt word ("candlewod") uses the name's trigram index too at 50,000 products
        # (bench/README.md), but the planner over-estimates its matches at this size.
    ],
    ids=lambda filters: ",".join(
        f"{name}={value}" for name, value in vars(filters).items() if value is not None
    ),
)
def test_list_queries_use_an_index_right_after_a_bulk_load(large_catalogue, db, filters):
    query_plan = plan(filters)

    assert "Seq Scan on catalogue_product" not in query_plan, query_plan


def test_a_large_import_in_a_callers_transaction_refreshes_the_statistics(
    db, django_capture_on_commit_callbacks
):
    """Still inside a transaction when its callbacks run (VACUUM cannot), the import analyses:
    a freshly loaded catalogue would otherwise be planned as an empty table until autovacuum
    runs: sequential scans for the list and the search."""

    def estimated_rows() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'catalogue_product'")
            return cursor.fetchone()[0]

    with django_capture_on_commit_callbacks(execute=True):
        catalogue_import(
            categories=[{"slug": "bulk", "name": "Bulk"}],
            products=[
                {"sku": f"B-{number}", "name": f"Bulk {number}", "category": "bulk", "price": "1"}
                for number in range(1_200)
            ],
        )

    assert estimated_rows() == Product.objects.count()
