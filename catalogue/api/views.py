from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
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


class PublicReadMixin:
    # Public, cached, read-only catalogue: no session or token lookup on the hot path.
    authentication_classes: list = []
    permission_classes = [AllowAny]


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
class ProductListView(PublicReadMixin, ListAPIView):
    serializer_class = ProductListItemSerializer

    def list(self, request, *args, **kwargs):
        # Keyed on the raw query (validated on a miss only; errors are never cached), so a hit
        # skips validation. Scheme and host are in the key: `next`/`previous` are absolute links.
        key = f"list:{request.build_absolute_uri('/')}:{sorted(request.query_params.lists())}"
        body = cache.response_body_cached(
            key=key, build=lambda versions: self._page_data(request, versions)
        )
        return HttpResponse(body, content_type="application/json")

    def _page_data(self, request, versions: cache.Versions) -> dict:
        filter_serializer = ProductFilterSerializer(data=request.query_params.dict())
        filter_serializer.is_valid(raise_exception=True)
        product_ids = cache.product_ids_cached(
            filters=filter_serializer.to_filters(), versions=versions
        )
        page_ids = self.paginate_queryset(product_ids)
        documents = cache.product_list_documents(product_ids=page_ids, versions=versions)
        return self.get_paginated_response(documents).data


@extend_schema(
    tags=["catalogue"],
    summary="One product on sale",
    parameters=[OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: ProductDetailSerializer, 404: PROBLEM},
)
class ProductDetailView(PublicReadMixin, APIView):
    def get(self, request, sku: str):
        body = cache.response_body_cached(
            key=f"detail:{sku}",
            build=lambda versions: cache.product_detail_document(sku=sku, versions=versions),
        )
        return HttpResponse(body, content_type="application/json")


@extend_schema(
    tags=["catalogue"],
    summary="All categories (parent given by slug)",
    responses={200: CategorySerializer(many=True)},
)
class CategoryListView(PublicReadMixin, APIView):
    def get(self, request):
        body = cache.response_body_cached(
            key="categories", build=lambda versions: cache.category_documents(versions=versions)
        )
        return HttpResponse(body, content_type="application/json")
