"""Reads of the catalogue. Every query the API, admin and other apps need is built here, once."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Window

from catalogue import search, stock
from catalogue.errors import ProductNotFound
from catalogue.models import Category, Product

ORDERINGS = {
    # By how well products match the search (`q`); without one, as DEFAULT_ORDERING.
    "relevance": ("-relevance", "-popularity", "id"),
    "price": ("price", "id"),
    "-price": ("-price", "id"),
    "name": ("name", "id"),
    "-popularity": ("-popularity", "id"),
}
DEFAULT_ORDERING = "-popularity"
SEARCH_ORDERING = "relevance"  # the default when searching
IN_LIST_CHUNK = 5_000  # values per `IN (...)`: below SQLite's bound on query parameters


@dataclass(frozen=True)
class ProductFilters:
    """Validated list filters; `None` means "not filtered"."""

    category: str | None = None
    q: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    ordering: str = DEFAULT_ORDERING


def product_get_active(*, sku: str) -> Product:
    """The active product with this SKU (category loaded); `ProductNotFound` otherwise."""
    try:
        return Product.objects.select_related("category").get(sku=sku, is_active=True)
    except Product.DoesNotExist:
        raise ProductNotFound(f"No product with SKU {sku!r} is on sale.", sku=sku) from None


def products_on_sale(*, skus: Iterable[str]) -> QuerySet[Product]:
    """The active products among these SKUs (unknown or inactive SKUs are simply absent), as a
    queryset another app can filter its own rows by."""
    return Product.objects.filter(sku__in=set(skus), is_active=True)


def product_weights_by_sku(*, skus: Iterable[str]) -> dict[str, int | None]:
    """Shipping weight of one unit per SKU, sold or not (None when not recorded)."""
    return dict(Product.objects.filter(sku__in=list(skus)).values_list("sku", "weight_grams"))


def products_by_sku(*, skus: Iterable[str]) -> dict[str, Product]:
    """The products with these SKUs, on sale or not, by SKU (unknown SKUs are absent): stock is
    counted and received for both, and a supplier's prices apply to both."""
    skus = sorted(set(skus))
    found = {}
    for start in range(0, len(skus), IN_LIST_CHUNK):
        chunk = skus[start : start + IN_LIST_CHUNK]
        found.update((product.sku, product) for product in Product.objects.filter(sku__in=chunk))
    return found


def products_all() -> QuerySet[Product]:
    """Every product, on sale or not, as a queryset another app can narrow (a cart still lists
    a line whose product is no longer sold)."""
    return Product.objects.all()


def products_by_id(*, product_ids: Iterable[int]) -> QuerySet[Product]:
    """These products, in no particular order."""
    return Product.objects.select_related("category").filter(id__in=list(product_ids)).order_by()


def product_count() -> int:
    """Products in the catalogue, on sale or not."""
    return Product.objects.count()


def product_skus_existing(*, skus: Iterable[str]) -> set[str]:
    """Those of `skus` that name a product, on sale or not."""
    skus = sorted(set(skus))
    existing = set()
    for start in range(0, len(skus), IN_LIST_CHUNK):
        chunk = skus[start : start + IN_LIST_CHUNK]
        existing.update(Product.objects.filter(sku__in=chunk).values_list("sku", flat=True))
    return existing


def product_skus_most_popular(*, top: int) -> list[str]:
    """SKUs of the `top` most popular active products, most popular first."""
    products = Product.objects.filter(is_active=True).order_by(*ORDERINGS["-popularity"])
    return list(products.values_list("sku", flat=True)[:top])


def category_list() -> QuerySet[Category]:
    return Category.objects.select_related("parent").order_by("name", "id")


def category_with_descendant_ids(*, slug: str) -> list[int] | None:
    """Ids of the category and every category below it; `None` for an unknown slug.

    One query for the whole (small) tree, walked in Python, instead of one query per level.
    """
    children_by_parent: dict[int | None, list[int]] = {}
    root_id = None
    for category_id, parent_id, category_slug in Category.objects.values_list(
        "id", "parent_id", "slug"
    ):
        children_by_parent.setdefault(parent_id, []).append(category_id)
        if category_slug == slug:
            root_id = category_id
    if root_id is None:
        return None
    ids, pending = [], [root_id]
    while pending:
        category_id = pending.pop()
        if category_id in ids:  # a cycle made through the admin must not hang the request
            continue
        ids.append(category_id)
        pending.extend(children_by_parent.get(category_id, []))
    return ids


def category_slugs_with_ancestors(*, category_ids: Iterable[int]) -> set[str]:
    """Slugs of these categories and of every category above them (one query for the tree)."""
    parents, slugs = {}, {}
    for category_id, parent_id, slug in Category.objects.values_list("id", "parent_id", "slug"):
        parents[category_id], slugs[category_id] = parent_id, slug
    found: set[str] = set()
    pending = [category_id for category_id in category_ids if category_id in slugs]
    while pending:
        category_id = pending.pop()
        if slugs[category_id] in found:  # a cycle made through the admin must not hang the save
            continue
        found.add(slugs[category_id])
        if parents[category_id] is not None:
            pending.append(parents[category_id])
    return found


def product_list(*, filters: ProductFilters, category_ids: list[int] | None = None) -> QuerySet:
    """Active products matching the filters, in the requested stable order.

    `category_ids` is the category and its descendants (see `category_with_descendant_ids`).
    Stock lives in inventory and is read through the count it registers (`catalogue.stock`), so
    `in_stock` narrows the otherwise filtered ids by their availability (one query each; fine at
    shop scale).
    """
    products = Product.objects.select_related("category").filter(is_active=True)
    if category_ids is not None:
        products = products.filter(category_id__in=category_ids)
    ordering = filters.ordering
    if filters.q:
        products = search.products_matching(products, filters.q)
    elif ordering == SEARCH_ORDERING:
        ordering = DEFAULT_ORDERING
    if filters.min_price is not None:
        products = products.filter(price__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(price__lte=filters.max_price)
    if filters.in_stock is not None:
        product_ids = list(products.values_list("id", flat=True))
        available = stock.available_by_product_id(product_ids=product_ids)
        products = products.filter(
            id__in=[
                product_id
                for product_id in product_ids
                if (available.get(product_id, 0) > 0) is filters.in_stock
            ]
        )
    return products.order_by(*ORDERINGS[ordering])


def product_ids_first_counted(products: QuerySet[Product], *, limit: int) -> tuple[list[int], int]:
    """The first `limit` ids of `products` in its order, and how many products it holds, in one
    query. Meant for a search, which ranks every match before it returns the first: counting
    them beside the page costs nothing more, where a count of its own ran the search twice."""
    rows = list(products.annotate(total=Window(Count("*"))).values_list("id", "total")[:limit])
    return [product_id for product_id, _total in rows], rows[0][1] if rows else 0


def stock_hints_by_product_id(*, product_ids: list[int]) -> dict[int, str]:
    """`in_stock` / `low_stock` / `out_of_stock` per product; never the exact count."""
    available = stock.available_by_product_id(product_ids=product_ids)
    return {
        product_id: str(stock.stock_hint(available.get(product_id, 0)))
        for product_id in product_ids
    }
