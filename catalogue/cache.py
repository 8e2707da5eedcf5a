"""The cached read path of the catalogue.

Prices may be cached for long, yet no stale price may ever be served after an edit. Every cached
document is stored under the current values of the *tokens* it was read under, and a write
replaces exactly the tokens whose documents it may change (at once, and again after the commit,
so a reader that re-filled the cache between the two from the not-yet-committed state is orphaned
too). Old entries are never read again and simply expire. The tokens, all in the shared cache:

- the *catalogue version*: everything depends on it; a category save or delete replaces it (a
  category's name is in every product document), as does `catalogue_cache_invalidate()`;
- a *product token* per product id (its list document) and a *SKU token* per SKU (its product
  page, or the "no such product" answer), both replaced by any change of that product;
- *list tokens* per scope (every product, or one category slug) and aspect (`LIST_ASPECTS`): the
  cached id list of a filter depends on the scope's membership token plus the aspects it sorts
  or filters by. A product change replaces them for the scopes it is or was in (every product and
  each category above its old and new category) and only the aspects whose fields changed, so a
  price change re-sorts the price-ordered lists, while a list ordered by popularity keeps its ids
  and only the pages showing that product are rebuilt (they depend on its product token).

So editing product A never evicts product B's page. Saves and deletes go through the model
signals (`catalogue.receivers`); `QuerySet.update()` and `bulk_update()` send none: code that
bulk-writes products reports what it changed with `products_changed()` (one step at its end), and
a batch of saves inside `invalidation_batch()` is reported in one step as the batch closes.

Stock hints are cached apart, per product, for `CATALOGUE_STOCK_HINT_CACHE_SECONDS` only, and are
dropped when inventory sends `catalogue.signals.stock_changed`. The `in_stock` list filter depends
on stock, so its id lists are keyed by a *stock version* as well and live as short as a hint.
A hint is advice, not a promise (reservations decide): one read just before a change and stored
just after the drop is at most `CATALOGUE_STOCK_HINT_CACHE_SECONDS` old.

This needs a cache shared by every server process (Redis in production); the locmem default is
per process, which is right only for the single-process development server and the tests.

On top, each server process keeps finished response bodies in its own memory, each with the
shared-cache values it was built from (`Reads`: the tokens and the stock hints it shows) and kept
no longer than a stock hint. A cached request then costs one shared-cache round trip (reading
those values again, one `MGET`) and no SQL, and an edit is still seen by every process on its
next request (unless an operator sets CATALOGUE_VERSION_RECHECK_SECONDS, see
`response_body_lookup`).
"""

import contextlib
import hashlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from rest_framework.renderers import JSONRenderer

from catalogue import selectors
from catalogue.errors import ProductNotFound, UnknownCategory

logger = logging.getLogger(__name__)

VERSION_KEY = "catalogue:version"
STOCK_VERSION_KEY = "catalogue:stock-version"
MISSING = "missing"  # cached answer for an unknown SKU / category, under the same tokens
EVERY_PRODUCT = "*"  # the list scope of lists not filtered by category

# What the cached id lists depend on, by the product field (attname) that changes it.
# `members`: which products are in a scope at all; the others: the orderings and filters.
LIST_ASPECTS = {
    "is_active": {"members"},
    "category_id": {"members"},
    "popularity": {"popularity"},
    "price": {"price"},
    "name": {"name", "text"},
    "sku": {"text"},
    "description": {"text"},
}
ALL_LIST_ASPECTS = frozenset(set().union(*LIST_ASPECTS.values()))
# Past this many products in one report, replacing the catalogue version (one write) costs less
# than two tokens per product, and nearly everything is rebuilt anyway.
WHOLE_CATALOGUE_CHANGE = 10_000
ORDERING_ASPECTS = {
    "relevance": "text",
    "-popularity": "popularity",
    "price": "price",
    "-price": "price",
    "name": "name",
}


