from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from catalogue import cache
from catalogue.api.serializers import (
    CategorySerializer,
    ProductDetailSerializer,
    ProductFilterSerializer,
    ProductListItemSerializer,
)
from yourlocalshop.api.schema import problem_details

PROBLEM = problem_details("RFC 9457 problem details (application/problem+json).")


class CachedPublicReadMixin:
    """A public, read-only catalogue endpoint whose JSON body is cached (see `catalogue.cache`).

    A GET whose body this process already holds, built from tokens and hints all still current, is
    answered before DRF's request handling, as Django's `cache_page` would answer it: content
    negotiation, authentication and throttling decide nothing for a public JSON document, yet cost
    about a sixth of a cached request's CPU. A miss goes through DRF, whose handler builds the data
    recording what it read; errors (bad query values, unknown SKU) are never cached.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def response_cache_key(self, request: HttpRequest, **kwargs) -> str:
        """What identifies the body: everything in the request that changes it."""
        raise NotImplementedError

    def response_data(self, request: Request, reads: cache.Reads, **kwargs) -> Any:
        """The data to render, recording what it read in `reads`."""
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if request.method in ("GET", "HEAD"):
            self.cache_key = self.response_cache_key(request, **kwargs)
            body = cache.response_body_lookup(key=self.cache_key)
            if body is not None:
                return self._json_response(body)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        reads = cache.Reads()
        data = self.response_data(request, reads, **kwargs)
        body = cache.response_body_store(key=self.cache_key, reads=reads, data=data)
        return self._json_response(body)

    def _json_response(self, body: bytes) -> HttpResponse:
        # With the headers DRF adds to every response it finalizes (`Allow`), so that a hit and a
        # miss carry the same headers.
        return HttpResponse(
            body, content_type="application/json", headers=self.default_response_headers
        )


@extend_schema(
    tags=["catalogue"],
    summary="List products on sale",
    parameters=[ProductFilterSerializer],
    responses={
        200: ProductListItemSerializer(many=True),
        400: problem_details("A bad query value; `errors` names each parameter (problem details)."),
        404: PROBLEM,
    },
)
class ProductListView(CachedPublicReadMixin, ListAPIView):
    """Active products, 20 a page by default, filtered and ordered by the query. `stockHint` is
    advice that may be a few seconds old; a reservation decides."""

    serializer_class = ProductListItemSerializer

    def response_cache_key(self, request, **kwargs):
        # The raw query (validated on a miss only), so a hit skips validation. Scheme and host
        # are in the key: `next`/`previous` are absolute links.
        return f"list:{request.build_absolute_uri('/')}:{sorted(request.GET.lists())}"

    def response_data(self, request, reads, **kwargs):
        filter_serializer = ProductFilterSerializer(data=request.query_params.dict())
        filter_serializer.is_valid(raise_exception=True)
        product_ids = cache.product_ids_cached(filters=filter_serializer.to_filters(), reads=reads)
        page_ids = self.paginate_queryset(product_ids)
        documents = cache.product_list_documents(product_ids=page_ids, reads=reads)
        return self.get_paginated_response(documents).data


@extend_schema(
    tags=["catalogue"],
    summary="One product on sale",
    parameters=[OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: ProductDetailSerializer, 404: PROBLEM},
)
class ProductDetailView(CachedPublicReadMixin, APIView):
    """A product page by SKU; an unknown or inactive SKU is a 404. `stockHint` is advice that may
    be a few seconds old; a reservation decides."""

    def response_cache_key(self, request, *, sku: str):
        return f"detail:{sku}"

    def response_data(self, request, reads, *, sku: str):
        return cache.product_detail_document(sku=sku, reads=reads)


@extend_schema(
    tags=["catalogue"],
    summary="All categories (parent given by slug)",
    responses={200: CategorySerializer(many=True)},
)
class CategoryListView(CachedPublicReadMixin, APIView):
    """Every category, each naming its parent by slug."""

    def response_cache_key(self, request):
        return "categories"

    def response_data(self, request, reads):
        return cache.category_documents(reads=reads)
