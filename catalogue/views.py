"""Catalogue pages: home, product list (category, search, filters, sort, pages) and detail.

They read through the same cached path as the API (`catalogue.cache`) and validate the query with
the API's own `ProductFilterSerializer`, so a filter rule lives in one place.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from catalogue import cache, search
from catalogue.api.serializers import ProductFilterSerializer
from catalogue.errors import ProductNotFound, UnknownCategory
from catalogue.selectors import DEFAULT_ORDERING, SEARCH_ORDERING, ProductFilters

PRODUCTS_PER_PAGE = 24
POPULAR_ON_HOME = 8
ORDERING_LABELS = {
    "relevance": "Best match",
    "-popularity": "Most popular",
    "price": "Price: low to high",
    "-price": "Price: high to low",
    "name": "Name: A to Z",
}
STOCK_HINT_LABELS = {
    "in_stock": "In stock",
    "low_stock": "Only a few left",
    "out_of_stock": "Out of stock",
}


def _with_stock_labels(documents: list[dict]) -> list[dict]:
    return [
        {**document, "stock_label": STOCK_HINT_LABELS[document["stockHint"]]}
        for document in documents
    ]


def category_tree() -> list[dict]:
    """Top-level categories, each with its sub-categories (`children`), names in order."""
    documents = cache.category_documents()
    children: dict[str | None, list[dict]] = {}
    for document in documents:
        children.setdefault(document["parent"], []).append(document)

    def branch(parent_slug: str | None) -> list[dict]:
        return [
            {**document, "children": branch(document["slug"])}
            for document in children.get(parent_slug, [])
        ]

    return branch(None)


@require_GET
def home(request):
    popular_ids = cache.product_ids_cached(filters=ProductFilters())[:POPULAR_ON_HOME]
    return render(
        request,
        "catalogue/home.html",
        {
            "popular_products": _with_stock_labels(
                cache.product_list_documents(product_ids=popular_ids)
            ),
            "categories": category_tree(),
        },
    )


@require_GET
def product_list(request):
    query = {key: value for key, value in request.GET.items() if value != "" and key != "page"}
    filter_serializer = ProductFilterSerializer(data=query)
    errors = {}
    if filter_serializer.is_valid():
        filters = filter_serializer.to_filters()
    else:
        errors = filter_serializer.errors
        filters = ProductFilters()
    try:
        product_ids = cache.product_ids_cached(filters=filters)
    except UnknownCategory as error:
        raise Http404(error.detail) from error
    page = Paginator(product_ids, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    categories = category_tree()
    current_category = next(
        (
            document
            for document in cache.category_documents()
            if document["slug"] == filters.category
        ),
        None,
    )
    return render(
        request,
        "catalogue/product_list.html",
        {
            "search_query": filters.q,
            "suggestion": search.search_suggestion(filters.q)
            if filters.q and not product_ids
            else None,
            "products": _with_stock_labels(
                cache.product_list_documents(product_ids=list(page.object_list))
            ),
            "page": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2),
            "filters": filters,
            "filter_errors": errors,
            "query": request.GET,
            "categories": categories,
            "current_category": current_category,
            "orderings": ORDERING_LABELS
            if filters.q
            else {key: label for key, label in ORDERING_LABELS.items() if key != SEARCH_ORDERING},
            "default_ordering": DEFAULT_ORDERING,
        },
        status=400 if errors else 200,
    )


@require_GET
def product_detail(request, sku: str):
    try:
        product = cache.product_detail_document(sku=sku)
    except ProductNotFound as error:
        raise Http404(error.detail) from error
    return render(
        request,
        "catalogue/product_detail.html",
        {
            "product": {**product, "stock_label": STOCK_HINT_LABELS[product["stockHint"]]},
            "max_quantity": settings.CART_MAX_QTY_PER_LINE,
        },
    )