def _digest(text: str) -> str:
    """A short, safe cache key part for free text (search terms may hold any character)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _new_token() -> str:
    return uuid.uuid4().hex


def _product_token_key(product_id: int) -> str:
    return f"catalogue:token:product:{product_id}"


def _sku_token_key(sku: str) -> str:
    return f"catalogue:token:sku:{_digest(sku)}"


def _list_token_key(scope: str, aspect: str) -> str:
    return f"catalogue:token:list:{aspect}:{scope}"


@dataclass
class Reads:
    """The shared-cache values (tokens, stock hints) a document was built from, by key: the
    document is current exactly while every one of them is unchanged."""

    values: dict[str, Any] = field(default_factory=dict)


def _tokens(keys: list[str], reads: Reads | None) -> list[str]:
    """The current tokens under these keys (one round trip when all exist), recorded in `reads`.

    A token never set, or evicted, starts afresh with `add`, which orphans anything older and
    never overwrites a token a concurrent edit has just written. While the cache is unreachable
    (it answers nothing) each read gets a token of its own, under which nothing was ever stored:
    everything is read from the database, and no response body is reused.
    """
    found = cache.get_many(keys)
    missing = {key: _new_token() for key in keys if key not in found}
    if missing:
        found.update(_tokens_started(missing))
    if reads is not None:
        reads.values.update((key, found[key]) for key in keys)
    return [found[key] for key in keys]


def _tokens_started(tokens: dict[str, str]) -> dict[str, str]:
    """Start these tokens where no token is set, and return each key's token (another request's,
    when it started one first). On the project's Redis cache one round trip for them all: after
    a flush, a first sight of a list page starts 20 product tokens, which took 40 round trips."""
    get_or_add_many = getattr(cache, "get_or_add_many", None)
    if get_or_add_many is not None:
        held = get_or_add_many(tokens, timeout=None)
    else:
        held = {}
        for key, token in tokens.items():
            cache.add(key, token, timeout=None)
            held[key] = cache.get(key)
    # Nothing held (the cache unreachable): a token of its own, under which nothing was stored.
    return {key: held.get(key) or token for key, token in tokens.items()}


# Per process, bounded (LRU culling); entries expire as fast as a stock hint.
_response_bodies = LocMemCache(
    "catalogue-response-bodies", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 5000}}
)
# How many cache invalidations this process has made: with CATALOGUE_VERSION_RECHECK_SECONDS,
# a body checked before this process's own last edit is checked again.
_local_edits = 0


def response_body_lookup(*, key: str) -> bytes | None:
    """This process's JSON body for `key` (a description of the request), if every value it was
    built from is still current: one shared-cache round trip, or none while an operator's
    CATALOGUE_VERSION_RECHECK_SECONDS says a body checked that recently is trusted (another
    process's edit then shows up to that late; this process's own edits show at once)."""
    entry_key = _digest(key)
    entry = _response_bodies.get(entry_key)
    if entry is None:
        return None
    read_keys, read_values, body, checked_at, checked_edits, expires_at = entry
    recheck_seconds = settings.CATALOGUE_VERSION_RECHECK_SECONDS
    now = time.monotonic()
    if recheck_seconds > 0 and checked_edits == _local_edits and now - checked_at < recheck_seconds:
        return body
    current = cache.get_many(read_keys)
    if tuple(current.get(read_key) for read_key in read_keys) != read_values:
        return None
    if recheck_seconds > 0:
        entry = (read_keys, read_values, body, now, _local_edits, expires_at)
        _response_bodies.set(entry_key, entry, timeout=max(expires_at - now, 0.001))
    return body


def response_body_store(*, key: str, reads: Reads, data: Any) -> bytes:
    """Render `data` (built under `reads`) and keep it for the next lookup."""
    body = JSONRenderer().render(data)
    # Spread over the second half of a hint's lifetime: bodies stored together (at start-up, after
    # an edit) would otherwise all expire in the same instant and be rebuilt in one burst.
    timeout = settings.CATALOGUE_STOCK_HINT_CACHE_SECONDS * random.uniform(0.5, 1.0)
    now = time.monotonic()
    read_keys = tuple(reads.values)
    entry = (read_keys, tuple(reads.values.values()), body, now, _local_edits, now + timeout)
    _response_bodies.set(_digest(key), entry, timeout=timeout)
    return body


def catalogue_cache_invalidate() -> None:
    """Orphan every cached product, list and category document, now and after the commit."""
    _tokens_replace([VERSION_KEY])


@dataclass(frozen=True)
class ProductChange:
    """What a write did to one product, as far as the cache cares."""

    product_id: int
    skus: frozenset[str]  # before and after
    category_ids: frozenset[int]  # before and after
    list_aspects: frozenset[str]  # the `LIST_ASPECTS` it may have changed


def product_change(product, *, previous: dict[str, Any] | None) -> ProductChange:
    """The change of `product` (as saved) from `previous` (its row's values as read, by attname;
    None when unknown, e.g. a new product, so every aspect counts as changed)."""
    skus, category_ids = {product.sku}, {product.category_id}
    if previous is None:
        return ProductChange(product.id, frozenset(skus), frozenset(category_ids), ALL_LIST_ASPECTS)
    skus.add(previous.get("sku", product.sku))
    category_ids.add(previous.get("category_id", product.category_id))
    aspects: set[str] = set()
    for attname, field_aspects in LIST_ASPECTS.items():
        if attname not in previous or previous[attname] != getattr(product, attname):
            aspects |= field_aspects
    return ProductChange(product.id, frozenset(skus), frozenset(category_ids), frozenset(aspects))


_batch = threading.local()


@contextlib.contextmanager
def invalidation_batch() -> Iterator[None]:
    """Collect the product changes reported inside (saves included) and report them in one step
    as the block closes: a bulk import replaces each token once, not once per row."""
    if getattr(_batch, "changes", None) is not None:  # nested: the outer batch reports
        yield
        return
    _batch.changes = []
    try:
        yield
    except BaseException:
        # Whatever was saved before the error (if anything outlives it): no query needed here.
        _batch.changes = None
        catalogue_cache_invalidate()
        raise
    changes, _batch.changes = _batch.changes, None
    products_changed(changes)


def products_changed(changes: Iterable[ProductChange]) -> None:
    """Orphan the cached documents these product changes may have changed, now and after the
    commit: each product's documents, and the id lists of the scopes it is or was in, for the
    aspects it changed. Nothing else: other products' pages stay cached."""
    changes = list(changes)
    pending = getattr(_batch, "changes", None)
    if pending is not None:
        pending.extend(changes)
        return
    if not changes:
        return
    if len(changes) > WHOLE_CATALOGUE_CHANGE:
        catalogue_cache_invalidate()
        return
    keys: set[str] = set()
    scoped_aspects: set[str] = set()
    category_ids: set[int] = set()
    for change in changes:
        keys.add(_product_token_key(change.product_id))
        keys.update(_sku_token_key(sku) for sku in change.skus)
        scoped_aspects |= change.list_aspects
        if change.list_aspects:
            category_ids |= change.category_ids
    if scoped_aspects:
        scopes = {EVERY_PRODUCT} | selectors.category_slugs_with_ancestors(
            category_ids=category_ids
        )
        # One aspect set for the whole batch: a list that only one product's aspect touched may
        # be rebuilt once more than needed, never less.
        keys.update(_list_token_key(scope, aspect) for scope in scopes for aspect in scoped_aspects)
    _tokens_replace(sorted(keys))


