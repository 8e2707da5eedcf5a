"""Returns API: customers request and follow their returns; returns staff decide and receive."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from returns import selectors, services
from returns.api.serializers import (
    GuestOrderQuerySerializer,
    ReceiveInputSerializer,
    RejectInputSerializer,
    ReturnCreateInputSerializer,
    ReturnOutputSerializer,
    StaffReturnListQuerySerializer,
    StaffReturnOutputSerializer,
)
from yourlocalshop.api.pagination import PageNumberPagination
from yourlocalshop.api.schema import NOT_SIGNED_IN, problem_details

PROBLEM = problem_details("Problem details (application/problem+json).")
CUSTOMER_ERRORS = {
    400: problem_details("Invalid body or query (`validation_error`)."),
    401: problem_details("Not signed in and no `orderNumber` + `email` given."),
    404: problem_details(
        "`order_not_found` / `return_not_found`: no such order or return, or not the caller's."
    ),
}
STAFF_ERRORS = {
    401: NOT_SIGNED_IN,
    403: problem_details("Not returns staff (`permission_denied`)."),
    404: problem_details("No such return (`return_not_found`)."),
}
GUEST_PARAMETERS = [
    OpenApiParameter(
        "orderNumber", str, description="A guest's order number (with `email`) instead of a login."
    ),
    OpenApiParameter("email", str, description="The email address the order was placed with."),
]


class CustomerReturnsView(APIView):
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="returns_list",
        summary="The caller's returns",
        description="Signed in: the returns of your orders. Guests: pass `orderNumber` and "
        "`email` to list the returns of that order. Newest first, paginated.",
        parameters=GUEST_PARAMETERS,
        responses={200: ReturnOutputSerializer(many=True), **CUSTOMER_ERRORS},
        tags=["returns"],
    )
    def get(self, request):
        guest = GuestOrderQuerySerializer(data=request.query_params)
        guest.is_valid(raise_exception=True)
        if guest.validated_data:
            order = selectors.order_get_for_guest(
                number=guest.validated_data["order_number"], email=guest.validated_data["email"]
            )
            returns = selectors.returns_for_order(order=order)
        elif request.user.is_authenticated:
            returns = selectors.returns_for_user(user=request.user)
        else:
            raise NotAuthenticated()
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(returns, request, view=self)
        return paginator.get_paginated_response(ReturnOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="returns_create",
        summary="Request a return (RMA)",
        description=(
            "Identify the order by `orderId` (signed in, your own order) or by `orderNumber` + "
            "`email` (guests, or anyone holding the order confirmation). Only shipped or "
            "delivered orders within the return window (`RETURN_WINDOW_DAYS`) can be returned, "
            "and at most the units bought that are not already returned or on an open return "
            "(rejected and cancelled returns do not count)."
        ),
        request=ReturnCreateInputSerializer,
        responses={
            201: ReturnOutputSerializer,
            **CUSTOMER_ERRORS,
            401: problem_details("`orderId` given without being signed in."),
            422: problem_details(
                "`order_not_returnable` (not shipped or delivered), "
                "`return_window_closed` (with `returnableUntil`), `unknown_order_line` (with "
                "`skus`), `return_quantity_exceeded` (with `lines`: sku, requested, returnable)."
            ),
        },
        tags=["returns"],
    )
    def post(self, request):
        serializer = ReturnCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "order_id" in data:
            if not request.user.is_authenticated:
                raise NotAuthenticated("Sign in, or identify the order by orderNumber + email.")
            order = selectors.order_get_for_user(order_id=data["order_id"], user=request.user)
        else:
            order = selectors.order_get_for_guest(number=data["order_number"], email=data["email"])
        return_request = services.return_request_create(
            order=order,
            lines=[
                services.ReturnLineRequest(
                    sku=line["sku"], quantity=line["quantity"], reason=line["reason"]
                )
                for line in data["lines"]
            ],
            note=data["note"],
        )
        return_request = selectors.return_get_for_order(return_id=return_request.pk, order=order)
        return Response(
            ReturnOutputSerializer(return_request).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/returns/{return_request.pk}"},
        )


class CustomerReturnDetailView(APIView):
    @extend_schema(
        operation_id="returns_retrieve",
        summary="One of the caller's returns",
        description="Signed in: a return of your order. Guests: pass `orderNumber` and `email`.",
        parameters=GUEST_PARAMETERS,
        responses={200: ReturnOutputSerializer, **CUSTOMER_ERRORS},
        tags=["returns"],
    )
    def get(self, request, return_id):
        guest = GuestOrderQuerySerializer(data=request.query_params)
        guest.is_valid(raise_exception=True)
        if guest.validated_data:
            order = selectors.order_get_for_guest(
                number=guest.validated_data["order_number"], email=guest.validated_data["email"]
            )
            return_request = selectors.return_get_for_order(return_id=return_id, order=order)
        elif request.user.is_authenticated:
            return_request = selectors.return_get_for_user(return_id=return_id, user=request.user)
        else:
            raise NotAuthenticated()
        return Response(ReturnOutputSerializer(return_request).data)


class IsReturnsStaff(BasePermission):
    """Staff with the returns permissions (the `Returns staff` group, or superusers): reading
    needs `view_returnrequest`, any decision `process_returnrequest`."""

    message = "Only returns staff can do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff):
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return user.has_perm("returns.view_returnrequest")
        return user.has_perm("returns.process_returnrequest")


class StaffView(APIView):
    permission_classes = [IsReturnsStaff]


class StaffReturnsView(StaffView):
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="admin_returns_list",
        summary="Returns queue (staff)",
        description="Every return, oldest first, optionally of one `status`. Paginated.",
        parameters=[StaffReturnListQuerySerializer],
        responses={200: StaffReturnOutputSerializer(many=True), 400: PROBLEM, **STAFF_ERRORS},
        tags=["admin-returns"],
    )
    def get(self, request):
        # A plain dict, because from a QueryDict DRF reads an optional field's empty value as
        # absent, and `?status=` would list everything instead of being refused.
        query = StaffReturnListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        returns = selectors.returns_for_staff(status=query.validated_data.get("status"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(returns, request, view=self)
        return paginator.get_paginated_response(StaffReturnOutputSerializer(page, many=True).data)


class StaffReturnDetailView(StaffView):
    @extend_schema(
        operation_id="admin_returns_retrieve",
        summary="One return (staff)",
        responses={200: StaffReturnOutputSerializer, **STAFF_ERRORS},
        tags=["admin-returns"],
    )
    def get(self, request, return_id):
        return_request = selectors.return_get_for_staff(return_id=return_id)
        return Response(StaffReturnOutputSerializer(return_request).data)


def _staff_answer(return_request) -> Response:
    return_request = selectors.return_get_for_staff(return_id=return_request.pk)
    return Response(StaffReturnOutputSerializer(return_request).data)


ILLEGAL_TRANSITION = problem_details(
    "`illegal_transition`: the return is not in a status that allows this."
)


class StaffReturnApproveView(StaffView):
    @extend_schema(
        operation_id="admin_returns_approve",
        summary="Approve a requested return",
        request=None,
        responses={200: StaffReturnOutputSerializer, 409: ILLEGAL_TRANSITION, **STAFF_ERRORS},
        tags=["admin-returns"],
    )
    def post(self, request, return_id):
        return_request = selectors.return_get_for_staff(return_id=return_id)
        return _staff_answer(
            services.return_approve(return_request=return_request, user=request.user)
        )


class StaffReturnRejectView(StaffView):
    @extend_schema(
        operation_id="admin_returns_reject",
        summary="Reject a requested return, with a reason the customer reads",
        request=RejectInputSerializer,
        responses={
            200: StaffReturnOutputSerializer,
            400: PROBLEM,
            409: ILLEGAL_TRANSITION,
            **STAFF_ERRORS,
        },
        tags=["admin-returns"],
    )
    def post(self, request, return_id):
        serializer = RejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return_request = selectors.return_get_for_staff(return_id=return_id)
        return _staff_answer(
            services.return_reject(
                return_request=return_request,
                user=request.user,
                reason=serializer.validated_data["reason"],
            )
        )


class StaffReturnCancelView(StaffView):
    @extend_schema(
        operation_id="admin_returns_cancel",
        summary="Cancel an approved return whose goods will not come back",
        request=None,
        responses={200: StaffReturnOutputSerializer, 409: ILLEGAL_TRANSITION, **STAFF_ERRORS},
        tags=["admin-returns"],
    )
    def post(self, request, return_id):
        return_request = selectors.return_get_for_staff(return_id=return_id)
        return _staff_answer(
            services.return_cancel(return_request=return_request, user=request.user)
        )


REFUND_FAILED = problem_details(
    "`return_refund_failed`: the goods are received (and restocked) but the payment "
    "gateway did not refund; the problem carries `rmaId`, `refundFailure` and `refundAttempts`. "
    "Retry with `POST /api/admin/returns/{id}/retry-refund`."
)


class StaffReturnReceiveView(StaffView):
    @extend_schema(
        operation_id="admin_returns_receive",
        summary="Receive the goods of an approved return: restock, refund, credit note",
        description=(
            "Give every line's condition: `resellable` units go back to stock, `damaged` ones "
            "are written off. Then the returned lines' paid price (plus shipping when this "
            "completes the return of the whole order, per `RETURN_REFUND_SHIPPING_ON_FULL_"
            "RETURN`) is refunded and a credit note issued. Idempotent: repeating it restocks "
            "and refunds nothing twice (on a received return it only resumes the refund)."
        ),
        request=ReceiveInputSerializer,
        responses={
            200: StaffReturnOutputSerializer,
            400: PROBLEM,
            409: ILLEGAL_TRANSITION,
            422: problem_details("`return_lines_invalid`: the lines are not exactly the return's."),
            502: REFUND_FAILED,
            **STAFF_ERRORS,
        },
        tags=["admin-returns"],
    )
    def post(self, request, return_id):
        serializer = ReceiveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return_request = selectors.return_get_for_staff(return_id=return_id)
        conditions = {
            line["line_id"]: line["condition"] for line in serializer.validated_data["lines"]
        }
        return _staff_answer(
            services.return_receive(
                return_request=return_request, conditions=conditions, user=request.user
            )
        )


class StaffReturnRetryRefundView(StaffView):
    @extend_schema(
        operation_id="admin_returns_retry_refund",
        summary="Retry the refund of a received return",
        description="Idempotent: a refunded return is answered as it is; nothing is refunded "
        "or restocked twice.",
        request=None,
        responses={
            200: StaffReturnOutputSerializer,
            409: ILLEGAL_TRANSITION,
            502: REFUND_FAILED,
            **STAFF_ERRORS,
        },
        tags=["admin-returns"],
    )
    def post(self, request, return_id):
        return_request = selectors.return_get_for_staff(return_id=return_id)
        return _staff_answer(services.return_refund_retry(return_request=return_request))
