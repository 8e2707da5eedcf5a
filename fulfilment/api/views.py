"""Staff fulfilment API, the courier webhook and the customer's view of their shipments."""

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfilment import selectors, services
from fulfilment.api.serializers import (
    BatchCreateInputSerializer,
    CourierEventInputSerializer,
    CourierEventOutputSerializer,
    CustomerShipmentSerializer,
    FulfilmentBatchSerializer,
    PackedInputSerializer,
    PackedOutputSerializer,
    PackingTaskListQuerySerializer,
    PackingTaskSerializer,
    ScanInputSerializer,
)
from fulfilment.errors import InvalidWebhookSignature
from fulfilment.gateways import SIGNATURE_HEADER, webhook_signature_problem
from orders.selectors import order_get_for_viewer
from yourlocalshop.api.pagination import PageNumberPagination
from yourlocalshop.api.parsers import refuse_hostile_json
from yourlocalshop.api.schema import NOT_SIGNED_IN, problem_details

PROBLEM = problem_details("Problem details (application/problem+json).")
STAFF_ERRORS = {
    401: NOT_SIGNED_IN,
    403: problem_details("Signed in, but not staff (problem details)."),
}


class StaffAPIView(APIView):
    permission_classes = [IsAdminUser]


def _with_pick_list(batch):
    batch.pick_list = selectors.fulfilment_batch_pick_list(batch=batch)
    return batch


class PackingTaskListView(StaffAPIView):
    # Declared so the schema shows the paginated envelope and the page parameters.
    pagination_class = PageNumberPagination

    @extend_schema(
        operation_id="packing_tasks_list",
        tags=["fulfilment"],
        parameters=[PackingTaskListQuerySerializer],
        responses={
            200: PackingTaskSerializer(many=True),
            400: problem_details("Unknown status or bad page (problem details)."),
            **STAFF_ERRORS,
        },
    )
    def get(self, request):
        # A plain dict, as in every list filter: from a QueryDict DRF reads an optional field's
        # empty value as absent, and `?status=` would list everything instead of being refused.
        query = PackingTaskListQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.packing_tasks_list(status=query.validated_data.get("status")),
            request,
            view=self,
        )
        return paginator.get_paginated_response(PackingTaskSerializer(page, many=True).data)


class PackingTaskDetailView(StaffAPIView):
    @extend_schema(
        operation_id="packing_tasks_retrieve",
        tags=["fulfilment"],
        responses={200: PackingTaskSerializer, 404: PROBLEM, **STAFF_ERRORS},
    )
    def get(self, request, packing_task_id: int):
        packing_task = selectors.packing_task_get(packing_task_id=packing_task_id)
        return Response(PackingTaskSerializer(packing_task).data)


class PackingTaskStartView(StaffAPIView):
    @extend_schema(
        operation_id="packing_tasks_start",
        tags=["fulfilment"],
        request=None,
        responses={
            200: PackingTaskSerializer,
            404: PROBLEM,
            409: problem_details("The task is already packed or shipped."),
            **STAFF_ERRORS,
        },
    )
    def post(self, request, packing_task_id: int):
        services.packing_task_start(packing_task_id=packing_task_id, user=request.user)
        packing_task = selectors.packing_task_get(packing_task_id=packing_task_id)
        return Response(PackingTaskSerializer(packing_task).data)


class PackingTaskPackedView(StaffAPIView):
    @extend_schema(
        operation_id="packing_tasks_packed",
        tags=["fulfilment"],
        request=PackedInputSerializer,
        description=(
            "Marks the task packed and books the courier with the parcels given (without them: "
            "one parcel weighing the order's products). A pending task is started in the same "
            "step. Packing before every unit was scanned is recorded (`pickOverrideAt`). "
            "The answer's shipment carries the carrier and, once booked, the tracking number. "
            "Repeating the call returns the same "
            "shipment and books nothing again. When the courier fails the task stays `packed`, "
            "the shipment shows `booking_failed` with the error, and the booking is retried. "
            "A call made while the courier is still being booked for this task is answered 409 "
            "`shipment_booking_in_progress`: repeat it a moment later."
        ),
        responses={
            200: PackedOutputSerializer,
            400: PROBLEM,
            404: PROBLEM,
            409: problem_details(
                "The order is no longer to be packed, or its courier booking is in progress "
                "(problem details)."
            ),
            **STAFF_ERRORS,
        },
    )
    def post(self, request, packing_task_id: int):
        body = PackedInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        parcels = body.validated_data.get("parcels")
        shipment = services.packing_task_mark_packed(
            packing_task_id=packing_task_id,
            parcel_weights_grams=(
                None if parcels is None else [parcel["weightGrams"] for parcel in parcels]
            ),
            user=request.user,
        )
        packing_task = selectors.packing_task_get(packing_task_id=packing_task_id)
        return Response(
            PackedOutputSerializer(
                {
                    "packingTaskId": packing_task.pk,
                    "status": packing_task.status,
                    "shipment": shipment,
                }
            ).data
        )


