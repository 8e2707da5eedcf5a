from django.contrib import admin

from orders.models import IdempotencyKey, Invoice, InvoiceLine, Order, OrderLine, Payment, Refund
from yourlocalshop.admin import ReadOnlyAdminMixin


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "quantity", "unit_price", "line_total", "tax"]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["provider_charge_id", "amount", "currency", "status", "refunded_amount"]


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["provider_refund_id", "amount", "reason", "created_at"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: every change of an order goes through orders.services."""

    list_display = ["number", "email", "status", "total", "currency", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["number", "email", "id"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline, RefundInline]
    list_select_related = ["user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["sku", "description", "quantity", "unit_price", "net_amount", "tax_amount", "total"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Issued documents never change, so the admin only shows them."""

    list_display = ["number", "kind", "order", "total", "currency", "issued_at"]
    list_filter = ["kind", "year"]
    search_fields = ["number", "order__number", "buyer_email"]
    inlines = [InvoiceLineInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "caller", "state", "recovery_point", "response_status", "created_at"]
    list_filter = ["state", "recovery_point"]
    search_fields = ["key", "caller"]
    exclude = ["response_body"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
