"""Every non-trivial read of fulfilment, with its joins decided once here."""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from catalogue import selectors as catalogue_selectors
from fulfilment.errors import FulfilmentBatchNotFound, PackingTaskNotFound
from fulfilment.models import FulfilmentBatch, PackingTask, PackingTaskLine, Shipment, ShipmentEvent
from orders.errors import OrderNotFound
from orders.models import Order


@dataclass(frozen=True)
class PickListLine:
    sku: str
    name: str
    quantity: int
    order_numbers: tuple[str, ...]


def packing_tasks_list(*, status: str | None = None) -> QuerySet[PackingTask]:
    """The packing queue, oldest first, optionally of one status."""
    queryset = PackingTask.objects.select_related("order", "assignee", "shipment").prefetch_related(
        "lines"
    )
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("created_at", "pk")


def packing_task_get(*, packing_task_id: int) -> PackingTask:
    packing_task = packing_tasks_list().filter(pk=packing_task_id).first()
    if packing_task is None:
        raise PackingTaskNotFound(f"Packing task {packing_task_id} does not exist.")
    return packing_task


def packing_task_products_weight_grams(*, packing_task_id: int) -> int | None:
    """What the task's products weigh together, or None when a product's weight is unknown."""
    lines = list(PackingTaskLine.objects.filter(packing_task_id=packing_task_id))
    weights = catalogue_selectors.product_weights_by_sku(skus={line.sku for line in lines})
    if not lines or any(weights.get(line.sku) is None for line in lines):
        return None
    return sum(weights[line.sku] * line.quantity for line in lines)


def fulfilment_batch_get(*, batch_id: int) -> FulfilmentBatch:
    batch = (
        FulfilmentBatch.objects.select_related("created_by")
        .prefetch_related(
            Prefetch(
                "packing_tasks",
                queryset=PackingTask.objects.select_related("order").order_by("created_at", "pk"),
            )
        )
        .filter(pk=batch_id)
        .first()
    )
    if batch is None:
        raise FulfilmentBatchNotFound(f"Fulfilment batch {batch_id} does not exist.")
    return batch


def fulfilment_batch_pick_list(*, batch: FulfilmentBatch) -> list[PickListLine]:
    """What to take off the shelves for a batch: one line per SKU, sorted by SKU."""
    totals: dict[str, dict] = {}
    lines = (
        PackingTaskLine.objects.filter(packing_task__batch=batch)
        .select_related("packing_task__order")
        .order_by("sku", "packing_task__created_at", "pk")
    )
    for line in lines:
        entry = totals.setdefault(line.sku, {"name": line.name, "quantity": 0, "orders": []})
        entry["quantity"] += line.quantity
        number = line.packing_task.order.number
        if number not in entry["orders"]:
            entry["orders"].append(number)
    return [
        PickListLine(
            sku=sku,
            name=entry["name"],
            quantity=entry["quantity"],
            order_numbers=tuple(entry["orders"]),
        )
        for sku, entry in sorted(totals.items())
    ]


def shipments_for_order(*, order_id) -> QuerySet[Shipment]:
    return (
        Shipment.objects.filter(order_id=order_id)
        .prefetch_related(
            Prefetch("events", queryset=ShipmentEvent.objects.order_by("occurred_at"))
        )
        .order_by("created_at")
    )


def order_get_visible_to(*, order_id, user) -> Order:
    """The order when `user` owns it or is staff; anyone else learns nothing (404)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or not (user.is_staff or (order.user_id and order.user_id == user.pk)):
        raise OrderNotFound(f"Order {order_id} does not exist.")
    return order
