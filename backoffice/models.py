from django.db import models


class BackOffice(models.Model):
    """No table: holds the back office's own permissions, which belong to no other app's model."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_overview", "Can see the owner's overview"),
            ("view_reports", "Can see and export the sales and stock reports"),
        ]

    def __str__(self) -> str:
        return "Back office"
