"""The packing staff's workplace: the packing station, tasks, batches, shipments, slips.

Everything is read-only here: statuses move only through the station and the actions, which call
the services.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from fulfilment import selectors, services
from fulfilment.documents import packing_slip_pdf
from fulfilment.errors import CourierError
from fulfilment.models import FulfilmentBatch, PackingTask, PackingTaskLine, Shipment, ShipmentEvent
from fulfilment.station import PackingStationMixin
from yourlocalshop.errors import DomainError


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] + list(self.readonly_fields)


class PackingTaskLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PackingTaskLine
    fields = ["sku", "name", "quantity"]
    extra = 0
    can_delete = False


class ShipmentInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Shipment
    fk_name = "packing_task"
    fields = [
        "status",
        "carrier",
        "tracking_number",
        "label_url",
        "booking_attempts",
        "booking_error",
        "booked_at",
    ]
    extra = 0
    can_delete = False


def _run_per_task(modeladmin, request, queryset: QuerySet, action, done_message: str) -> None:
    done, refused = 0, []
    for packing_task in queryset.order_by("pk"):
        try:
            action(packing_task)
            done += 1
        except DomainError as error:
            refused.append(f"#{packing_task.pk}: {error.detail}")
    if done:
        modeladmin.message_user(request, done_message.format(count=done), messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, " ".join(refused), messages.WARNING)


@admin.register(PackingTask)
class PackingTaskAdmin(PackingStationMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every packing task, searchable; the work itself happens in the packing station."""

    list_display = [
        "order_number",
        "status",
        "created_at",
        "assignee",
        "shipment_status",
        "tracking_number",
        "station_link",
    ]
    list_filter = ["status", "batch"]
    list_select_related = ["order", "assignee", "batch", "shipment"]
    search_fields = ["order__number", "lines__sku", "shipment__tracking_number"]
    ordering = ["created_at", "id"]
    inlines = [PackingTaskLineInline, ShipmentInline]
    actions = ["start_picking", "mark_packed_and_book_courier", "create_batch"]

    @admin.display(description="Order", ordering="order__number")
    def order_number(self, packing_task: PackingTask) -> str:
        return packing_task.order.number

    @admin.display(description="Shipment")
    def shipment_status(self, packing_task: PackingTask) -> str:
        shipment = getattr(packing_task, "shipment", None)
        return shipment.get_status_display() if shipment else "-"

    @admin.display(description="Tracking number")
    def tracking_number(self, packing_task: PackingTask) -> str:
        shipment = getattr(packing_task, "shipment", None)
        return (shipment and shipment.tracking_number) or "-"

    @admin.display(description="Packing station")
    def station_link(self, packing_task: PackingTask) -> str:
        url = reverse("admin:fulfilment_packingtask_station_task", args=[packing_task.pk])
        return format_html('<a href="{}">Open</a>', url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Nothing on a task is edited by hand: its page is the packing station's.
        if not object_id.isdigit():
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:fulfilment_packingtask_station_task", args=[int(object_id)])
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "station_url": reverse("admin:fulfilment_packingtask_station"),
        }
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Start picking", permissions=["change"])
    def start_picking(self, request, queryset):
        _run_per_task(
            self,
            request,
            queryset,
            lambda task: services.packing_task_start(packing_task_id=task.pk, user=request.user),
            "Started picking {count} task(s).",
        )

    @admin.action(
        description="Mark packed and book courier (one parcel weighing the products)",
        permissions=["change"],
    )
    def mark_packed_and_book_courier(self, request, queryset):
        booked, failed_bookings = [], []

        def pack(task):
            shipment = services.packing_task_mark_packed(packing_task_id=task.pk, user=request.user)
            if shipment.tracking_number:
                booked.append(f"#{task.pk}: {shipment.carrier} {shipment.tracking_number}")
            else:
                failed_bookings.append(f"#{task.pk}: {shipment.booking_error}")

        _run_per_task(self, request, queryset, pack, "Packed {count} task(s).")
        if booked:
            self.message_user(request, "Booked: " + ", ".join(booked), messages.SUCCESS)
        if failed_bookings:
            self.message_user(
                request,
                "Courier booking failed and will be retried: " + " ".join(failed_bookings),
                messages.WARNING,
            )

    @admin.action(description="Create batch", permissions=["change"])
    def create_batch(self, request, queryset):
        try:
            batch = services.fulfilment_batch_create(
                packing_task_ids=list(queryset.values_list("pk", flat=True)), user=request.user
            )
        except DomainError as error:
            self.message_user(request, error.detail, messages.WARNING)
            return
        url = reverse("admin:fulfilment_fulfilmentbatch_change", args=[batch.pk])
        self.message_user(
            request,
            format_html('Created <a href="{}">{}</a> with its pick list.', url, batch),
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path(
                "station/",
                self.admin_site.admin_view(self.station_queue_view),
                name="fulfilment_packingtask_station",
            ),
            path(
                "<int:packing_task_id>/station/",
                self.admin_site.admin_view(self.station_task_view),
                name="fulfilment_packingtask_station_task",
            ),
            path(
                "<int:packing_task_id>/slip/",
                self.admin_site.admin_view(self.packing_slip_view),
                name="fulfilment_packingtask_slip",
            ),
            path(
                "<int:packing_task_id>/slip.pdf",
                self.admin_site.admin_view(self.packing_slip_pdf_view),
                name="fulfilment_packingtask_slip_pdf",
            ),
            *super().get_urls(),
        ]

    def _slip_context(self, request, packing_task_id: int) -> dict:
        if not self.has_view_permission(request):
            raise PermissionDenied
        packing_task = selectors.packing_task_get(packing_task_id=packing_task_id)
        return {
            "packing_task": packing_task,
            "order": packing_task.order,
            "lines": selectors.station_lines(packing_tasks=[packing_task])[packing_task.pk],
            "shipment": getattr(packing_task, "shipment", None),
            "shop_name": settings.SHOP_NAME,
        }

    def packing_slip_view(self, request, packing_task_id: int):
        return TemplateResponse(
            request, "fulfilment/packing_slip.html", self._slip_context(request, packing_task_id)
        )

    def packing_slip_pdf_view(self, request, packing_task_id: int):
        context = self._slip_context(request, packing_task_id)
        response = HttpResponse(
            packing_slip_pdf(
                packing_task=context["packing_task"],
                lines=context["lines"],
                shipment=context["shipment"],
                shop=context["shop_name"],
            ),
            content_type="application/pdf",
        )
        filename = f"packing-slip-{context['order'].number}.pdf"
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


