from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from catalogue.admin import ProductAdmin
from catalogue.models import Product
from inventory import selectors, services
from inventory.forms import DeliveryForm, StockAdjustmentForm, StockCountForm
from inventory.models import (
    InventoryReservation,
    InventoryReservationLine,
    StockDrift,
    StockItem,
    StockMovement,
)
from inventory.supplier_admin import SupplierImportAdminMixin
from yourlocalshop.admin import ReadOnlyAdminMixin
from yourlocalshop.errors import DomainError


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stock changes only through services, so these screens never write rows themselves."""


class StockLevelFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "level"

    def lookups(self, request, model_admin):
        return [
            ("out", "Out of stock"),
            ("reorder", "At or below reorder level"),
            ("low", "Low stock"),
            ("in", "In stock"),
        ]

    def queryset(self, request, queryset):
        threshold = settings.CATALOGUE_LOW_STOCK_THRESHOLD
        if self.value() == "out":
            return queryset.filter(available__lte=0)
        if self.value() == "reorder":
            return queryset.filter(available__gt=0, available__lte=F("reorder_level"))
        if self.value() == "low":
            return queryset.filter(available__gt=0, available__lte=threshold)
        if self.value() == "in":
            return queryset.filter(available__gt=threshold)
        return queryset


class StockItemInline(ReadOnlyAdminMixin, admin.StackedInline):
    """Read-only: stock changes go through inventory's services (its admin), with a ledger."""

    model = StockItem
    fields = ["on_hand", "reserved", "updated_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    verbose_name = "stock"
    verbose_name_plural = "stock (read-only; change it in Inventory)"


# The product page shows its stock. The catalogue cannot know stock (inventory sits above it on the
# dependency ladder), so inventory registers the product admin again with its inline added.
admin.site.unregister(Product)


@admin.register(Product)
class ProductWithStockAdmin(ProductAdmin):
    inlines = [*ProductAdmin.inlines, StockItemInline]


@admin.register(StockItem)
class StockItemAdmin(SupplierImportAdminMixin, ReadOnlyAdmin):
    list_display = [
        "sku",
        "product_name",
        "location",
        "on_hand",
        "reserved",
        "available",
        "reorder_level",
        "updated_at",
    ]
    list_filter = [StockLevelFilter]
    search_fields = ["product__sku", "product__name"]
    ordering = ["product__sku"]
    actions = ["adjust_stock"]

    def get_queryset(self, request):
        return selectors.stock_items_with_availability()

    # The levels change only through the ledger (actions and forms); a stock row's page edits
    # where the product is kept and when to reorder it, nothing else.
    fields = ["sku", "product_name", "on_hand", "reserved", "location", "reorder_level"]
    readonly_fields = ["sku", "product_name", "on_hand", "reserved"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_adjust_permission(request)

    def save_model(self, request, obj, form, change) -> None:
        services.stock_item_set_shelf(
            stock_item_id=obj.pk,
            location=form.cleaned_data["location"],
            reorder_level=form.cleaned_data["reorder_level"],
        )

    def has_adjust_permission(self, request) -> bool:
        return request.user.has_perm("inventory.change_stockitem")

    def get_urls(self):
        return [
            path(
                "receive/",
                self.admin_site.admin_view(self.receive_view),
                name="inventory_stockitem_receive",
            ),
            path(
                "count/",
                self.admin_site.admin_view(self.count_view),
                name="inventory_stockitem_count",
            ),
            *super().get_urls(),
        ]

    def receive_view(self, request):
        return self._stock_lines_view(
            request,
            DeliveryForm,
            title="Receive a delivery",
            explanation=(
                "Each product's stock rises by the units received; one receipt per product is "
                "written to the stock ledger with your name and the reason. All lines are booked "
                "together, or none."
            ),
            book=lambda form: services.stock_receive_many(
                quantities=form.cleaned_data["lines"],
                note=form.cleaned_data["reason"],
                user=request.user,
            ),
            done="Received {count} product(s).",
        )

    def count_view(self, request):
        return self._stock_lines_view(
            request,
            StockCountForm,
            title="Stock count",
            explanation=(
                "Each product's on-hand stock becomes the number counted; the difference is "
                "written to the stock ledger as an adjustment with your name and the reason. "
                "A count below what customers hold in their checkouts is refused."
            ),
            book=lambda form: services.stock_set_on_hand_many(
                levels=form.cleaned_data["lines"],
                note=form.cleaned_data["reason"],
                user=request.user,
            ),
            done="Counted: {count} product(s) changed.",
        )

    def _stock_lines_view(self, request, form_class, *, title, explanation, book, done):
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                count = book(form)
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
            else:
                self.message_user(request, done.format(count=count), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:inventory_stockitem_changelist"))
        return TemplateResponse(
            request,
            "admin/inventory/stockitem/stock_lines.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "explanation": explanation,
                "form": form,
            },
        )

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, stock_item: StockItem) -> str:
        return stock_item.product.sku

    @admin.display(description="Product", ordering="product__name")
    def product_name(self, stock_item: StockItem) -> str:
        return stock_item.product.name

    @admin.display(description="Available", ordering="available")
    def available(self, stock_item: StockItem) -> int:
        return stock_item.available

    @admin.action(description="Adjust stock of the selected products…", permissions=["adjust"])
    def adjust_stock(self, request, queryset):
        if "apply" in request.POST:
            form = StockAdjustmentForm(request.POST)
            if form.is_valid():
                self._apply_adjustment(request, queryset, form)
                return None
        else:
            selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
            form = StockAdjustmentForm(initial={"_selected_action": selected})
        return TemplateResponse(
            request,
            "admin/inventory/stockitem/adjust_stock.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": "Adjust stock",
                "form": form,
                "stock_items": queryset,
            },
        )

    def _apply_adjustment(self, request, queryset, form) -> None:
        for stock_item in queryset:
            try:
                services.stock_adjust(
                    product=stock_item.product,
                    delta=form.cleaned_data["delta"],
                    note=form.cleaned_data["reason"],
                    user=request.user,
                )
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
            else:
                delta = form.cleaned_data["delta"]
                self.message_user(
                    request,
                    f"{stock_item.product.sku}: on hand changed by {delta:+d}.",
                    messages.SUCCESS,
                )


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "sku",
        "reason",
        "delta",
        "quantity",
        "on_hand_after",
        "reference",
        "user",
        "note",
    ]
    list_filter = ["reason", "created_at"]
    search_fields = ["stock_item__product__sku", "reference", "note"]
    list_select_related = ["stock_item__product", "user"]
    date_hierarchy = "created_at"

    @admin.display(description="SKU", ordering="stock_item__product__sku")
    def sku(self, movement: StockMovement) -> str:
        return movement.stock_item.product.sku


class ReservationLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InventoryReservationLine
    fields = ["sku", "quantity", "is_held"]
    readonly_fields = fields
    extra = 0


class ReservationLiveFilter(admin.SimpleListFilter):
    """`active` rows past their expiry hold nothing any more; show which ones still count."""

    title = "counts against stock"
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        live = Q(status="active", expires_at__gt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(live)
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


@admin.register(InventoryReservation)
class InventoryReservationAdmin(ReadOnlyAdmin):
    list_display = ["id", "reference", "status", "expires_at", "created_at", "status_changed_at"]
    list_filter = ["status", ReservationLiveFilter]
    search_fields = ["reference", "=id", "lines__sku"]
    inlines = [ReservationLineInline]
    ordering = ["-created_at"]


@admin.register(StockDrift)
class StockDriftAdmin(ReadOnlyAdmin):
    list_display = ["detected_at", "sku", "on_hand", "ledger_on_hand", "reserved", "held_reserved"]
    list_select_related = ["stock_item__product"]
    search_fields = ["stock_item__product__sku"]

    @admin.display(description="SKU", ordering="stock_item__product__sku")
    def sku(self, drift: StockDrift) -> str:
        return drift.stock_item.product.sku
