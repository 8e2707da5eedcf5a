"""The admin site as the shop's back office: the shop's name in the header, each role's work
linked from the home page, the owner's overview and the reports."""

from django.conf import settings
from django.contrib import admin
from django.urls import reverse


class BackOfficeSite(admin.AdminSite):
    index_title = "Back office"
    index_template = "backoffice/index.html"

    @property
    def site_header(self) -> str:
        # The release too, so staff reporting a problem can say which one they were on.
        return f"{settings.SHOP_NAME} · version {settings.VERSION}"

    @property
    def site_title(self) -> str:
        return f"{settings.SHOP_NAME} back office"

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "work_links": _work_links(request.user)}
        return super().index(request, extra_context=extra_context)


def _work_links(user) -> list[tuple[str, str, str]]:
    """The desks this member of staff works at: (title, url, what it is for)."""
    links = []
    if user.has_perm("fulfilment.change_packingtask"):
        links.append(
            (
                "Packing station",
                reverse("admin:fulfilment_packingtask_station"),
                "Paid orders to pick, pack and hand to the courier, oldest first.",
            )
        )
    if user.has_perm("returns.process_returnrequest"):
        links.append(
            (
                "Returns desk",
                reverse("admin:returns_returnrequest_changelist"),
                "Returns to approve, receive and refund.",
            )
        )
    return links