def _tokens_replace(keys: list[str]) -> None:
    _tokens_set(keys)
    transaction.on_commit(lambda: _tokens_set(keys))


def _tokens_set(keys: list[str]) -> None:
    global _local_edits
    cache.set_many({key: _new_token() for key in keys}, timeout=None)
    _local_edits += 1


def stock_hints_invalidate(*, product_ids: list[int]) -> None:
    """Drop cached stock hints of these products and every stock-filtered list."""
    cache.delete_many([_stock_hint_key(product_id) for product_id in product_ids])
    _tokens_set([STOCK_VERSION_KEY])


def _stock_hint_key(product_id: int) -> str:
    return f"catalogue:stock-hint:{product_id}"


def stock_hints_cached(*, product_ids: list[int], reads: Reads | None = None) -> dict[int, str]:
    keys = {product_id: _stock_hint_key(product_id) for product_id in product_ids}
    found = cache.get_many(list(keys.values()))
    hints = {product_id: found[key] for product_id, key in keys.items() if key in found}
    missing = [product_id for product_id in product_ids if product_id not in hints]
    if missing:
        fresh = selectors.stock_hints_by_product_id(product_ids=missing)
        cache.set_many(
            {keys[product_id]: hint for product_id, hint in fresh.items()},
            timeout=settings.CATALOGUE_STOCK_HINT_CACHE_SECONDS,
        )
        hints.update(fresh)
    if reads is not None:
        reads.values.update((keys[product_id], hints[product_id]) for product_id in product_ids)
    return hints


