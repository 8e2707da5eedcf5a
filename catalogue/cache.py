"""The cached read path of the catalogue.

Prices may be cached for long, yet no stale price may ever be served after an edit. Every key of
product data embeds a *catalogue version* token; saving or deleting any product or category
replaces the token (at once, and again after the commit, so a reader that re-filled the cache
between the two from the not-yet-committed state is orphaned too). Old entries are never read
again and simply expire. `QuerySet.update()` sends no signal: code that bulk-updates products
must call `catalogue_cache_invalidate()` itself.

Stock hints are cached apart, per product, for `CATALOGUE_STOCK_HINT_CACHE_SECONDS` only, and are
dropped when inventory sends `catalogue.signals.stock_changed`. The `in_stock` list filter depends
on stock, so its id lists are keyed by a *stock version* as well and live as short as a hint.
A hint is advice, not a promise (reservations decide): one read just before a change and stored
just after the drop is at most `CATALOGUE_STOCK_HINT_CACHE_SECONDS` old.

This needs a cache shared by every server process (Redis in production); the locmem default is
per process, which is right only for the single-process development server and the tests.

On top, each server process keeps finished response bodies in its own memory, keyed by both
version tokens and kept no longer than a stock hint. A cached request then costs one shared-cache
round trip (reading the two tokens) and no SQL, and an edit is still seen by every process on its
next request, since every request reads the current tokens from the shared cache (unless an
operator sets CATALOGUE_VERSION_RECHECK_SECONDS, see `_versions`).
"""

import hashlib
import logging
import random
import time
import uuid
from dataclasses import asdict
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
MISSING = "missing"  # cached answer for an unknown SKU / category, under the same version


def _digest(text: str) -> str:
    """A short, safe cache key part for free text (search terms may hold any character)."""
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _new_token() -> str:
    return uuid.uuid4().hex


Versions = tuple[str, str]  # (catalogue version, stock version)


# The tokens this process read last, and when (time.monotonic()); used only with
# CATALOGUE_VERSION_RECHECK_SECONDS above 0.
_versions_seen: tuple[float, Versions] | None = None


def _versions() -> Versions:
    """The current catalogue and stock version tokens, in one cache round trip.

    That round trip is a third of a cached request's cost (bench/README.md). An operator may
    trade freshness for it: with CATALOGUE_VERSION_RECHECK_SECONDS above 0, tokens read are
    reused for that long, so another process's edit shows here up to that late. Edits made by
    this process forget the tokens it holds, and show at once.
    """
    global _versions_seen
    recheck_seconds = settings.CATALOGUE_VERSION_RECHECK_SECONDS
    if recheck_seconds <= 0:
        return _versions_read()
    seen = _versions_seen
    if seen is not None and time.monotonic() - seen[0] < recheck_seconds:
        return seen[1]
    read_at = time.monotonic()  # before the read: tokens are never reused past the bound
    versions = _versions_read()
    _versions_seen = (read_at, versions)
    return versions


def _versions_forget() -> None:
    global _versions_seen
    _versions_seen = None


def _versions_read() -> Versions:
    found = cache.get_many([VERSION_KEY, STOCK_VERSION_KEY])
    versions = []
    for key in (VERSION_KEY, STOCK_VERSION_KEY):
        token = found.get(key)
        if token is None:
            # Never set, or evicted: start a fresh token (which orphans anything older).
            cache.add(key, _new_token(), timeout=None)
            token = cache.get(key)
        versions.append(token)
    return versions[0], versions[1]


# Per process, bounded (LRU culling); entries expire as fast as a stock hint.
_response_bodies = LocMemCache(
    "catalogue-response-bodies", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 5000}}
)


def response_body_lookup(*, key: str) -> tuple[Versions, bytes | None]:
    """The current version tokens, and this process's JSON body for `key` (a description of the
    request) under them, or None. At most one shared-cache round trip (see `_versions`)."""
    versions = _versions()
    return versions, _response_bodies.get(_response_body_key(key, versions))


def response_body_store(*, key: str, versions: Versions, data: Any) -> bytes:
    """Render `data` (built under `versions`, from a lookup) and keep it for the next lookup."""
    body = JSONRenderer().render(data)
    # Spread over the second half of a hint's lifetime: bodies stored together (at start-up, after
    # an edit) would otherwise all expire in the same instant and be rebuilt in one burst.
    timeout = settings.CATALOGUE_STOCK_HINT_CACHE_SECONDS * random.uniform(0.5, 1.0)
    _response_bodies.set(_response_body_key(key, versions), body, timeout=timeout)
    return body


