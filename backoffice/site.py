"""The admin site as the shop's back office: the shop's name in the header, each role's work
linked from the home page, the owner's overview on it, and the reports."""

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse

from backoffice import reports, selectors
from inventory.supplier_admin import may_import_supplier_file


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
        context = {"work_links": _work_links(request.user)}
        if request.user.has_perm("backoffice.view_overview"):
            context["overview"] = selectors.owner_overview()
        return super().index(request, extra_context={**(extra_context or {}), **context})

    def get_urls(self):
        return [
            path("reports/sales/", self.admin_view(self.sales_report_view), name="sales_report"),
            path(
                "reports/stock-valuation.csv",
                self.admin_view(self.stock_valuation_view),
                name="stock_valuation_csv",
            ),
            path(
                "reports/stock-movements.csv",
                self.admin_view(self.stock_movements_view),
                name="stock_movements_csv",
            ),
            *super().get_urls(),
        ]

    def _require_reports(self, request) -> None:
        if not request.user.has_perm("backoffice.view_reports"):
            raise PermissionDenied

    def sales_report_view(self, request):
        self._require_reports(request)
        form = reports.bound_form(reports.SalesReportForm, request)
        if form.is_valid() and request.GET.get("format") == "csv":
            return reports.sales_csv(form)
        return TemplateResponse(
            request,
            "backoffice/sales_report.html",
            {
                **self.each_context(request),
                "title": "Sales report",
                "form": form,
                "rows": reports.sales_rows(form) if form.is_valid() else [],
                "movements_form": reports.bound_form(reports.DateRangeForm, request),
                "currency": settings.SHOP_CURRENCY,
            },
        )

    def stock_valuation_view(self, request):
        self._require_reports(request)
        return reports.stock_valuation_csv()

    def stock_movements_view(self, request):
        self._require_reports(request)
        form = reports.bound_form(reports.DateRangeForm, request)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "backoffice/sales_report.html",
                {
                    **self.each_context(request),
                    "title": "Sales report",
                    "form": reports.bound_form(reports.SalesReportForm, request),
                    "rows": [],
                    "movements_form": form,
                    "currency": settings.SHOP_CURRENCY,
                },
                status=400,
            )
        return reports.stock_movements_csv(form)


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
    if user.has_perm("inventory.change_stockitem"):
        links.append(
            (
                "Receive a delivery",
                reverse("admin:inventory_stockitem_receive"),
                "Book the units of a supplier's delivery into stock.",
            )
        )
        if may_import_supplier_file(user):
            links.append(
                (
                    "Supplier file",
                    reverse("admin:inventory_stockitem_supplier_import"),
                    "New prices and received stock from a supplier's CSV or XLSX file: "
                    "preview, then apply.",
                )
            )
        links.append(
            (
                "Stock count",
                reverse("admin:inventory_stockitem_count"),
                "Set what is on the shelf after counting it, with a reason.",
            )
        )
    if user.has_perm("backoffice.view_reports"):
        links.append(
            (
                "Reports",
                reverse("admin:sales_report"),
                "Sales per day, week or month; stock valuation; the stock ledger (CSV).",
            )
        )
    return links
