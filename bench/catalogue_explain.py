"""EXPLAIN (ANALYZE) of the product list's queries, as a cache miss runs them (run by
bench/catalogue_scale.py in the benchmark's environment): a page's ids (`LIMIT`/`OFFSET` on the
ordering's index) and the filter's count, for the whole list, a department with its
sub-categories, and two searches."""

import django

django.setup()

from django.db import connection  # noqa: E402

from catalogue import selectors  # noqa: E402
from catalogue.models import Category  # noqa: E402

PAGE = 20
departments = {
    category.slug: selectors.category_with_descendant_ids(slug=category.slug)
    for category in Category.objects.filter(parent=None)
}
largest = max(
    departments,
    key=lambda slug: selectors.product_list(
        filters=selectors.ProductFilters(), category_ids=departments[slug]
    ).count(),
)
CASES = {
    "list, most popular first": (selectors.ProductFilters(), [1, 1000]),
    "list by price": (selectors.ProductFilters(ordering="price"), [1]),
    f"department {largest} with its sub-categories": (
        selectors.ProductFilters(category=largest),
        [1],
    ),
    "search of two words (honey chocolate), ranked": (
        selectors.ProductFilters(q="honey chocolate", ordering="relevance"),
        [1],
    ),
    "search with a typo (chocolte), ranked": (
        selectors.ProductFilters(q="chocolte", ordering="relevance"),
        [1],
    ),
}
for name, (filters, pages) in CASES.items():
    category_ids = departments.get(filters.category) if filters.category else None
    products = selectors.product_list(filters=filters, category_ids=category_ids)
    ids = products.values_list("id", flat=True)
    for page in pages:
        offset = (page - 1) * PAGE
        plan = ids[offset : offset + PAGE].explain(analyze=True)
        print(f"--- {name}: page {page}\n{plan}\n")
    # As the count runs it: the filter's rows, no ranking, no order.
    sql, params = products.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ANALYZE SELECT COUNT(*) FROM ({sql}) AS page", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print(f"--- {name}: count\n{plan}\n")
