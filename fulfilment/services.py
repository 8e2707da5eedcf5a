"""Every write of fulfilment: packing tasks from paid orders, batches, courier bookings, tracking.

Lock order, wherever more than one row is locked: packing task → shipment → order, and tasks in id
order, so two services never wait for each other in opposite directions.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from fulfilment import selectors
from fulfilment.enums import (
    COURIER_TRACKING_STATUSES,
    PACKING_TASK_TRANSITIONS,
    SHIPMENT_TRANSITIONS,
    PackingTaskStatus,
    ShipmentStatus,
)
from fulfilment.errors import (
    CourierError,
    InvalidParcels,
    OrderNotPackable,
    PackingTaskNotFound,
    PackingTasksNotBatchable,
    ScannedSkuNotInTask,
    ScannedTooMany,
    ShipmentBookingInProgress,
    ShipmentNotFound,
)
from fulfilment.gateways import BookingResult, courier_gateway
from fulfilment.models import (
    FulfilmentBatch,
    PackingTask,
    PackingTaskLine,
    Shipment,
    ShipmentEvent,
)
from orders import services as order_services
from orders.enums import OrderStatus
from orders.models import Order
from orders.selectors import order_get_locked, order_lines, orders_in_status
from yourlocalshop.emails import customer_email_send
from yourlocalshop.errors import IllegalTransition
from yourlocalshop.roles import group_ensure
from yourlocalshop.state_machine import transition

logger = logging.getLogger(__name__)

HEAL_BATCH_SIZE = 200


# --- Staff ----------------------------------------------------------------------------------------

PACKING_STAFF_GROUP = "Packing staff"
PACKING_STAFF_PERMISSIONS = (
    "view_packingtask",
    "change_packingtask",
    "view_packingtaskline",
    "view_fulfilmentbatch",
    "add_fulfilmentbatch",
    "change_fulfilmentbatch",
    "view_shipment",
    "change_shipment",
    "view_shipmentevent",
)


def packing_staff_group_ensure() -> Group:
    """The `Packing staff` group with its permissions; idempotent (run after every migrate)."""
    return group_ensure(
        PACKING_STAFF_GROUP,
        permissions=[("fulfilment", codename) for codename in PACKING_STAFF_PERMISSIONS],
    )


# --- Packing tasks --------------------------------------------------------------------------------


@transaction.atomic
def packing_task_create_for_order(*, order_id, source_event_id: str = "") -> PackingTask | None:
    """Create the packing task of a paid order with a copy of its lines.

    Atomic and idempotent: locks the order row, so the outbox consumer and the healing sweep
    serialise, and returns the existing task when there is one (the unique constraint on the
    order is the last line of defence). Returns None for an order that is no longer waiting to be
    packed (cancelled or refunded before the event arrived): there is nothing to pack.
    """
    order = order_get_locked(order_id=order_id)
    existing = PackingTask.objects.filter(order=order).first()
    if existing is not None:
        return existing
    if order.status != OrderStatus.PAID:
        logger.info(
            "No packing task for an order that is not paid",
            extra={"order_id": str(order.pk), "status": order.status},
        )
        return None
    packing_task = PackingTask.objects.create(
        order=order, source_event_id=source_event_id, status_changed_at=timezone.now()
    )
    PackingTaskLine.objects.bulk_create(
        PackingTaskLine(
            packing_task=packing_task, sku=line.sku, name=line.name, quantity=line.quantity
        )
        for line in order_lines(order=order)
    )
    return packing_task


def packing_tasks_heal_missing(*, limit: int = HEAL_BATCH_SIZE) -> int:
    """Create the packing task of every paid order that has none (a lost or failed event).

    Idempotent: each order goes through `packing_task_create_for_order`. Returns how many tasks
    were created.
    """
    order_ids = list(
        orders_in_status(status=OrderStatus.PAID)
        .filter(~Exists(PackingTask.objects.filter(order=OuterRef("pk"))))
        .order_by("paid_at", "created_at")
        .values_list("pk", flat=True)[:limit]
    )
    created = 0
    for order_id in order_ids:
        if packing_task_create_for_order(order_id=order_id) is not None:
            created += 1
    if created:
        logger.warning("Healed packing tasks of paid orders", extra={"count": created})
    return created


PACKABLE_ORDER_STATUSES = (OrderStatus.PAID, OrderStatus.PACKING)


def _ensure_order_packable(packing_task: PackingTask) -> None:
    if packing_task.order.status not in PACKABLE_ORDER_STATUSES:
        raise OrderNotPackable(
            f"Order {packing_task.order.number} is {packing_task.order.status}; do not pack it.",
            orderStatus=packing_task.order.status,
        )


def _lock_packing_task(packing_task_id: int) -> PackingTask:
    packing_task = (
        PackingTask.objects.select_for_update(of=("self",))
        .select_related("order")
        .filter(pk=packing_task_id)
        .first()
    )
    if packing_task is None:
        raise PackingTaskNotFound(f"Packing task {packing_task_id} does not exist.")
    return packing_task


def _start_picking_locked(packing_task: PackingTask, *, user) -> None:
    """Move a locked pending task to `picking`, its order to `packing`; records who and when."""
    _ensure_order_packable(packing_task)
    transition(packing_task, to=PackingTaskStatus.PICKING, allowed=PACKING_TASK_TRANSITIONS)
    packing_task.assignee = user
    packing_task.started_at = packing_task.status_changed_at
    packing_task.save(update_fields=["status", "status_changed_at", "assignee", "started_at"])
    if packing_task.order.status == OrderStatus.PAID:
        order_services.order_mark_packing(order=packing_task.order)


@transaction.atomic
def packing_task_start(*, packing_task_id: int, user) -> PackingTask:
    """Staff start picking: the task moves to `picking`, the order to `packing`.

    Atomic, locks the task. Idempotent for the same step: starting a task already being picked
    changes nothing. Raises IllegalTransition for a task that is further along and
    OrderNotPackable when the order was cancelled or refunded meanwhile.
    """
    packing_task = _lock_packing_task(packing_task_id)
    if packing_task.status != PackingTaskStatus.PICKING:
        _start_picking_locked(packing_task, user=user)
    return packing_task


@transaction.atomic
def packing_task_scan(*, packing_task_id: int, sku: str, user) -> PackingTaskLine:
    """One unit scanned (or typed) off the shelf: the line with that SKU counts one more picked.

    Atomic, locks the task, so two scanners on one task never lose a unit. Scanning a pending
    task starts picking it (recorded, as `packing_task_start`). Raises ScannedSkuNotInTask for a
    SKU the order does not contain, ScannedTooMany when every unit of it is already picked, and
    IllegalTransition once the task is packed.
    """
    packing_task = _lock_packing_task(packing_task_id)
    if packing_task.status == PackingTaskStatus.PENDING:
        _start_picking_locked(packing_task, user=user)
    elif packing_task.status != PackingTaskStatus.PICKING:
        raise IllegalTransition(
            f"Packing task {packing_task.pk} is {packing_task.status}; there is nothing to pick."
        )
    sku = sku.strip()
    lines = list(packing_task.lines.filter(sku=sku).order_by("pk"))
    if not lines:
        raise ScannedSkuNotInTask(
            f"{sku} is not in order {packing_task.order.number}. Put it back.", sku=sku
        )
    line = next((line for line in lines if line.picked_quantity < line.quantity), None)
    if line is None:
        ordered = sum(line.quantity for line in lines)
        raise ScannedTooMany(
            f"Order {packing_task.order.number} needs {ordered} x {sku}, all picked already. "
            "Put this one back.",
            sku=sku,
        )
    line.picked_quantity += 1
    line.save(update_fields=["picked_quantity"])
    return line


@transaction.atomic
def _packing_task_pack(
    *, packing_task_id: int, parcel_weights_grams: Sequence[int], user
) -> Shipment:
    packing_task = _lock_packing_task(packing_task_id)
    shipment = Shipment.objects.filter(packing_task=packing_task).first()
    if shipment is not None:
        return shipment
    _ensure_order_packable(packing_task)
    if packing_task.status == PackingTaskStatus.PENDING:
        # Packed straight from the queue: picking is started first, so its step is recorded.
        _start_picking_locked(packing_task, user=user)
    transition(packing_task, to=PackingTaskStatus.PACKED, allowed=PACKING_TASK_TRANSITIONS)
    packing_task.packed_at = packing_task.status_changed_at
    if packing_task.assignee_id is None:
        packing_task.assignee = user
    if packing_task.lines.filter(picked_quantity__lt=F("quantity")).exists():
        packing_task.pick_override_by = user
        packing_task.pick_override_at = packing_task.packed_at
    packing_task.save(
        update_fields=[
            "status",
            "status_changed_at",
            "packed_at",
            "assignee",
            "pick_override_by",
            "pick_override_at",
        ]
    )
    return Shipment.objects.create(
        packing_task=packing_task,
        order=packing_task.order,
        carrier=courier_gateway().carrier,
        parcel_weights_grams=list(parcel_weights_grams),
        status_changed_at=timezone.now(),
    )


def packing_task_mark_packed(
    *, packing_task_id: int, parcel_weights_grams: Sequence[int] | None = None, user
) -> Shipment:
    """Staff packed the parcels: the task moves to `packed` and the courier is booked with them.

    A pending task is started first in the same transaction (both steps recorded), so "packed"
    straight from the queue is never an error. Without `parcel_weights_grams` the task goes as one
    parcel weighing its products (InvalidParcels when a product's weight is unknown). Packing
    before every unit was scanned is recorded as an override by `user`.

    Idempotent: a task that already has a shipment returns it and books nothing again (a failed
    booking is only retried). Concurrency-safe: the task row is locked while its shipment is
    created; a call made while another one is booking the courier raises
    ShipmentBookingInProgress (see `shipment_book`). When the courier fails, the task stays
    `packed` and the shipment `booking_failed` with the error, and a retry is queued.
    """
    if parcel_weights_grams is None:
        parcel_weights_grams = _default_parcel_weights(packing_task_id=packing_task_id)
    if not parcel_weights_grams or any(weight <= 0 for weight in parcel_weights_grams):
        raise InvalidParcels()
    shipment = _packing_task_pack(
        packing_task_id=packing_task_id, parcel_weights_grams=parcel_weights_grams, user=user
    )
    shipment = shipment_book(shipment_id=shipment.pk)
    if shipment.status in BOOKABLE_STATUSES:
        from fulfilment.tasks import BOOKING_RETRY_BASE_SECONDS, shipment_book_task

        shipment_pk = str(shipment.pk)
        transaction.on_commit(
            lambda: shipment_book_task.apply_async(
                (shipment_pk,), countdown=BOOKING_RETRY_BASE_SECONDS
            ),
            robust=True,
        )
    return shipment


def _default_parcel_weights(*, packing_task_id: int) -> list[int]:
    weight = selectors.packing_task_products_weight_grams(packing_task_id=packing_task_id)
    if weight is None:
        raise InvalidParcels(
            "Some products of this order have no weight; give the weight of each parcel."
        )
    return [weight]


# --- Batches --------------------------------------------------------------------------------------


@transaction.atomic
def fulfilment_batch_create(*, packing_task_ids: Iterable[int], user) -> FulfilmentBatch:
    """Group pending packing tasks that are in no batch yet into a new batch.

    Atomic, all or nothing; locks the tasks in id order. Raises PackingTaskNotFound for unknown
    ids and PackingTasksNotBatchable for tasks not pending or already batched.
    """
    wanted = sorted(set(packing_task_ids))
    if not wanted:
        raise PackingTasksNotBatchable("Choose at least one packing task.", packingTaskIds=[])
    packing_tasks = list(
        PackingTask.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    )
    missing = sorted(set(wanted) - {packing_task.pk for packing_task in packing_tasks})
    if missing:
        raise PackingTaskNotFound("Some packing tasks do not exist.", packingTaskIds=missing)
    refused = [
        packing_task.pk
        for packing_task in packing_tasks
        if packing_task.status != PackingTaskStatus.PENDING or packing_task.batch_id is not None
    ]
    if refused:
        raise PackingTasksNotBatchable(
            "Only pending packing tasks that are not in a batch yet can be grouped.",
            packingTaskIds=refused,
        )
    batch = FulfilmentBatch.objects.create(created_by=user)
    PackingTask.objects.filter(pk__in=wanted).update(batch=batch)
    return batch


# --- Shipments ------------------------------------------------------------------------------------

BOOKABLE_STATUSES = (ShipmentStatus.BOOKING_PENDING, ShipmentStatus.BOOKING_FAILED)


def shipment_book(*, shipment_id) -> Shipment:
    """Book the courier for a shipment not booked yet; on success ship the task and the order.

    Never holds a transaction or row lock across the courier call, so a slow courier blocks no
    webhook, staff action or task that locks the shipment. Three phases:

    1. claim (transaction): return the shipment when nothing is left to book; raise
       ShipmentBookingInProgress while another attempt is in flight (started less than
       COURIER_BOOKING_LOCK_SECONDS ago); else record that this attempt started and commit.
    2. book (no transaction): the courier, with the shipment's idempotency key, so an attempt
       resumed after a crash or a stale one gets the same collection, never a second van.
    3. record (transaction): the booking, shipping the task and the order; or the failure
       (`booking_failed`, error text), committed, never raised: the caller decides about retrying.

    Idempotent: a booked shipment is returned as it is. The customer email is queued after commit.
    """
    shipment = _booking_claim(shipment_id=shipment_id)
    if shipment.status not in BOOKABLE_STATUSES:
        return shipment
    started_at = shipment.booking_started_at
    try:
        result = courier_gateway().book(
            shipment, idempotency_key=_booking_idempotency_key(shipment)
        )
    except CourierError as error:
        return _booking_record_failure(shipment_id=shipment.pk, started_at=started_at, error=error)
    return _booking_record(shipment_id=shipment.pk, result=result)


def _booking_idempotency_key(shipment: Shipment) -> str:
    # One key per shipment, so every attempt, resumed or retried, asks for the same collection.
    return f"shipment-{shipment.pk}"


def _lock_shipment(shipment_id) -> Shipment:
    """The shipment, locked after its packing task (the module's lock order)."""
    packing_task_id = (
        Shipment.objects.filter(pk=shipment_id).values_list("packing_task_id", flat=True).first()
    )
    if packing_task_id is None:
        raise ShipmentNotFound(f"Shipment {shipment_id} does not exist.")
    packing_task = _lock_packing_task(packing_task_id)
    shipment = Shipment.objects.select_for_update(of=("self",)).get(pk=shipment_id)
    shipment.packing_task = packing_task
    shipment.order = packing_task.order
    return shipment


@transaction.atomic
def _booking_claim(*, shipment_id) -> Shipment:
    shipment = _lock_shipment(shipment_id)
    if shipment.status not in BOOKABLE_STATUSES:
        return shipment
    if shipment.packing_task.status != PackingTaskStatus.PACKED:
        # Created under the task's lock together with the move to `packed`; anything else is a bug.
        raise IllegalTransition(f"Packing task {shipment.packing_task.pk} is not packed.")
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.COURIER_BOOKING_LOCK_SECONDS)
    if shipment.booking_started_at is not None and shipment.booking_started_at > stale_before:
        raise ShipmentBookingInProgress(shipmentId=str(shipment.pk))
    shipment.booking_started_at = now
    shipment.booking_attempts += 1
    shipment.last_booking_attempt_at = now
    shipment.save(
        update_fields=["booking_started_at", "booking_attempts", "last_booking_attempt_at"]
    )
    return shipment


@transaction.atomic
def _booking_record(*, shipment_id, result: BookingResult) -> Shipment:
    shipment = _lock_shipment(shipment_id)
    if shipment.status not in BOOKABLE_STATUSES:
        # An attempt resumed meanwhile recorded the same booking (same key).
        return shipment
    transition(shipment, to=ShipmentStatus.BOOKED, allowed=SHIPMENT_TRANSITIONS)
    shipment.tracking_number = result.tracking_number
    shipment.label_url = result.label_url
    shipment.booking_error = ""
    shipment.booking_started_at = None
    shipment.booked_at = shipment.status_changed_at
    shipment.save()
    ShipmentEvent.objects.create(
        shipment=shipment,
        status=ShipmentStatus.BOOKED,
        description=f"Collection booked with {shipment.carrier}.",
        occurred_at=shipment.booked_at,
    )
    packing_task = shipment.packing_task
    transition(packing_task, to=PackingTaskStatus.SHIPPED, allowed=PACKING_TASK_TRANSITIONS)
    packing_task.shipped_at = packing_task.status_changed_at
    packing_task.save(update_fields=["status", "status_changed_at", "shipped_at"])
    _order_follow_shipment(order=shipment.order, shipment_status=ShipmentStatus.BOOKED)

    from fulfilment.tasks import shipment_notify_customer_task

    shipment_pk = str(shipment.pk)
    transaction.on_commit(lambda: shipment_notify_customer_task.delay(shipment_pk), robust=True)
    return shipment


@transaction.atomic
def _booking_record_failure(*, shipment_id, started_at: datetime, error: CourierError) -> Shipment:
    shipment = _lock_shipment(shipment_id)
    if shipment.booking_started_at != started_at:
        # Booked meanwhile, or a resumed attempt owns the outcome now.
        return shipment
    if shipment.status != ShipmentStatus.BOOKING_FAILED:
        transition(shipment, to=ShipmentStatus.BOOKING_FAILED, allowed=SHIPMENT_TRANSITIONS)
    shipment.booking_error = str(error)[:2000]
    shipment.booking_started_at = None
    shipment.save(
        update_fields=["status", "status_changed_at", "booking_error", "booking_started_at"]
    )
    logger.warning(
        "Courier booking failed",
        extra={"shipment_id": str(shipment.pk), "attempts": shipment.booking_attempts},
    )
    return shipment


def _order_follow_shipment(*, order: Order, shipment_status: str) -> None:
    """Move the order along with its shipment (the orders services lock it and are idempotent).

    An order that left the normal path (refunded, cancelled) is not moved: the parcel still travels
    and staff see it in the shipment, but the money side stays as it is.
    """
    if order.status == OrderStatus.PAID:
        order_services.order_mark_packing(order=order)
    if order.status == OrderStatus.PACKING:
        order_services.order_mark_shipped(order=order)
    if shipment_status == ShipmentStatus.DELIVERED and order.status == OrderStatus.SHIPPED:
        order_services.order_mark_delivered(order=order)


def shipments_needing_booking_retry() -> list:
    """Ids of shipments whose booking failed or never ran (e.g. the process died mid-request)."""
    return list(
        Shipment.objects.filter(status__in=BOOKABLE_STATUSES)
        .order_by("created_at")
        .values_list("pk", flat=True)[:HEAL_BATCH_SIZE]
    )


@transaction.atomic
def shipment_apply_courier_event(
    *,
    courier_event_id: str,
    tracking_number: str,
    status: str,
    occurred_at: datetime,
    description: str = "",
) -> tuple[Shipment, bool]:
    """Record one tracking event from the courier and move the shipment and its order along.

    Atomic and idempotent on the courier's event id: a replayed event returns `(shipment, False)`
    and changes nothing. Locks the shipment, so concurrent deliveries of one event serialise. An
    event older than the shipment's status (couriers deliver out of order) is recorded without
    moving the shipment backwards.
    """
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order")
        .filter(tracking_number=tracking_number)
        .first()
    )
    if shipment is None:
        raise ShipmentNotFound(f"No shipment has the tracking number {tracking_number}.")
    if ShipmentEvent.objects.filter(courier_event_id=courier_event_id).exists():
        return shipment, False
    ShipmentEvent.objects.create(
        shipment=shipment,
        courier_event_id=courier_event_id,
        status=status,
        description=description[:255],
        occurred_at=occurred_at,
    )
    if status in SHIPMENT_TRANSITIONS.get(shipment.status, ()):
        transition(shipment, to=status, allowed=SHIPMENT_TRANSITIONS)
        if status == ShipmentStatus.DELIVERED:
            shipment.delivered_at = occurred_at
        shipment.save(update_fields=["status", "status_changed_at", "delivered_at"])
        _order_follow_shipment(order=shipment.order, shipment_status=status)
    return shipment, True


