from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue import cache
from catalogue.api.serializers import (
    CategorySerializer,
    ProductDetailSerializer,
    ProductFilterSerializer,
    ProductListItemSerializer,
)

PROBLEM = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description="RFC 9457 problem details (application/problem+json)."
)


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
        400: OpenApiResponse(
            response=OpenApiTypes.OBJECT,
            description="A bad query value; `errors` names each parameter (problem details).",
        ),
        404: PROBLEM,
    },
)
class ProductListView(PublicReadMixin, ListAPIView):
    serializer_class = ProductListItemSerializer

    def list(self, request, *args, **kwargs):
        filter_serializer = ProductFilterSerializer(data=request.query_params.dict())
        filter_serializer.is_valid(raise_exception=True)
        product_ids = cache.product_ids_cached(filters=filter_serializer.to_filters())
        page_ids = self.paginate_queryset(product_ids)
        return self.get_paginated_response(cache.product_list_documents(product_ids=page_ids))


@extend_schema(
    tags=["catalogue"],
    summary="One product on sale",
    parameters=[OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: ProductDetailSerializer, 404: PROBLEM},
)
class ProductDetailView(PublicReadMixin, APIView):
    def get(self, request, sku: str):
        return Response(cache.product_detail_document(sku=sku))


@extend_schema(
    tags=["catalogue"],
    summary="All categories (parent given by slug)",
    responses={200: CategorySerializer(many=True)},
)
class CategoryListView(PublicReadMixin, APIView):
    def get(self, request):
        return Response(cache.category_documents())