class PackingTaskScanView(StaffAPIView):
    @extend_schema(
        operation_id="packing_tasks_scan",
        tags=["fulfilment"],
        request=ScanInputSerializer,
        description=(
            "One unit of a SKU scanned off the shelf (a barcode scanner or typed): its line counts "
            "one more picked. Starts picking a pending task. A SKU the order does not contain is "
            "409 `scanned_sku_not_in_task`, one unit more than ordered 409 `scanned_too_many`."
        ),
        responses={
            200: PackingTaskSerializer,
            400: PROBLEM,
            404: PROBLEM,
            409: problem_details(
                "Wrong SKU, too many units, or the task is already packed (problem details)."
            ),
            **STAFF_ERRORS,
        },
    )
    def post(self, request, packing_task_id: int):
        body = ScanInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.packing_task_scan(
            packing_task_id=packing_task_id, sku=body.validated_data["sku"], user=request.user
        )
        packing_task = selectors.packing_task_get(packing_task_id=packing_task_id)
        return Response(PackingTaskSerializer(packing_task).data)


class FulfilmentBatchCreateView(StaffAPIView):
    @extend_schema(
        operation_id="fulfilment_batches_create",
        tags=["fulfilment"],
        request=BatchCreateInputSerializer,
        responses={
            201: FulfilmentBatchSerializer,
            400: PROBLEM,
            404: problem_details("Unknown packing task ids (problem details)."),
            409: problem_details(
                "Some tasks are not pending or already batched (problem details)."
            ),
            **STAFF_ERRORS,
        },
    )
    def post(self, request):
        body = BatchCreateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        batch = services.fulfilment_batch_create(
            packing_task_ids=body.validated_data["packingTaskIds"], user=request.user
        )
        batch = _with_pick_list(selectors.fulfilment_batch_get(batch_id=batch.pk))
        return Response(FulfilmentBatchSerializer(batch).data, status=201)


class FulfilmentBatchDetailView(StaffAPIView):
    @extend_schema(
        operation_id="fulfilment_batches_retrieve",
        tags=["fulfilment"],
        responses={200: FulfilmentBatchSerializer, 404: PROBLEM, **STAFF_ERRORS},
    )
    def get(self, request, batch_id: int):
        batch = _with_pick_list(selectors.fulfilment_batch_get(batch_id=batch_id))
        return Response(FulfilmentBatchSerializer(batch).data)


class CourierWebhookView(APIView):
    """Signed tracking events from the courier; the signature is the authentication."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="courier_webhook",
        tags=["webhooks"],
        request=CourierEventInputSerializer,
        parameters=[
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                required=True,
                description='`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`; '
                "refused outside COURIER_WEBHOOK_TOLERANCE_SECONDS (5 minutes by default).",
            )
        ],
        responses={
            200: CourierEventOutputSerializer,
            400: PROBLEM,
            403: problem_details("Missing, wrong or stale signature (problem details)."),
            404: problem_details("Unknown tracking number (problem details)."),
        },
    )
    def post(self, request):
        raw_body = request.body
        problem = webhook_signature_problem(raw_body, request.headers.get(SIGNATURE_HEADER))
        if problem is not None:
            raise InvalidWebhookSignature(problem)
        try:
            payload = json.loads(raw_body)
        except (ValueError, RecursionError) as exc:
            raise ParseError("The body is not valid JSON.") from exc
        refuse_hostile_json(payload)
        body = CourierEventInputSerializer(data=payload)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        shipment, applied = services.shipment_apply_courier_event(
            courier_event_id=data["eventId"],
            tracking_number=data["trackingNumber"],
            status=data["status"],
            occurred_at=data["occurredAt"],
            description=data["description"],
        )
        return Response(
            CourierEventOutputSerializer(
                {"shipmentId": shipment.pk, "status": shipment.status, "duplicate": not applied}
            ).data
        )


class OrderShipmentsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="order_shipments_list",
        tags=["orders"],
        description="The shipments of one of your orders, with tracking numbers and events.",
        responses={
            200: CustomerShipmentSerializer(many=True),
            401: NOT_SIGNED_IN,
            404: problem_details("No such order of yours (problem details)."),
        },
    )
    def get(self, request, order_id):
        order = order_get_for_viewer(order_id=order_id, user=request.user, with_details=False)
        shipments = selectors.shipments_for_order(order_id=order.pk)
        return Response(CustomerShipmentSerializer(shipments, many=True).data)
