"""Admin pieces shared by the apps' staff screens, and the platform's own outbox screen."""

from django.contrib import admin

from yourlocalshop.models import OutboxEvent


class ReadOnlyAdminMixin:
    """A screen (or inline) that only shows rows: its app changes them through services, so the
    admin never adds, edits or deletes them itself."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OutboxPendingFilter(admin.SimpleListFilter):
    title = "delivered"
    parameter_name = "pending"

    def lookups(self, request, model_admin):
        return [("yes", "Not delivered yet"), ("no", "Delivered")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(delivered_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox, for watching its backlog: events are written and delivered by the code only."""

    list_display = ["created_at", "event_type", "aggregate_id", "delivered_at", "attempts"]
    list_filter = [OutboxPendingFilter, "event_type"]
    search_fields = ["aggregate_id", "=id"]
    ordering = ["-created_at"]
    exclude = ["payload"]
