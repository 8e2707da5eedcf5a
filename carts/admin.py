from django.contrib import admin

from carts.models import Cart, CartItem
from yourlocalshop.admin import ReadOnlyAdminMixin


class CartItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CartItem
    fields = ["product", "quantity", "unit_price", "price_snapshot_at"]
    readonly_fields = fields
    extra = 0


@admin.register(Cart)
class CartAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Carts belong to customers: staff look, they do not edit."""

    list_display = ["id", "owner", "status", "created_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["owner__email", "=id"]
    list_select_related = ["owner"]
    readonly_fields = [
        "id",
        "owner",
        "status",
        "status_changed_at",
        "reservation_id",
        "created_at",
        "updated_at",
    ]
    inlines = [CartItemInline]
