"""The packing station: the queue and one page per packing task, inside the admin (its sign-in,
permissions and look). Every button calls fulfilment's services, as the staff API does; this
module only turns forms into service calls and outcomes into messages."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from fulfilment import selectors, services
from fulfilment.enums import PackingTaskStatus
from yourlocalshop.errors import DomainError

MAX_PARCELS = 20
QUEUE_PAGE_SIZE = 50


class ScanForm(forms.Form):
    sku = forms.CharField(
        max_length=64,
        label="Scan or type a SKU, then Enter",
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false"}
        ),
    )


def split_weight(total_grams: int | None, parcels: int) -> list[int | None]:
    """The products' weight shared across the parcels, as the form's starting values."""
    if not total_grams:
        return [None] * parcels
    share, remainder = divmod(total_grams, parcels)
    return [max(share + (1 if index < remainder else 0), 1) for index in range(parcels)]


class PackedForm(forms.Form):
    """The parcels of a task (a weight each) and, when a unit was not scanned, the override."""

    override = forms.BooleanField(
        required=False,
        label="Pack without scanning every unit (recorded with your name)",
        widget=forms.CheckboxInput(attrs={"data-override-for": "packed-button"}),
    )

    def __init__(self, *args, weights: list[int | None], all_picked: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.all_picked = all_picked
        for number, weight in enumerate(weights, start=1):
            self.fields[f"weight_{number}"] = forms.IntegerField(
                label=f"Parcel {number} (g)", min_value=1, max_value=100_000, initial=weight
            )
        if all_picked:
            del self.fields["override"]

    def weight_fields(self):
        return [self[name] for name in self.fields if name.startswith("weight_")]

    def clean(self):
        cleaned = super().clean()
        if not self.all_picked and not cleaned.get("override"):
            raise forms.ValidationError(
                "Scan every unit first, or tick the override to pack anyway."
            )
        return cleaned

    def parcel_weights(self) -> list[int]:
        return [self.cleaned_data[name] for name in self.fields if name.startswith("weight_")]


def _parcel_count(request) -> int:
    try:
        count = int(request.POST.get("parcels") or request.GET.get("parcels") or 1)
    except ValueError:
        count = 1
    return min(max(count, 1), MAX_PARCELS)


def delivery_method(packing_task, carrier: str) -> str:
    # Orders record no delivery method yet: every order goes by the one courier, to this country.
    country = (packing_task.order.shipping_address or {}).get("country", "")
    return f"{carrier} to {country}" if country else carrier


class PackingStationMixin:
    """Views of the packing station, mixed into the packing task's ModelAdmin."""

    def _station_context(self, request, **context):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            # The station needs the whole width at 1024 px; the sidebar is one click away.
            "is_nav_sidebar_enabled": False,
            **context,
        }

    def _require(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied

    def station_queue_view(self, request):
        self._require(self.has_view_permission(request))
        queue = request.GET.get("queue", "pending")
        if queue not in selectors.STATION_QUEUES:
            raise Http404("No such queue.")
        if request.method == "POST":
            return self._station_queue_post(request, queue)
        page = Paginator(selectors.packing_station_queue(queue=queue), QUEUE_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        lines = selectors.station_lines(packing_tasks=page.object_list)
        carrier = selectors.courier_carrier()
        rows = [
            {
                "task": task,
                "lines": lines[task.pk],
                "delivery": delivery_method(task, carrier),
                "waiting_since": task.order.paid_at or task.created_at,
            }
            for task in page.object_list
        ]
        return TemplateResponse(
            request,
            "admin/fulfilment/station/queue.html",
            self._station_context(
                request,
                title="Packing station",
                queue=queue,
                counts=selectors.packing_station_counts(),
                rows=rows,
                page=page,
                can_change=self.has_change_permission(request),
                now=timezone.now(),
            ),
        )

    def _station_queue_post(self, request, queue: str):
        self._require(self.has_change_permission(request))
        selected = [int(value) for value in request.POST.getlist("task") if value.isdigit()]
        back = f"{reverse('admin:fulfilment_packingtask_station')}?queue={queue}"
        try:
            batch = services.fulfilment_batch_create(packing_task_ids=selected, user=request.user)
        except DomainError as error:
            messages.error(request, error.detail)
            return HttpResponseRedirect(back)
        messages.success(request, f"{batch} created: print its pick list and walk the shelves.")
        return HttpResponseRedirect(
            reverse("admin:fulfilment_fulfilmentbatch_pick_list", args=[batch.pk])
        )

    def station_task_view(self, request, packing_task_id: int):
        self._require(self.has_view_permission(request))
        packing_task = selectors.packing_task_get(packing_task_id=packing_task_id)
        parcel_count = _parcel_count(request)
        here = reverse("admin:fulfilment_packingtask_station_task", args=[packing_task.pk])
        lines = selectors.station_lines(packing_tasks=[packing_task])[packing_task.pk]
        all_picked = all(line.is_picked for line in lines)
        weights = split_weight(
            selectors.packing_task_products_weight_grams(packing_task_id=packing_task.pk),
            parcel_count,
        )
        packed_form = PackedForm(weights=weights, all_picked=all_picked)
        if request.method == "POST":
            self._require(self.has_change_permission(request))
            action = request.POST.get("action")
            if action == "packed":
                packed_form = PackedForm(request.POST, weights=weights, all_picked=all_picked)
                if packed_form.is_valid():
                    self._station_pack(request, packing_task, packed_form.parcel_weights())
                    return HttpResponseRedirect(here)
            else:
                self._station_act(request, packing_task, action)
                return HttpResponseRedirect(here)
        shipment = getattr(packing_task, "shipment", None)
        return TemplateResponse(
            request,
            "admin/fulfilment/station/task.html",
            self._station_context(
                request,
                title=f"Order {packing_task.order.number}",
                task=packing_task,
                lines=lines,
                all_picked=all_picked,
                delivery=delivery_method(packing_task, selectors.courier_carrier()),
                waiting_since=packing_task.order.paid_at or packing_task.created_at,
                scan_form=ScanForm(),
                packed_form=packed_form,
                parcel_count=parcel_count,
                shipment=shipment,
                can_change=self.has_change_permission(request),
                can_scan=packing_task.status
                in (PackingTaskStatus.PENDING, PackingTaskStatus.PICKING),
                can_pack=shipment is None,
            ),
        )

    def _station_act(self, request, packing_task, action: str | None) -> None:
        try:
            if action == "start":
                services.packing_task_start(packing_task_id=packing_task.pk, user=request.user)
                messages.success(request, "Picking started.")
            elif action == "scan":
                form = ScanForm(request.POST)
                if not form.is_valid():
                    messages.error(request, "Scan or type a SKU first.")
                    return
                line = services.packing_task_scan(
                    packing_task_id=packing_task.pk,
                    sku=form.cleaned_data["sku"],
                    user=request.user,
                )
                messages.success(
                    request, f"✓ {line.sku}: {line.picked_quantity} of {line.quantity} picked."
                )
            elif action == "retry":
                shipment = services.shipment_book(shipment_id=packing_task.shipment.pk)
                self._report_booking(request, shipment)
            else:
                messages.error(request, "Unknown action.")
        except DomainError as error:
            messages.error(request, error.detail)

    def _station_pack(self, request, packing_task, parcel_weights: list[int]) -> None:
        try:
            shipment = services.packing_task_mark_packed(
                packing_task_id=packing_task.pk,
                parcel_weights_grams=parcel_weights,
                user=request.user,
            )
        except DomainError as error:
            messages.error(request, error.detail)
            return
        self._report_booking(request, shipment)

    def _report_booking(self, request, shipment) -> None:
        if shipment.tracking_number:
            messages.success(
                request,
                format_html(
                    "Packed and booked with {}: tracking number <strong>{}</strong>.",
                    shipment.carrier,
                    shipment.tracking_number,
                ),
            )
        else:
            messages.warning(
                request,
                f"Packed, but the courier booking failed: {shipment.booking_error} "
                "It is retried automatically; you can also press Retry booking.",
            )
