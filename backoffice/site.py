"""The admin site as the shop's back office: the shop's name in the header, the owner's overview
as the home page, and the reports."""

from django.conf import settings
from django.contrib import admin


class BackOfficeSite(admin.AdminSite):
    index_title = "Back office"

    @property
    def site_header(self) -> str:
        return settings.SHOP_NAME

    @property
    def site_title(self) -> str:
        return f"{settings.SHOP_NAME} back office"