@admin.register(FulfilmentBatch)
class FulfilmentBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "created_by", "task_count", "pick_list_link"]
    readonly_fields = ["packing_task_list", "pick_list"]

    @admin.display(description="Pick list")
    def pick_list_link(self, batch: FulfilmentBatch) -> str:
        url = reverse("admin:fulfilment_fulfilmentbatch_pick_list", args=[batch.pk])
        return format_html('<a href="{}">Print</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:batch_id>/pick-list/",
                self.admin_site.admin_view(self.pick_list_view),
                name="fulfilment_fulfilmentbatch_pick_list",
            ),
            *super().get_urls(),
        ]

    def pick_list_view(self, request, batch_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = selectors.fulfilment_batch_get(batch_id=batch_id)
        return TemplateResponse(
            request,
            "fulfilment/pick_list.html",
            {
                "batch": batch,
                "pick_list": selectors.fulfilment_batch_pick_list(batch=batch),
                "shop_name": settings.SHOP_NAME,
            },
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(task_count=Count("packing_tasks"))
        )

    @admin.display(description="Packing tasks", ordering="task_count")
    def task_count(self, batch: FulfilmentBatch) -> int:
        return batch.task_count

    @admin.display(description="Packing tasks")
    def packing_task_list(self, batch: FulfilmentBatch) -> str:
        return format_html_join(
            ", ",
            '<a href="{}">#{} ({})</a>',
            (
                (
                    reverse("admin:fulfilment_packingtask_change", args=[task.pk]),
                    task.pk,
                    task.order.number,
                )
                for task in batch.packing_tasks.select_related("order").order_by("pk")
            ),
        )

    @admin.display(description="Pick list (by SKU)")
    def pick_list(self, batch: FulfilmentBatch) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (line.sku, line.name, line.location, line.quantity, ", ".join(line.order_numbers))
                for line in selectors.fulfilment_batch_pick_list(batch=batch)
            ),
        )
        return format_html(
            "<table><tr><th>SKU</th><th>Name</th><th>Location</th><th>Quantity</th>"
            "<th>Orders</th></tr>{}</table>",
            rows,
        )


class ShipmentEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ShipmentEvent
    fields = ["occurred_at", "status", "description", "courier_event_id"]
    extra = 0
    can_delete = False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "tracking_number",
        "order",
        "carrier",
        "status",
        "booking_attempts",
        "booking_error",
        "created_at",
    ]
    list_filter = ["status", "carrier"]
    list_select_related = ["order"]
    search_fields = ["tracking_number", "order__number"]
    ordering = ["-created_at"]
    inlines = [ShipmentEventInline]
    actions = ["retry_booking", "refresh_tracking"]

    @admin.action(description="Retry courier booking", permissions=["change"])
    def retry_booking(self, request, queryset):
        booked, refused = 0, []
        shipments = list(queryset)
        for shipment in shipments:
            try:
                if services.shipment_book(shipment_id=shipment.pk).tracking_number:
                    booked += 1
            except DomainError as error:
                refused.append(f"{shipment}: {error.detail}")
        self.message_user(request, f"{booked} of {len(shipments)} shipment(s) are booked.")
        if refused:
            self.message_user(request, " ".join(refused), messages.WARNING)

    @admin.action(description="Refresh tracking from the courier", permissions=["change"])
    def refresh_tracking(self, request, queryset):
        failures = []
        for shipment in queryset:
            try:
                services.shipment_refresh_tracking(shipment_id=shipment.pk)
            except CourierError as error:
                failures.append(f"{shipment}: {error}")
        if failures:
            self.message_user(request, " ".join(failures), messages.WARNING)
        else:
            self.message_user(request, "Tracking refreshed.", messages.SUCCESS)
