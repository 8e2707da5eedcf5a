"""EXPLAIN (ANALYZE) of the product list's queries, as a cache miss runs them (run by
bench/catalogue_scale.py in the benchmark's environment)."""

import django

django.setup()

from django.db.models import Count  # noqa: E402

from catalogue import search, selectors  # noqa: E402
from catalogue.models import Category  # noqa: E402

largest = Category.objects.annotate(size=Count("products")).order_by("-size").first()
CASES = {
    "list, most popular first (page 1 and every page)": selectors.ProductFilters(),
    "list by price": selectors.ProductFilters(ordering="price"),
    f"category {largest.slug} with its sub-categories": selectors.ProductFilters(
        category=largest.slug
    ),
    "search of two words (honey chocolate), ranked": selectors.ProductFilters(
        q="honey chocolate", ordering="relevance"
    ),
    "search with a typo (chocolte), ranked": selectors.ProductFilters(
        q="chocolte", ordering="relevance"
    ),
}
for name, filters in CASES.items():
    category_ids = None
    if filters.category:
        category_ids = selectors.category_with_descendant_ids(slug=filters.category)
    products = selectors.product_list(filters=filters, category_ids=category_ids)
    with search.similarity_threshold():
        plan = products.values_list("id", flat=True).explain(analyze=True)
    print(f"--- {name}\n{plan}\n")
