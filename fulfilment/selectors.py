"""Every non-trivial read of fulfilment, with its joins decided once here."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from catalogue import selectors as catalogue_selectors
from fulfilment.enums import PackingTaskStatus
from fulfilment.errors import FulfilmentBatchNotFound, PackingTaskNotFound
from fulfilment.gateways import courier_gateway
from fulfilment.models import FulfilmentBatch, PackingTask, PackingTaskLine, Shipment, ShipmentEvent
from inventory import selectors as inventory_selectors


@dataclass(frozen=True)
class PickListLine:
    sku: str
    name: str
    quantity: int
    order_numbers: tuple[str, ...]
    location: str = ""


@dataclass(frozen=True)
class StationLine:
    """A line of a packing task as the packing station shows it."""

    sku: str
    name: str
    quantity: int
    picked_quantity: int
    location: str

    @property
    def is_picked(self) -> bool:
        return self.picked_quantity >= self.quantity


# The packing station's queue tabs: which task statuses each one shows.
STATION_QUEUES = {
    "pending": (PackingTaskStatus.PENDING,),
    "picking": (PackingTaskStatus.PICKING,),
    "packed": (PackingTaskStatus.PACKED,),
}


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


def courier_carrier() -> str:
    """The carrier that collects the shop's parcels (the configured courier's name)."""
    return courier_gateway().carrier


def packing_station_queue(*, queue: str) -> QuerySet[PackingTask]:
    """A tab of the packing station: oldest paid order first (then oldest task)."""
    return (
        PackingTask.objects.filter(status__in=STATION_QUEUES[queue])
        .select_related("order", "assignee", "shipment")
        .prefetch_related("lines")
        .order_by("order__paid_at", "created_at", "pk")
    )


def packing_station_counts() -> dict[str, int]:
    """How many tasks wait in each tab of the packing station."""
    counts = dict(
        PackingTask.objects.exclude(status=PackingTaskStatus.SHIPPED)
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    return {
        queue: sum(counts.get(status, 0) for status in statuses)
        for queue, statuses in STATION_QUEUES.items()
    }


def packing_backlog() -> dict:
    """Paid orders not packed yet: how many, and since when the oldest one waits."""
    waiting = PackingTask.objects.filter(
        status__in=(PackingTaskStatus.PENDING, PackingTaskStatus.PICKING)
    )
    return {
        "count": waiting.count(),
        "oldest_paid_at": waiting.order_by("order__paid_at")
        .values_list("order__paid_at", flat=True)
        .first(),
    }


def station_lines(*, packing_tasks) -> dict[int, list[StationLine]]:
    """The lines of each task with the shelf location of its product (one query for all)."""
    packing_tasks = list(packing_tasks)
    skus = {line.sku for task in packing_tasks for line in task.lines.all()}
    locations = inventory_selectors.stock_locations_by_sku(skus=skus)
    return {
        task.pk: [
            StationLine(
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                picked_quantity=line.picked_quantity,
                location=locations.get(line.sku, ""),
            )
            for line in task.lines.all()
        ]
        for task in packing_tasks
    }


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
    locations = inventory_selectors.stock_locations_by_sku(skus=totals)
    return [
        PickListLine(
            sku=sku,
            name=entry["name"],
            quantity=entry["quantity"],
            order_numbers=tuple(entry["orders"]),
            location=locations.get(sku, ""),
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
