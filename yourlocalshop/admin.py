"""Admin pieces shared by the apps' staff screens."""


class ReadOnlyAdminMixin:
    """A screen (or inline) that only shows rows: its app changes them through services, so the
    admin never adds, edits or deletes them itself."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
