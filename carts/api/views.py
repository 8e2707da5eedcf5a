"""Cart API: thin views over carts.selectors and carts.services."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from carts.api.cookies import cart_cookie_delete, cart_cookie_set
from carts.api.serializers import (
    CartItemAddInputSerializer,
    CartItemUpdateInputSerializer,
    CartMergeOutputSerializer,
    CartOutputSerializer,
)
from carts.errors import CartItemNotFound
from carts.models import Cart
from carts.selectors import (
    cart_for_request,
    cart_get_open,
    cart_id_from_cookie,
    cart_view,
    cart_view_after_write,
)
from carts.services import (
    cart_item_add_for_request,
    cart_item_remove,
    cart_item_update,
    cart_merge_on_login,
)
from yourlocalshop.api.schema import NOT_SIGNED_IN, problem_details

TAGS = ["cart"]
BAD_INPUT = problem_details("Invalid input (`validation_error`), per field.")
ITEM_NOT_FOUND = problem_details(
    "No such item in your cart (`cart_item_not_found`), also for other carts' items.",
)
UNSELLABLE = {
    404: problem_details("Unknown or inactive SKU (`product_not_found`)."),
    409: problem_details(
        "More than can be sold (`insufficient_stock`, with `availability`: "
        "sku, requested, available).",
    ),
    422: problem_details(
        "The line would exceed CART_MAX_QTY_PER_LINE (`quantity_above_limit`).",
    ),
}


def _cart_response(cart: Cart) -> Response:
    return Response(CartOutputSerializer(cart_view_after_write(cart=cart)).data)


def _cart_for_item_change(request) -> Cart:
    # Without a cart of their own, every item id the client names is someone else's.
    cart = cart_for_request(request)
    if cart is None:
        raise CartItemNotFound()
    return cart


class CartView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="cart_retrieve",
        summary="The current cart, priced at today's prices",
        description="The signed-in customer's open cart, else the guest cart of the `cart_id` "
        "cookie. An unknown, malformed or foreign cookie reads as an empty cart (`id` null). "
        "Lines whose price changed since they were added carry `priceChanged` and a warning.",
        responses={200: CartOutputSerializer},
    )
    def get(self, request):
        return Response(CartOutputSerializer(cart_view(cart=cart_for_request(request))).data)


class CartItemListView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="cart_item_add",
        summary="Add a product to the cart",
        description="Adds to the existing line when the SKU is already in the cart. A guest's "
        "first write creates the cart and sets the `cart_id` cookie (HttpOnly, SameSite=Lax). "
        "Stock is checked, never reserved.",
        request=CartItemAddInputSerializer,
        responses={201: CartOutputSerializer, 400: BAD_INPUT, **UNSELLABLE},
    )
    def post(self, request):
        serializer = CartItemAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item, is_guest = cart_item_add_for_request(request=request, **serializer.validated_data)
        # The add kept the cart's lines: nothing is read again.
        response = Response(
            CartOutputSerializer(cart_view(cart=item.cart)).data, status=status.HTTP_201_CREATED
        )
        if is_guest:
            cart_cookie_set(response, cart=item.cart)
        return response


class CartItemDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="cart_item_update",
        summary="Change a line's quantity (0 removes it)",
        request=CartItemUpdateInputSerializer,
        responses={200: CartOutputSerializer, 400: BAD_INPUT, **UNSELLABLE, 404: ITEM_NOT_FOUND},
    )
    def patch(self, request, item_id: int):
        serializer = CartItemUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart = _cart_for_item_change(request)
        cart_item_update(cart=cart, item_id=item_id, **serializer.validated_data)
        return _cart_response(cart)

    @extend_schema(
        tags=TAGS,
        operation_id="cart_item_remove",
        summary="Remove a line",
        request=None,
        responses={204: OpenApiResponse(description="Removed."), 404: ITEM_NOT_FOUND},
    )
    def delete(self, request, item_id: int):
        cart_item_remove(cart=_cart_for_item_change(request), item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CartMergeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        operation_id="cart_merge",
        summary="Merge the guest cart of the cookie into the customer's cart",
        description="Quantities of the same product are summed, then capped at "
        "CART_MAX_QTY_PER_LINE and at what can be sold now, never below what the customer's "
        "own line held; products no longer sold are skipped. `capped` lists every line not "
        "merged in full. The guest cart becomes `merged` and the cookie is cleared. Logging "
        "in merges automatically; calling this again is harmless (`merged` false).",
        request=None,
        responses={
            200: CartMergeOutputSerializer,
            401: NOT_SIGNED_IN,
            403: problem_details("CSRF check failed (session clients)."),
        },
    )
    def post(self, request):
        result = cart_merge_on_login(user=request.user, guest_cart_id=cart_id_from_cookie(request))
        cart = result.cart if result is not None else cart_for_request(request)
        body = {
            "cart": cart_view(cart=cart_get_open(cart_id=cart.pk) if cart else None),
            "merged": bool(result and result.merged),
            "capped": result.capped if result is not None else [],
        }
        response = Response(CartMergeOutputSerializer(body).data)
        cart_cookie_delete(response)
        return response
