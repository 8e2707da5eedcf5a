from django.contrib import admin
from django.db import models
from django.utils.html import format_html

from catalogue.models import Category, Product
from catalogue.services import product_image_renditions_make


class PriceBandFilter(admin.SimpleListFilter):
    title = "price"
    parameter_name = "price_band"
    BANDS = {
        "under-5": (None, 5),
        "5-20": (5, 20),
        "20-50": (20, 50),
        "50-plus": (50, None),
    }

    def lookups(self, request, model_admin):
        return [
            ("under-5", "under 5"),
            ("5-20", "5 to 20"),
            ("20-50", "20 to 50"),
            ("50-plus", "50 and more"),
        ]

    def queryset(self, request, queryset):
        if self.value() not in self.BANDS:
            return queryset
        low, high = self.BANDS[self.value()]
        if low is not None:
            queryset = queryset.filter(price__gte=low)
        if high is not None:
            queryset = queryset.filter(price__lt=high)
        return queryset


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent"]
    list_select_related = ["parent"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "category", "price", "currency", "is_active", "popularity"]
    list_select_related = ["category"]
    list_filter = ["is_active", ("category", admin.RelatedOnlyFieldListFilter), PriceBandFilter]
    search_fields = ["sku", "name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    readonly_fields = ["image_preview", "created_at", "updated_at"]
    ordering = ["-popularity", "id"]
    list_per_page = 50
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "image" in form.changed_data:
            product_image_renditions_make(product=obj)

    @admin.display(description="Shop front picture")
    def image_preview(self, product: Product) -> str:
        if not product.image_thumbnail:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="240" height="180" style="object-fit: cover">',
            product.image_thumbnail.url,
        )