def _list_token_keys(filters: selectors.ProductFilters) -> list[str]:
    scope = filters.category if filters.category is not None else EVERY_PRODUCT
    aspects = ["members", ORDERING_ASPECTS[filters.ordering]]
    if filters.min_price is not None or filters.max_price is not None:
        aspects.append("price")
    if filters.q is not None:
        aspects.append("text")
    keys = [VERSION_KEY, *(_list_token_key(scope, aspect) for aspect in dict.fromkeys(aspects))]
    if filters.in_stock is not None:
        keys.append(STOCK_VERSION_KEY)
    return keys


def product_ids_cached(
    *, filters: selectors.ProductFilters, reads: Reads | None = None
) -> "ProductIds":
    """Ids of the active products matching the filters, in order: a sequence whose length (the
    count) and each slice asked for (a page) are cached under the list's tokens, one cache read
    each when warm. A miss runs the one index-backed query that slice needs (`LIMIT`/`OFFSET`),
    never a read of the whole list: at 50,000 products the whole id list cost 20 ms a miss, a
    page 0.4 ms (a deep one 1.5 ms) and the count 3 ms.

    Raises `UnknownCategory` for a category slug that does not exist.
    """
    tokens = _tokens(_list_token_keys(filters), reads)
    parts = [f"{name}={value}" for name, value in asdict(filters).items() if value is not None]
    key = f"catalogue:ids:{_digest('&'.join(parts + tokens))}"
    timeout = settings.CATALOGUE_CACHE_SECONDS
    if filters.in_stock is not None:
        timeout = settings.CATALOGUE_STOCK_HINT_CACHE_SECONDS
    head, first_page = cache.get(key), None
    if head is None:
        head, first_page = _product_ids_head(filters=filters)
        if first_page:
            first_page_key = _slice_key(key, 0, len(first_page))
            cache.set_many({key: head, first_page_key: first_page}, timeout=timeout)
        else:
            cache.set(key, head, timeout=timeout)
    if head == MISSING:
        raise UnknownCategory(
            f"No category with the slug {filters.category!r}.",
            errors={"category": ["No category with this slug."]},
        )
    count, category_ids = head
    return ProductIds(
        filters=filters,
        category_ids=category_ids,
        count=count,
        key=key,
        timeout=timeout,
        first_page=first_page,
    )


def _product_ids_head(
    *, filters: selectors.ProductFilters
) -> tuple[tuple[int, list[int] | None] | str, list[int] | None]:
    """(count, the category ids the filter reads) or MISSING for an unknown category; and for a
    search, the ids of its first page (of the API's default size), read with the count."""
    category_ids = None
    if filters.category is not None:
        category_ids = selectors.category_with_descendant_ids(slug=filters.category)
        if category_ids is None:
            return MISSING, None
    products = selectors.product_list(filters=filters, category_ids=category_ids)
    if filters.q is None:
        return (products.count(), category_ids), None
    first_page, count = selectors.product_ids_first_counted(
        products, limit=settings.REST_FRAMEWORK["PAGE_SIZE"]
    )
    return (count, category_ids), first_page


def _slice_key(key: str, start: int, stop: int) -> str:
    return f"{key}:{start}:{stop}"


class ProductIds(Sequence):
    """A filter's product ids in order, read and cached a slice at a time (see
    `product_ids_cached`); Django's and DRF's paginators take it as they take a queryset."""

    def __init__(
        self,
        *,
        filters: selectors.ProductFilters,
        category_ids: list[int] | None,
        count: int,
        key: str,
        timeout: float,
        first_page: list[int] | None = None,
    ):
        self._filters, self._category_ids = filters, category_ids
        self._count, self._key, self._timeout = count, key, timeout
        self._first_page = first_page or []  # read with the count: a slice within needs no read

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if not isinstance(index, slice):
            if not -self._count <= index < self._count:
                raise IndexError("product index out of range")
            index %= self._count
            return self[index : index + 1][0]
        start, stop, step = index.indices(self._count)
        if step != 1:
            raise ValueError("a slice of product ids takes no step")
        if start >= stop:
            return []
        if stop <= len(self._first_page):
            return self._first_page[start:stop]
        key = _slice_key(self._key, start, stop)
        product_ids = cache.get(key)
        if product_ids is None:
            products = selectors.product_list(
                filters=self._filters, category_ids=self._category_ids
            ).values_list("id", flat=True)
            product_ids = list(products[start:stop])
            cache.set(key, product_ids, timeout=self._timeout)
        return product_ids