def _response_body_key(key: str, versions: Versions) -> str:
    return f"{versions[0]}:{versions[1]}:{_digest(key)}"


def catalogue_cache_invalidate() -> None:
    """Orphan every cached product, list and category document, now and after the commit."""
    _version_replace(VERSION_KEY)
    transaction.on_commit(lambda: _version_replace(VERSION_KEY))


def _version_replace(key: str) -> None:
    cache.set(key, _new_token(), timeout=None)
    _versions_forget()


def stock_hints_invalidate(*, product_ids: list[int]) -> None:
    """Drop cached stock hints of these products and every stock-filtered list."""
    cache.delete_many([_stock_hint_key(product_id) for product_id in product_ids])
    _version_replace(STOCK_VERSION_KEY)


def _stock_hint_key(product_id: int) -> str:
    return f"catalogue:stock-hint:{product_id}"


def stock_hints_cached(*, product_ids: list[int]) -> dict[int, str]:
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
    return hints


def product_ids_cached(
    *, filters: selectors.ProductFilters, versions: Versions | None = None
) -> list[int]:
    """Ids of the active products matching the filters, in order (one cache read when warm).

    Raises `UnknownCategory` for a category slug that does not exist.
    """
    version, stock_version = versions or _versions()
    parts = [f"{name}={value}" for name, value in asdict(filters).items() if value is not None]
    key = f"catalogue:{version}:ids:{_digest('&'.join(parts))}"
    timeout = settings.CATALOGUE_CACHE_SECONDS
    if filters.in_stock is not None:
        key += f":stock={stock_version}"
        timeout = settings.CATALOGUE_STOCK_HINT_CACHE_SECONDS
    product_ids = cache.get(key)
    if product_ids is None:
        product_ids = _product_ids_uncached(filters=filters)
        cache.set(key, product_ids, timeout=timeout)
    if product_ids == MISSING:
        raise UnknownCategory(
            f"No category with the slug {filters.category!r}.",
            errors={"category": ["No category with this slug."]},
        )
    return product_ids


def _product_ids_uncached(*, filters: selectors.ProductFilters) -> list[int] | str:
    category_ids = None
    if filters.category is not None:
        category_ids = selectors.category_with_descendant_ids(slug=filters.category)
        if category_ids is None:
            return MISSING
    products = selectors.product_list(filters=filters, category_ids=category_ids)
    return list(products.values_list("id", flat=True))


def product_list_documents(
    *, product_ids: list[int], versions: Versions | None = None
) -> list[dict]:
    """List items (with `stockHint`) for these ids, in this order."""
    from catalogue.api.serializers import ProductListDocumentSerializer

    version, _ = versions or _versions()
    keys = {product_id: f"catalogue:{version}:list-item:{product_id}" for product_id in product_ids}
    found = cache.get_many(list(keys.values()))
    documents = {product_id: found[key] for product_id, key in keys.items() if key in found}
    missing = [product_id for product_id in product_ids if product_id not in documents]
    if missing:
        fresh = {
            product.id: ProductListDocumentSerializer(product).data
            for product in selectors.products_by_id(product_ids=missing)
        }
        cache.set_many(
            {keys[product_id]: document for product_id, document in fresh.items()},
            timeout=settings.CATALOGUE_CACHE_SECONDS,
        )
        documents.update(fresh)
    hints = stock_hints_cached(product_ids=product_ids)
    # A product deactivated since the id list was cached has bumped the version; the
    # membership check only guards against a concurrent delete.
    return [
        {**documents[product_id], "stockHint": hints[product_id]}
        for product_id in product_ids
        if product_id in documents
    ]


def product_detail_document(*, sku: str, versions: Versions | None = None) -> dict:
    """The product page document (with `stockHint`); `ProductNotFound` for unknown/inactive."""
    from catalogue.api.serializers import ProductDetailDocumentSerializer

    version, _ = versions or _versions()
    key = f"catalogue:{version}:product:{_digest(sku)}"
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
    hints = stock_hints_cached(product_ids=[cached["id"]])
    return {**cached["document"], "stockHint": hints[cached["id"]]}


def category_documents(*, versions: Versions | None = None) -> list[dict]:
    from catalogue.api.serializers import CategorySerializer

    version, _ = versions or _versions()
    key = f"catalogue:{version}:categories"
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
    for ordering in selectors.ORDERINGS:
        product_ids = product_ids_cached(filters=selectors.ProductFilters(ordering=ordering))
        product_list_documents(product_ids=product_ids[:top])
    for category in selectors.category_list():
        product_ids_cached(filters=selectors.ProductFilters(category=category.slug))
    logger.info("Warmed the catalogue cache for %d products.", len(skus))
    return len(skus)
