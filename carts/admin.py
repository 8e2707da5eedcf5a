from django.contrib import admin

from carts.models import Cart, CartItem, DeliveryZone
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


@admin.register(DeliveryZone)
class DeliveryZoneAdmin(admin.ModelAdmin):
    """The shop's delivery charges: where it delivers, the flat rate, free above what subtotal."""

    list_display = ["name", "country_list", "rate", "free_above", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    @admin.display(description="Countries")
    def country_list(self, zone: DeliveryZone) -> str:
        return ", ".join(str(country.code) for country in zone.countries)
