from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """django.contrib.admin with the shop's own site (header, overview, reports)."""

    default_site = "backoffice.site.BackOfficeSite"
