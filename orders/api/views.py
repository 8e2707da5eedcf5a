"""Checkout and order API: thin views over orders.services, orders.selectors and the
idempotency module. Responses of POST /api/orders are stored and replayed byte-for-byte."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from carts.errors import CartEmpty
from carts.selectors import cart_for_request, cart_id_from_cookie, cart_view
from carts.services import cart_reserve
from orders.api.serializers import (
    CheckoutSerializer,
    OrderCreateInputSerializer,
    OrderLookupInputSerializer,
    OrderSerializer,
)
from orders.documents import invoice_html, invoice_pdf
from orders.idempotency import StoredResponse, idempotency_key_validate
from orders.selectors import (
    invoice_get_for_viewer,
    order_get_for_viewer,
    order_lookup,
    orders_for_user,
)
from orders.services import CheckoutOutcome, checkout_answer, checkout_attempt
from orders.throttles import CheckoutRateThrottle
from yourlocalshop.api.problems import PROBLEM_CONTENT_TYPE, problem
from yourlocalshop.api.schema import NOT_SIGNED_IN, problem_details
from yourlocalshop.errors import DomainError

TAGS = ["orders"]


IDEMPOTENCY_KEY_HEADER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    description="1 to 255 printable ASCII characters, unique per checkout attempt. Retrying with "
    "the same key and body returns the stored response (header `Idempotent-Replayed: true`) "
    "and never charges twice.",
)
NOT_FOUND = problem_details("No such order, or not yours (`order_not_found`).")


def _render(status_code: int, data, *, content_type: str, headers=None) -> StoredResponse:
    return StoredResponse(
        status=status_code,
        body=JSONRenderer().render(data),
        headers={"Content-Type": content_type, **(headers or {})},
    )


def _created(order) -> StoredResponse:
    return _render(
        status.HTTP_201_CREATED,
        OrderSerializer(order).data,
        content_type="application/json",
        headers={"Location": f"/api/orders/{order.pk}"},
    )


def _outcome_rendered(outcome: CheckoutOutcome) -> StoredResponse:
    if outcome.error is not None:
        return _problem_rendered(outcome.error)
    return _created(outcome.order)


def _problem_rendered(error: DomainError) -> StoredResponse:
    return _render(
        error.status,
        problem(
            status_code=error.status,
            code=error.code,
            detail=error.detail,
            title=error.title,
            **error.extra,
        ),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=error.headers,
    )


def _http_response(stored: StoredResponse, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(stored.body, status=stored.status)
    for name, value in stored.headers.items():
        response[name] = value
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


class CheckoutView(APIView):
    throttle_classes = [CheckoutRateThrottle]

    @extend_schema(
        tags=TAGS,
        operation_id="checkout_start",
        summary="Reserve the cart's stock for payment",
        description="Validates the cart at today's prices and reserves its stock for "
        "RESERVATION_TTL_SECONDS. Calling it again refreshes the same reservation; changing the "
        "cart releases it. Optional: POST /api/orders reserves by itself.",
        request=None,
        responses={
            201: CheckoutSerializer,
            409: problem_details("Not enough stock (`insufficient_stock`, with `availability`)."),
            422: problem_details("The cart is empty (`cart_empty`)."),
            429: problem_details(
                "Too many live reservations (`too_many_active_reservations`) or requests "
                "(`rate_limited`)."
            ),
        },
    )
    def post(self, request):
        cart = cart_for_request(request)
        if cart is None:
            raise CartEmpty()
        reservation = cart_reserve(cart=cart)
        priced = cart_view(cart=cart)
        body = {
            "checkoutId": cart.pk,
            "reservationId": reservation.id,
            "expiresAt": reservation.expires_at,
            "lines": [
                {
                    "sku": line.item.product.sku,
                    "name": line.item.product.name,
                    "quantity": line.item.quantity,
                    "unitPrice": line.current_price,
                    "lineTotal": line.line_total,
                }
                for line in priced.lines
            ],
            "subtotal": priced.subtotal,
            "shipping": priced.shipping,
            "tax": priced.tax,
            "total": priced.total,
            "currency": priced.currency,
        }
        return Response(CheckoutSerializer(body).data, status=status.HTTP_201_CREATED)


class OrderListCreateView(ListAPIView):
    serializer_class = OrderSerializer

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "GET" else []

    def get_throttles(self):
        return [CheckoutRateThrottle()] if self.request.method == "POST" else []

    def get_queryset(self):
        return orders_for_user(user=self.request.user)

    @extend_schema(
        tags=TAGS,
        operation_id="orders_list",
        summary="The signed-in customer's orders, newest first",
        responses={200: OrderSerializer(many=True), 401: NOT_SIGNED_IN},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        operation_id="orders_create",
        # Guests check out too: signing in is optional (the empty requirement says so).
        auth=[{"tokenAuth": []}, {"cookieAuth": []}, {}],
        summary="Check out: pay for the cart and create the order, exactly once",
        description="Uses the cart's live reservation or reserves by itself. Prices come from "
        "the catalogue, never from the body; unknown fields are refused. Outcomes of an "
        "execution that began (201, 402, 409, 422) are stored per (caller, Idempotency-Key) and "
        "replayed; 400, 409 `idempotency_request_in_progress` and 5xx are not, and a retry with "
        "the same key resumes where the first attempt stopped.",
        parameters=[IDEMPOTENCY_KEY_HEADER],
        request=OrderCreateInputSerializer,
        responses={
            201: OpenApiResponse(
                OrderSerializer,
                description="The paid order; `Location` names it. A replay carries "
                "`Idempotent-Replayed: true`.",
            ),
            400: problem_details(
                "Missing or invalid Idempotency-Key (`idempotency_key_required`) or body "
                "(`validation_error`, also for unknown fields such as price or status)."
            ),
            402: problem_details(
                "The payment was declined (`payment_declined`); cart kept as it was."
            ),
            409: problem_details(
                "`insufficient_stock` (with `availability`), `price_changed` (expectedTotal "
                "differs), `idempotency_request_in_progress` or `checkout_in_progress` (both "
                "with `Retry-After`), or `checkout_failed_refunded` (charge refunded)."
            ),
            422: problem_details(
                "`cart_empty`, `idempotency_key_reused` (same key, different body), "
                "`product_unavailable` or `delivery_not_available` (no delivery zone has the "
                "address's country; `countries` lists those delivered to)."
            ),
            429: problem_details(
                "Too many live reservations (`too_many_active_reservations`) or checkout "
                "requests (`rate_limited`)."
            ),
            503: problem_details(
                "The payment provider is unavailable (`payment_unavailable`, with `Retry-After`)."
            ),
        },
    )
    def post(self, request):
        key = idempotency_key_validate(request.headers.get("Idempotency-Key"))
        serializer = OrderCreateInputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        attempt = checkout_attempt(
            user=request.user,
            cookie_cart_id=cart_id_from_cookie(request),
            key=key,
            path=request.path,
            body=request.data,
            data=serializer.validated_data,
        )
        if isinstance(attempt, StoredResponse):
            return _http_response(attempt, replayed=True)
        answer = checkout_answer(outcome=attempt, response=_outcome_rendered(attempt))
        return _http_response(answer)


class OrderDetailView(APIView):
    @extend_schema(
        tags=TAGS,
        operation_id="orders_retrieve",
        summary="One order (its owner, the guest cart it came from, or staff)",
        responses={200: OrderSerializer, 404: NOT_FOUND},
    )
    def get(self, request, order_id):
        order = order_get_for_viewer(
            order_id=order_id, user=request.user, guest_cart_id=cart_id_from_cookie(request)
        )
        return Response(OrderSerializer(order).data)


class OrderLookupView(APIView):
    throttle_classes = [CheckoutRateThrottle]

    @extend_schema(
        tags=TAGS,
        operation_id="orders_lookup",
        summary="A guest's order by order number and email",
        request=OrderLookupInputSerializer,
        responses={
            200: OrderSerializer,
            400: problem_details("Invalid input (`validation_error`)."),
            404: NOT_FOUND,
            429: problem_details("Too many lookups (`rate_limited`)."),
        },
    )
    def post(self, request):
        serializer = OrderLookupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_lookup(**serializer.validated_data)
        return Response(OrderSerializer(order).data)


class InvoiceDocumentView(APIView):
    """Returns the document itself; only errors go through the JSON renderer (problem+json)."""

    renderer_classes = [JSONRenderer]
    as_pdf = False

    @extend_schema(
        tags=TAGS,
        summary="An invoice or credit note (the order's owner, staff, or a link from an email)",
        parameters=[
            OpenApiParameter(
                "key",
                str,
                description="The key of this document from a customer email's link; opens it "
                "without signing in.",
            )
        ],
        responses={
            (200, "text/html"): OpenApiTypes.STR,
            (200, "application/pdf"): OpenApiTypes.BINARY,
            404: problem_details("No such invoice, or not yours (`invoice_not_found`)."),
        },
    )
    def get(self, request, invoice_id: int):
        invoice = invoice_get_for_viewer(
            invoice_id=invoice_id,
            user=request.user,
            guest_cart_id=cart_id_from_cookie(request),
            link_key=request.query_params.get("key"),
        )
        if not self.as_pdf:
            return HttpResponse(invoice_html(invoice), content_type="text/html; charset=utf-8")
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response