def shipment_refresh_tracking(*, shipment_id) -> Shipment:
    """Ask the courier where a booked parcel is and apply a newer status (a missed webhook).

    The courier is called outside any transaction. Idempotent: a polled status is recorded once
    per shipment and status, through `shipment_apply_courier_event`. Raises CourierError when the
    courier cannot answer.
    """
    shipment = Shipment.objects.filter(pk=shipment_id).first()
    if shipment is None:
        raise ShipmentNotFound(f"Shipment {shipment_id} does not exist.")
    if not shipment.tracking_number or shipment.status == ShipmentStatus.DELIVERED:
        return shipment
    result = courier_gateway().track(shipment.tracking_number)
    if result.status not in COURIER_TRACKING_STATUSES:
        return shipment
    shipment, _ = shipment_apply_courier_event(
        courier_event_id=f"tracking-poll:{shipment.tracking_number}:{result.status}",
        tracking_number=shipment.tracking_number,
        status=result.status,
        occurred_at=timezone.now(),
        description="Reported by the courier's tracking service.",
    )
    return shipment


@transaction.atomic
def shipment_notify_customer(*, shipment_id) -> bool:
    """Email the customer the tracking number of a booked shipment, once.

    Idempotent: locks the shipment and records when the email went out; returns whether it sent
    one now. If sending fails the transaction rolls back, so a retry sends it again.
    """
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("order")
        .filter(pk=shipment_id)
        .first()
    )
    if shipment is None:
        raise ShipmentNotFound(f"Shipment {shipment_id} does not exist.")
    if shipment.customer_notified_at is not None or not shipment.tracking_number:
        return False
    customer_email_send(
        template="fulfilment/email/shipped",
        context={
            "shipment": shipment,
            "order": shipment.order,
            "order_url": order_services.order_page_url(shipment.order),
        },
        to=shipment.order.email,
        message_key=f"shipment-{shipment.pk}-shipped",
    )
    shipment.customer_notified_at = timezone.now()
    shipment.save(update_fields=["customer_notified_at"])
    return True