def product_list_documents(*, product_ids: list[int], reads: Reads | None = None) -> list[dict]:
    """List items (with `stockHint`) for these ids, in this order."""
    from catalogue.api.serializers import ProductListDocumentSerializer

    version, *tokens = _tokens(
        [VERSION_KEY, *(_product_token_key(product_id) for product_id in product_ids)], reads
    )
    keys = {
        product_id: f"catalogue:list-item:{product_id}:{version}:{token}"
        for product_id, token in zip(product_ids, tokens, strict=True)
    }
    found = cache.get_many(list(keys.values()))
    documents = {product_id: found[key] for product_id, key in keys.items() if key in found}
    missing = [product_id for product_id in product_ids if product_id not in documents]
    if missing:
        products = list(selectors.products_by_id(product_ids=missing))
        # One serializer for them all: a ModelSerializer builds its fields per instance, which
        # was most of a page's CPU on a cache miss (20 products: 6 of 9 ms).
        documents_read = ProductListDocumentSerializer(products, many=True).data
        fresh = {
            product.id: document for product, document in zip(products, documents_read, strict=True)
        }
        cache.set_many(
            {keys[product_id]: document for product_id, document in fresh.items()},
            timeout=settings.CATALOGUE_CACHE_SECONDS,
        )
        documents.update(fresh)
    hints = stock_hints_cached(product_ids=product_ids, reads=reads)
    # A product deactivated since the id list was cached has replaced that list's token; the
    # membership check only guards against a concurrent delete.
    return [
        {**documents[product_id], "stockHint": hints[product_id]}
        for product_id in product_ids
        if product_id in documents
    ]


def product_detail_document(*, sku: str, reads: Reads | None = None) -> dict:
    """The product page document (with `stockHint`); `ProductNotFound` for unknown/inactive."""
    from catalogue.api.serializers import ProductDetailDocumentSerializer

    version, token = _tokens([VERSION_KEY, _sku_token_key(sku)], reads)
    key = f"catalogue:product:{version}:{token}:{_digest(sku)}"
    cached = cache.get(key)
    if cached is None:
        try:
            product = selectors.product_get_active(sku=sku)
        except ProductNotFound:
            cache.set(key, MISSING, timeout=settings.CATALOGUE_CACHE_SECONDS)
            raise
        cached = {"id": product.id, "document": ProductDetailDocumentSerializer(product).data}
        cache.set(key, cached, timeout=settings.CATALOGUE_CACHE_SECONDS)
    if cached == MISSING:
        raise ProductNotFound(f"No product with SKU {sku!r} is on sale.", sku=sku)
    hints = stock_hints_cached(product_ids=[cached["id"]], reads=reads)
    return {**cached["document"], "stockHint": hints[cached["id"]]}


def category_documents(*, reads: Reads | None = None) -> list[dict]:
    from catalogue.api.serializers import CategorySerializer

    (version,) = _tokens([VERSION_KEY], reads)
    key = f"catalogue:categories:{version}"
    documents = cache.get(key)
    if documents is None:
        documents = CategorySerializer(selectors.category_list(), many=True).data
        cache.set(key, documents, timeout=settings.CATALOGUE_CACHE_SECONDS)
    return documents


def catalogue_cache_warm(*, top: int) -> int:
    """Fill the cache for the `top` most popular products, the categories and first list pages.

    Idempotent and safe to run at any time (it only reads); returns how many products it warmed.
    """
    category_documents()
    skus = selectors.product_skus_most_popular(top=top)
    for sku in skus:
        product_detail_document(sku=sku)
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    for ordering in set(selectors.ORDERINGS) - {selectors.SEARCH_ORDERING}:
        product_ids = product_ids_cached(filters=selectors.ProductFilters(ordering=ordering))
        product_list_documents(product_ids=product_ids[:page_size])  # the API's first page
        product_list_documents(product_ids=product_ids[:top])
    for category in selectors.category_list():
        category_ids = product_ids_cached(filters=selectors.ProductFilters(category=category.slug))
        product_list_documents(product_ids=category_ids[:page_size])
    logger.info("Warmed the catalogue cache for %d products.", len(skus))
    return len(skus)
